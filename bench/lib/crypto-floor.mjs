// The cryptographic floor of one Kerberos AP-REQ acceptance with its AP-REP: exactly the node:crypto
// operations the protocol needs, on inputs of the benchmark tokens' real sizes, with nothing else
// (no DER, no SPNEGO, no replay-cache store, no objects). Two variants:
//   full  a ticket seen for the first time (an acceptor without a ticket cache, on every token):
//         ticket decrypt + integrity check with the service key's derived keys (cached: the
//         service key is long-lived), then the four session-key derivations (usages 11 and 12:
//         Ke and Ki each), the authenticator decrypt + check, the replay-cache key (SHA-256 of
//         the authenticator ciphertext, as MIT's rcache since krb5 1.18) and the AP-REP's
//         EncAPRepPart encrypt + checksum (RFC 3961 §5.3, RFC 3962, RFC 8009 §5).
//   seen  exactly what httpauth's engine computes per token of the benchmark, whose tokens all
//         carry one service ticket (as a browser reuses its ticket for hours): the ticket-cache
//         key (SHA-256 of the ticket's DER, in place of its decryption), the authenticator decrypt
//         + check with the session key's cached derived keys, the replay-cache key (SHA-256 of
//         the authenticator ciphertext) and the AP-REP encrypt + checksum.
// The PAC server checksum of a new ticket is left out (one HMAC over the PAC): the floor is a
// lower bound, so leaving work out only makes a ratio to it stricter.
// The floor's own AES-CTS (RFC 3962 §5) is checked against the real ticket: its integrity check
// must pass with the keytab's key, or the floor is not doing the protocol's work and throws.
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hash,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

/** RFC 3962 §5: CBC with the last two blocks swapped and the final one truncated (CBC-CS3). */
function ctsEncrypt(key, plain) {
  const n = Math.ceil(plain.length / BLOCK);
  const lastLength = plain.length - (n - 1) * BLOCK;
  const padded = Buffer.alloc(n * BLOCK);
  plain.copy(padded);
  const cipher = createCipheriv('aes-256-cbc', key, ZERO_IV).setAutoPadding(false);
  const cbc = cipher.update(padded);
  cipher.final();
  const out = Buffer.allocUnsafe(plain.length);
  cbc.copy(out, 0, 0, (n - 2) * BLOCK);
  cbc.copy(out, (n - 2) * BLOCK, (n - 1) * BLOCK, n * BLOCK);
  cbc.copy(out, (n - 1) * BLOCK, (n - 2) * BLOCK, (n - 2) * BLOCK + lastLength);
  return out;
}

function ctsDecrypt(key, data) {
  const n = Math.ceil(data.length / BLOCK);
  const lastLength = data.length - (n - 1) * BLOCK;
  const pen = (n - 2) * BLOCK;
  const chain = n === 2 ? ZERO_IV : data.subarray(pen - BLOCK, pen);
  const decipher = createDecipheriv('aes-256-cbc', key, ZERO_IV).setAutoPadding(false);
  const first = decipher.update(data.subarray(0, pen + BLOCK));
  const out = Buffer.allocUnsafe(data.length);
  first.copy(out, 0, 0, pen);
  const dn = first.subarray(pen);
  for (let i = 0; i < BLOCK; i++) dn[i] ^= chain[i];
  const cPen = Buffer.allocUnsafe(BLOCK);
  data.copy(cPen, 0, pen + BLOCK);
  dn.copy(cPen, lastLength, lastLength);
  for (let i = 0; i < lastLength; i++) out[pen + BLOCK + i] = dn[i] ^ cPen[i];
  const second = decipher.update(cPen);
  decipher.final();
  const cn = data.subarray(pen, pen + BLOCK);
  for (let i = 0; i < BLOCK; i++) out[pen + i] = second[i] ^ cn[i] ^ chain[i];
  return out;
}

function usageConstant(usage, suffix) {
  const c = Buffer.alloc(5);
  c.writeUInt32BE(usage, 0);
  c[4] = suffix;
  return c;
}

