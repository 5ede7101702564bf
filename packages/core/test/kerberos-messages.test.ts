/**
 * Kerberos message decoders and encoders: round trips over real MIT messages (captured tokens in
 * fixtures/kerberos/mit-tokens.json, decrypted with their throwaway keytab), and fast-check over
 * every decoder with random, truncated, oversized and mutated input: only HttpAuthError escapes.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { encryptionProfile, KeyUsage, makeKey } from '../src/kerberos/crypto/index.js';
import {
  decodeGssChecksum,
  encodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  GssFlags,
} from '../src/kerberos/gss-checksum.js';
import { decodeGssToken, encodeGssToken, KRB5_OID, TokenId } from '../src/kerberos/gss-token.js';
import { decodeMicHeader, gssGetMic, gssVerifyMic } from '../src/kerberos/gss-mic.js';
import { randomKey } from './fixtures/kerberos/forge.js';
import { Keytab } from '../src/kerberos/keytab.js';
import { decodeApRep, encodeApRep } from '../src/kerberos/messages/ap-rep.js';
import { decodeApReq, encodeApReq } from '../src/kerberos/messages/ap-req.js';
import {
  decodeKerberosAuthenticator,
  encodeKerberosAuthenticator,
} from '../src/kerberos/messages/ap-authenticator.js';
import {
  AdType,
  decodeAuthorizationData,
  encodeAuthorizationData,
  flattenAuthorizationData,
} from '../src/kerberos/messages/authorization-data.js';
import {
  decodeEncApRepPart,
  encodeEncApRepPart,
} from '../src/kerberos/messages/enc-ap-rep-part.js';
import {
  decodeEncTicketPart,
  encodeEncTicketPart,
} from '../src/kerberos/messages/enc-ticket-part.js';
import {
  decodeEncKrbCredPart,
  decodeKrbCred,
  encodeEncKrbCredPart,
  encodeKrbCred,
} from '../src/kerberos/messages/krb-cred.js';
import { decodeKrbError, encodeKrbError } from '../src/kerberos/messages/krb-error.js';
import { parsePrincipal, unparsePrincipal } from '../src/kerberos/messages/principal-name.js';
import { decodeTicket, encodeTicket } from '../src/kerberos/messages/ticket.js';
import { assertDecoderInputs } from './fixtures/fuzz/decoder-inputs.js';

const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/kerberos/mit-tokens.json', import.meta.url), 'utf8'),
) as { capturedAt: number; keytab: string; tokens: Record<string, string> };
const keytab = Keytab.parse(Buffer.from(fixture.keytab, 'base64'));
const token = (name: string): Buffer => Buffer.from(fixture.tokens[name] as string, 'base64');

/** Everything inside a real MIT delegation token, decrypted. */
function open(name: string) {
  const gss = decodeGssToken(token(name));
  const apReq = decodeApReq(gss.message);
  const key = keytab.find(
    'HTTP/localhost@EXAMPLE.TEST',
    apReq.ticket.encPart.etype,
    apReq.ticket.encPart.kvno,
  );
  assert.ok(key !== undefined);
  const profile = encryptionProfile(key.enctype);
  assert.ok(profile !== undefined);
  const encTicketDer = profile.decrypt(key, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher);
  const encTicket = decodeEncTicketPart(encTicketDer);
  const sessionKey = makeKey(encTicket.key.keytype, encTicket.key.keyvalue);
  const sessionProfile = encryptionProfile(sessionKey.enctype);
  assert.ok(sessionProfile !== undefined);
  const authenticatorDer = sessionProfile.decrypt(
    sessionKey,
    KeyUsage.AP_REQ_AUTHENTICATOR,
    apReq.authenticator.cipher,
  );
  const authenticator = decodeKerberosAuthenticator(authenticatorDer);
  return {
    gss,
    apReq,
    encTicketDer,
    encTicket,
    sessionKey,
    sessionProfile,
    authenticatorDer,
    authenticator,
  };
}

