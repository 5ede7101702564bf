/**
 * The n-fold operation of RFC 3961 §5.1: stretch or shrink a byte string to `outBytes` bytes.
 *
 * The input is repeated to the least common multiple of the input and output lengths, each copy
 * rotated right by 13 bits more than the previous one; the resulting `outBytes`-sized chunks are
 * then added with ones'-complement (end-around carry) arithmetic.
 */
export function nfold(input: Uint8Array, outBytes: number): Buffer {
  if (input.length === 0 || !Number.isInteger(outBytes) || outBytes <= 0) {
    throw new RangeError('n-fold needs a non-empty input and a positive output length');
  }
  const inBytes = input.length;
  const totalBytes = leastCommonMultiple(inBytes, outBytes);
  const copies = totalBytes / inBytes;

  // Concatenate the rotated copies: copy k is the input rotated right by 13*k bits.
  const expanded = new Uint8Array(totalBytes);
  const inBits = inBytes * 8;
  for (let copy = 0; copy < copies; copy++) {
    const rotation = (13 * copy) % inBits;
    for (let bit = 0; bit < inBits; bit++) {
      // Bit numbering from the most significant bit of byte 0; rotating right by r moves source
      // bit (bit - r) to position bit.
      const source = (bit - rotation + inBits) % inBits;
      const value = (input[source >>> 3]! >>> (7 - (source & 7))) & 1;
      if (value) expanded[copy * inBytes + (bit >>> 3)]! |= 0x80 >>> (bit & 7);
    }
  }

  // Ones'-complement addition of the chunks, big-endian.
  const sum = Buffer.alloc(outBytes);
  let carry = 0;
  for (let chunk = 0; chunk < totalBytes; chunk += outBytes) {
    carry = 0;
    for (let i = outBytes - 1; i >= 0; i--) {
      const total = sum[i]! + expanded[chunk + i]! + carry;
      sum[i] = total & 0xff;
      carry = total >>> 8;
    }
    // End-around carry: a carry out of the top byte is added back at the bottom.
    while (carry) {
      for (let i = outBytes - 1; i >= 0 && carry; i--) {
        const total = sum[i]! + carry;
        sum[i] = total & 0xff;
        carry = total >>> 8;
      }
    }
  }
  expanded.fill(0);
  return sum;
}

function leastCommonMultiple(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return (a / x) * b;
}