/** n-fold (RFC 3961 §5.1) of a 5-byte constant to 16 bytes, as the project computes it once. */
function nfold16(input) {
  const inBits = input.length * 8;
  const lcm = (a, b) => {
    let x = a;
    let y = b;
    while (y) [x, y] = [y, x % y];
    return (a * b) / x;
  };
  const total = lcm(input.length, BLOCK);
  const out = new Array(BLOCK).fill(0);
  let carry = 0;
  for (let i = total - 1; i >= 0; i--) {
    const msbit =
      ((input.length << 3) -
        1 +
        ((inBits + 13) * Math.floor(i / input.length) +
          ((input.length - (i % input.length)) << 3))) %
      inBits;
    const byte =
      (((input[(input.length - 1 - (msbit >>> 3)) % input.length] << 8) |
        input[(input.length - (msbit >>> 3)) % input.length]) >>>
        ((msbit & 7) + 1)) &
      0xff;
    carry += byte + out[i % BLOCK];
    out[i % BLOCK] = carry & 0xff;
    carry >>>= 8;
  }
  for (let i = BLOCK - 1; carry && i >= 0; i--) {
    carry += out[i];
    out[i] = carry & 0xff;
    carry >>>= 8;
  }
  return Buffer.from(out);
}

function profileFor(enctype) {
  if (enctype === 18) {
    // aes256-cts-hmac-sha1-96: MAC-then-encrypt, HMAC-SHA1 over the plaintext, 96 bits kept.
    // The folded constants depend only on (usage, suffix): computed once, as the project does.
    const folded = new Map();
    const derive = (base, usage, suffix) => {
      const id = usage * 256 + suffix;
      let input = folded.get(id);
      if (input === undefined) {
        input = Buffer.concat([nfold16(usageConstant(usage, suffix)), Buffer.alloc(BLOCK)]);
        folded.set(id, input);
      }
      const cipher = createCipheriv('aes-256-cbc', base, ZERO_IV).setAutoPadding(false);
      return cipher.update(input);
    };
    return {
      mac: 12,
      keys: (base, usage) => ({ ke: derive(base, usage, 0xaa), ki: derive(base, usage, 0x55) }),
      decrypt(keys, data) {
        const body = data.subarray(0, data.length - 12);
        const plain = ctsDecrypt(keys.ke, body);
        const mac = createHmac('sha1', keys.ki).update(plain).digest().subarray(0, 12);
        return timingSafeEqual(mac, data.subarray(data.length - 12)) ? plain : undefined;
      },
      encrypt(keys, plain) {
        const c = ctsEncrypt(keys.ke, plain);
        const mac = createHmac('sha1', keys.ki).update(plain).digest().subarray(0, 12);
        return Buffer.concat([c, mac]);
      },
    };
  }
  if (enctype === 20) {
    // aes256-cts-hmac-sha384-192 (RFC 8009): encrypt-then-MAC over IV | C, 192 bits kept.
    // KDF-HMAC-SHA2 (RFC 8009 §3): HMAC(key, 00000001 | label | 00 | bits as 32-bit BE), one
    // input buffer per (usage, suffix, bits), computed once.
    const inputs = new Map();
    const kdf = (base, usage, suffix, bits) => {
      const id = `${usage}/${suffix}/${bits}`;
      let input = inputs.get(id);
      if (input === undefined) {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bits, 0);
        input = Buffer.concat([
          Buffer.from([0, 0, 0, 1]),
          usageConstant(usage, suffix),
          Buffer.from([0]),
          length,
        ]);
        inputs.set(id, input);
      }
      return createHmac('sha384', base)
        .update(input)
        .digest()
        .subarray(0, bits / 8);
    };
    return {
      mac: 24,
      keys: (base, usage) => ({ ke: kdf(base, usage, 0xaa, 256), ki: kdf(base, usage, 0x55, 192) }),
      decrypt(keys, data) {
        const body = data.subarray(0, data.length - 24);
        const mac = createHmac('sha384', keys.ki)
          .update(ZERO_IV)
          .update(body)
          .digest()
          .subarray(0, 24);
        if (!timingSafeEqual(mac, data.subarray(data.length - 24))) return undefined;
        return ctsDecrypt(keys.ke, body);
      },
      encrypt(keys, plain) {
        const c = ctsEncrypt(keys.ke, plain);
        const mac = createHmac('sha384', keys.ki)
          .update(ZERO_IV)
          .update(c)
          .digest()
          .subarray(0, 24);
        return Buffer.concat([c, mac]);
      },
    };
  }
  throw new Error(`no crypto floor for enctype ${enctype}`);
}