describe('round trips over real MIT messages', () => {
  test('GSS framing, AP-REQ and Ticket re-encode byte for byte', () => {
    const { gss, apReq } = open('mutual');
    assert.equal(gss.mechOid, KRB5_OID);
    assert.equal(gss.tokenId, TokenId.AP_REQ);
    assert.deepEqual(encodeGssToken(TokenId.AP_REQ, gss.message), token('mutual'));
    assert.deepEqual(encodeApReq(apReq), gss.message);
    assert.deepEqual(encodeTicket(apReq.ticket), apReq.ticket.der);
    assert.deepEqual(decodeTicket(apReq.ticket.der).sname.components, ['HTTP', 'localhost']);
  });

  test('EncTicketPart and Authenticator re-encode byte for byte', () => {
    const { encTicketDer, encTicket, authenticatorDer, authenticator } = open('mutual');
    assert.equal(encTicket.crealm, 'EXAMPLE.TEST');
    assert.deepEqual(encTicket.cname.components, ['alice']);
    assert.ok(encTicket.endtime > fixture.capturedAt);
    assert.deepEqual(encodeEncTicketPart(encTicket), encTicketDer);
    assert.deepEqual(encodeKerberosAuthenticator(authenticator), authenticatorDer);
    assert.equal(authenticator.cksum?.cksumtype, GSS_CHECKSUM_TYPE);
    const checksum = decodeGssChecksum(authenticator.cksum?.checksum as Buffer);
    assert.ok((checksum.flags & GssFlags.MUTUAL) !== 0);
    assert.deepEqual(encodeGssChecksum(checksum), authenticator.cksum?.checksum);
    // MIT 1.20 puts a PAC in AD-IF-RELEVANT.
    const flat = flattenAuthorizationData(encTicket.authorizationData);
    assert.ok(
      flat.some(({ entry, ifRelevant }) => entry.adType === AdType.WIN2K_PAC && ifRelevant),
    );
  });

  test('KRB-CRED and EncKrbCredPart of a delegation token', () => {
    const { authenticator, sessionKey, sessionProfile } = open('delegate');
    const checksum = decodeGssChecksum(authenticator.cksum?.checksum as Buffer);
    assert.ok(checksum.delegation !== undefined);
    const cred = decodeKrbCred(checksum.delegation);
    assert.deepEqual(
      encodeKrbCred({ tickets: cred.tickets.map((t) => t.der), encPart: cred.encPart }),
      checksum.delegation,
    );
    assert.equal(cred.encPart.etype, sessionKey.enctype);
    const plain = sessionProfile.decrypt(
      sessionKey,
      KeyUsage.KRB_CRED_ENCPART,
      cred.encPart.cipher,
    );
    const part = decodeEncKrbCredPart(plain);
    assert.equal(part.ticketInfo.length, 1);
    assert.deepEqual(part.ticketInfo[0]?.sname?.components, ['krbtgt', 'EXAMPLE.TEST']);
    assert.deepEqual(encodeEncKrbCredPart(part), plain);
  });

  test('AP-REP, EncAPRepPart and KRB-ERROR round trips', () => {
    const encPart = {
      ctime: Date.UTC(2026, 0, 1),
      cusec: 5,
      subkey: { keytype: 18, keyvalue: Buffer.alloc(32, 1) },
      seqNumber: 77,
    };
    assert.deepEqual(decodeEncApRepPart(encodeEncApRepPart(encPart)), encPart);
    const apRep = { encPart: { etype: 18, kvno: undefined, cipher: Buffer.alloc(40, 2) } };
    assert.deepEqual(decodeApRep(encodeApRep(apRep)), apRep);
    const error = {
      ctime: undefined,
      cusec: undefined,
      stime: Date.UTC(2026, 0, 1, 1, 2, 3),
      susec: 999_999,
      errorCode: 37,
      crealm: undefined,
      cname: undefined,
      realm: 'EXAMPLE.TEST',
      sname: { nameType: 2, components: ['HTTP', 'localhost'] },
      eText: 'skew',
      eData: undefined,
    };
    assert.deepEqual(decodeKrbError(encodeKrbError(error)), error);
  });

  test('AuthorizationData nesting is depth-bounded', () => {
    let ad = encodeAuthorizationData([{ adType: 128, adData: Buffer.from('pac') }]);
    for (let i = 0; i < 20; i++)
      ad = encodeAuthorizationData([{ adType: AdType.IF_RELEVANT, adData: ad }]);
    assert.throws(() => flattenAuthorizationData(decodeAuthorizationData(ad)), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
  });

  test('principal names parse and unparse with escapes', () => {
    assert.deepEqual(parsePrincipal('HTTP/host.example@EXAMPLE.TEST'), {
      components: ['HTTP', 'host.example'],
      realm: 'EXAMPLE.TEST',
    });
    assert.deepEqual(parsePrincipal('HTTP/host'), {
      components: ['HTTP', 'host'],
      realm: undefined,
    });
    assert.deepEqual(parsePrincipal('a\\/b@R'), { components: ['a/b'], realm: 'R' });
    assert.equal(
      unparsePrincipal({ nameType: 1, components: ['a/b', 'c@d'] }, 'R'),
      'a\\/b/c\\@d@R',
    );
  });
});

/** Run `decode` on `input`, asserting it returns or throws only HttpAuthError. */
function onlyHttpAuthError(decode: (b: Buffer) => unknown, input: Buffer): void {
  try {
    decode(input);
  } catch (error) {
    if (!(error instanceof HttpAuthError)) {
      assert.fail(`non-HttpAuthError thrown: ${String(error)}`);
    }
  }
}

describe('fast-check: every decoder throws only HttpAuthError', () => {
  const { gss, apReq, encTicketDer, authenticatorDer, authenticator, sessionKey, sessionProfile } =
    open('delegate');
  const delegation = decodeGssChecksum(authenticator.cksum?.checksum as Buffer)
    .delegation as Buffer;
  const credPlain = sessionProfile.decrypt(
    sessionKey,
    KeyUsage.KRB_CRED_ENCPART,
    decodeKrbCred(delegation).encPart.cipher,
  );
  const samples: [string, (b: Buffer) => unknown, Buffer][] = [
    ['gss token', decodeGssToken, token('delegate')],
    ['AP-REQ', decodeApReq, gss.message],
    ['Ticket', decodeTicket, apReq.ticket.der],
    ['EncTicketPart', decodeEncTicketPart, encTicketDer],
    ['Authenticator', decodeKerberosAuthenticator, authenticatorDer],
    ['gss checksum', decodeGssChecksum, authenticator.cksum?.checksum as Buffer],
    ['KRB-CRED', decodeKrbCred, delegation],
    ['EncKrbCredPart', decodeEncKrbCredPart, credPlain],
    [
      'AP-REP',
      decodeApRep,
      encodeApRep({ encPart: { etype: 18, kvno: undefined, cipher: Buffer.alloc(60, 3) } }),
    ],
    [
      'EncAPRepPart',
      decodeEncApRepPart,
      encodeEncApRepPart({ ctime: 0, cusec: 1, subkey: undefined, seqNumber: 3 }),
    ],
    [
      'KRB-ERROR',
      decodeKrbError,
      encodeKrbError({
        stime: 0,
        susec: 0,
        errorCode: 37,
        realm: 'R',
        sname: { nameType: 2, components: ['HTTP', 'h'] },
      }),
    ],
    [
      'AuthorizationData',
      decodeAuthorizationData,
      encodeAuthorizationData([{ adType: 1, adData: Buffer.alloc(5) }]),
    ],
    [
      'MIC header',
      (b) => decodeMicHeader(b),
      Buffer.concat([Buffer.from('040400ffffffffff', 'hex'), Buffer.alloc(20)]),
    ],
  ];

  for (const [name, decode, sample] of samples) {
    test(`${name}: the sample decodes`, () => {
      assert.doesNotThrow(() => decode(sample));
    });
    test(`${name}: random, truncated, oversized and mutated input`, () => {
      assertDecoderInputs((input) => onlyHttpAuthError(decode, input), sample, {
        maxRandomLength: 400,
        runs: { random: 300, truncated: 200, extended: 100, mutated: 400 },
      });
    });
  }

  test('an oversized DER message is refused', () => {
    const huge = Buffer.concat([
      Buffer.from([0x6e, 0x84, 0x00, 0x05, 0x00, 0x00]),
      Buffer.alloc(0x50000),
    ]);
    assert.throws(() => decodeApReq(huge), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
    assert.throws(() => decodeGssToken(Buffer.alloc(300 * 1024, 0x60)), {
      code: 'ERR_HTTPAUTH_GSS_MALFORMED',
    });
  });
});

describe('MIC tokens', () => {
  test('round trip per enctype; wrong data, key, direction or flipped bits fail', () => {
    for (const enctype of [17, 18, 19, 20, 23]) {
      const key = randomKey(enctype);
      const data = Buffer.from('mech list');
      const mic = gssGetMic(key, data, { acceptor: false, acceptorSubkey: false, seq: 3n });
      assert.equal(gssVerifyMic(key, mic, data), true);
      assert.equal(gssVerifyMic(key, mic, data, { fromAcceptor: false }), true);
      assert.equal(gssVerifyMic(key, mic, data, { fromAcceptor: true }), false);
      assert.equal(gssVerifyMic(key, mic, Buffer.from('mech lisT')), false);
      assert.equal(gssVerifyMic(randomKey(enctype), mic, data), false);
      for (let i = 0; i < mic.length; i++) {
        // RFC 1964 tokens do not protect the sequence number's own bits (its 4 octets after the
        // 13-octet GSS header, token id, SGN_ALG and filler): a changed number is caught by the
        // sequence check, not the MIC.
        if (enctype === 23 && i >= 21 && i < 25) continue;
        const flipped = Buffer.from(mic);
        flipped[i] = (flipped[i] as number) ^ 0x01;
        assert.equal(gssVerifyMic(key, flipped, data), false, `enctype ${enctype} byte ${i}`);
      }
    }
  });

  test('fast-check: gssVerifyMic answers false on random tokens and never throws', () => {
    const keys = [randomKey(18), randomKey(20), randomKey(23)];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        for (const key of keys)
          assert.equal(gssVerifyMic(key, Buffer.from(bytes), Buffer.from('x')), false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('AP-REQ: the same ticket on every request', () => {
  const ticket = (realm: string, cipherByte: number) => ({
    realm,
    sname: { nameType: 2, components: ['HTTP', 'web.example.test'] },
    encPart: { etype: 18, kvno: 3, cipher: Buffer.alloc(40, cipherByte) },
  });
  const apReq = (t: ReturnType<typeof ticket>, authenticatorByte: number) =>
    encodeApReq({
      apOptions: 0x20000000,
      ticket: t,
      authenticator: { etype: 18, kvno: undefined, cipher: Buffer.alloc(60, authenticatorByte) },
    });

  test('a byte-identical ticket decodes to the same frozen Ticket; any other byte decodes anew', () => {
    const first = decodeApReq(apReq(ticket('EXAMPLE.TEST', 1), 7));
    const second = decodeApReq(apReq(ticket('EXAMPLE.TEST', 1), 8));
    assert.equal(second.ticket, first.ticket);
    assert.ok(Object.isFrozen(first.ticket) && Object.isFrozen(first.ticket.sname.components));
    assert.notDeepEqual(second.authenticator.cipher, first.authenticator.cipher);
    // One byte of the cipher, or the realm, differs: a fresh decode with the new values.
    const otherCipher = decodeApReq(apReq(ticket('EXAMPLE.TEST', 2), 8));
    assert.notEqual(otherCipher.ticket, first.ticket);
    assert.deepEqual(otherCipher.ticket.encPart.cipher, Buffer.alloc(40, 2));
    const otherRealm = decodeApReq(apReq(ticket('EXAMPLE.TESU', 2), 8));
    assert.equal(otherRealm.ticket.realm, 'EXAMPLE.TESU');
    // The kept ticket's bytes are its own: overwriting the token it came from changes nothing.
    const token = apReq(ticket('OWN.TEST', 5), 1);
    const kept = decodeApReq(token).ticket;
    token.fill(0);
    assert.equal(kept.realm, 'OWN.TEST');
    assert.deepEqual(kept.encPart.cipher, Buffer.alloc(40, 5));
    assert.equal(decodeApReq(apReq(ticket('OWN.TEST', 5), 2)).ticket, kept);
    assert.equal(decodeApReq(apReq(ticket('OWN.TEST', 5), 3)).ticket.der, kept.der);
  });
});
