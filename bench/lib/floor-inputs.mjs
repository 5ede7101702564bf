// The crypto floor's inputs, read from the benchmark's own tokens: the real ticket (enctype,
// ciphertext and its whole DER), its service key from the keytab, the authenticator's ciphertext length, and the
// length of the AP-REP enc-part the acceptor builds for them (one accept, before any timing).
import { readFileSync } from 'node:fs';

export async function fromTokens(kerberosTokens, keytabPath) {
  const { KerberosAcceptor, MemoryStore } = await import('@httpauth/core');
  const { decodeApRep, decodeApReq, decodeGssToken, parseKeytab } =
    await import('@httpauth/core/wire');
  const first = kerberosTokens[0];
  const apReq = decodeApReq(decodeGssToken(first).message);
  // The "per token" floor assumes what the engine does with these tokens: one ticket, decrypted
  // once and then found in its cache, and a distinct authenticator per token. Check both.
  const tickets = new Set();
  const authenticators = new Set();
  for (const token of kerberosTokens) {
    const { ticket, authenticator } = decodeApReq(decodeGssToken(token).message);
    tickets.add(ticket.der.toString('base64'));
    authenticators.add(authenticator.cipher.toString('base64'));
  }
  if (tickets.size !== 1 || authenticators.size !== kerberosTokens.length) {
    throw new Error(
      `crypto floor: expected one ticket and distinct authenticators, got ${tickets.size} tickets and ${authenticators.size} authenticators in ${kerberosTokens.length} tokens`,
    );
  }
  const { etype, cipher } = apReq.ticket.encPart;
  const entry = parseKeytab(readFileSync(keytabPath)).find((e) => e.enctype === etype);
  if (entry?.key === undefined) throw new Error(`crypto floor: no key of enctype ${etype}`);
  const acceptor = new KerberosAcceptor({ keytab: keytabPath, clockSkewMs: 3_600_000 });
  const result = await acceptor.accept(first, {
    store: new MemoryStore(),
    now: Date.now(),
    channelBinding: undefined,
  });
  if (!result.ok || result.responseToken === undefined) {
    throw new Error('crypto floor: the first token was not accepted');
  }
  const apRep = decodeApRep(decodeGssToken(result.responseToken).message);
  return {
    enctype: etype,
    ticketCipher: cipher,
    ticketDer: apReq.ticket.der,
    serviceKey: entry.key.bytes,
    authenticatorBytes: apReq.authenticator.cipher.length,
    apRepBytes: apRep.encPart.cipher.length,
  };
}