/**
 * Builds one floor iteration for the benchmark's sizes: `ticket` is the real EncryptedData
 * (etype, cipher) of the tokens' ticket and `serviceKey` its key bytes from the keytab;
 * `ticketDer` the whole Ticket (the ticket cache hashes it), `authenticatorBytes` and
 * `apRepBytes` the ciphertext lengths of the tokens' authenticator and of the AP-REP's enc-part.
 * Returns `{ full(), seen() }`, each throwing if a check fails.
 */
export function cryptoFloor({
  enctype,
  ticketCipher,
  ticketDer,
  serviceKey,
  authenticatorBytes,
  apRepBytes,
}) {
  const profile = profileFor(enctype);
  const overhead = BLOCK + profile.mac;
  const asKeyObjects = (keys) => ({ ke: createSecretKey(keys.ke), ki: createSecretKey(keys.ki) });
  // The service key's derived keys for usage 2 (KDC-REP ticket) are computed once, as any
  // acceptor keeps them.
  const ticketKeys = asKeyObjects(profile.keys(createSecretKey(serviceKey), 2));
  if (profile.decrypt(ticketKeys, ticketCipher) === undefined) {
    throw new Error('crypto floor: the real ticket does not verify with the keytab key');
  }
  // Session key and an authenticator of the tokens' size (ciphertext made here, so it verifies).
  const sessionKey = randomBytes(32);
  const sessionKeys11 = asKeyObjects(profile.keys(sessionKey, 11));
  const sessionKeys12 = asKeyObjects(profile.keys(sessionKey, 12));
  const authenticator = profile.encrypt(
    sessionKeys11,
    randomBytes(authenticatorBytes - profile.mac),
  );
  const apRepPlain = randomBytes(apRepBytes - overhead);
  // Confounders from a pool, as the acceptor draws them (randomFillSync per draw costs more than
  // the AES it feeds).
  const pool = randomBytes(4096);
  let poolAt = 0;
  const confounder = () => {
    if (poolAt + BLOCK > pool.length) poolAt = 0;
    poolAt += BLOCK;
    return pool.subarray(poolAt - BLOCK, poolAt);
  };
  const apRep = (keys) => {
    const out = profile.encrypt(keys, Buffer.concat([confounder(), apRepPlain]));
    if (out.length !== apRepBytes) throw new Error('crypto floor: AP-REP size mismatch');
  };
  // The replay-cache key: one-shot SHA-256 of the authenticator ciphertext (RFC 4120 §3.2.3
  // needs the check; MIT keys its rcache on the same hash).
  const replayKey = () => hash('sha256', authenticator, 'base64');
  return {
    full() {
      if (profile.decrypt(ticketKeys, ticketCipher) === undefined) throw new Error('ticket');
      // A new ticket brings a new session key: its derived keys for usages 11 and 12, raw.
      const k11 = profile.keys(sessionKey, 11);
      if (profile.decrypt(k11, authenticator) === undefined) throw new Error('authenticator');
      replayKey();
      apRep(profile.keys(sessionKey, 12));
    },
    seen() {
      // The ticket cache's key in place of the ticket's decryption.
      hash('sha256', ticketDer, 'base64');
      if (profile.decrypt(sessionKeys11, authenticator) === undefined)
        throw new Error('authenticator');
      replayKey();
      apRep(sessionKeys12);
    },
  };
}
