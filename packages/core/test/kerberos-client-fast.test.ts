/**
 * FAST (RFC 6113) pieces of the Kerberos client (kerberos/client/fast.ts): KRB-FX-CF2, the
 * armored request's structure and keys, and the KrbFastResponse reader on good, truncated,
 * mutated and random input. The armored exchange runs against MIT in
 * test/basic-kerberos-fast-e2e.test.ts.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  children,
  contextFields,
  decodeDer,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeKerberosTime,
  encodeTlv,
  readInt32,
  readOctetString,
  Tag,
  unwrap,
  type DerNode,
} from '../src/asn1/der.js';
import { isHttpAuthError } from '../src/errors.js';
import {
  armoredRequest,
  FastKeyUsage,
  krbFxCf2,
  makeArmor,
  readFastResponse,
} from '../src/kerberos/client/fast.js';
import { decodeKdcReqBodyNode, encodeKdcReqBody } from '../src/kerberos/client/kdc-req-body.js';
import {
  encodePaDataSequence,
  decodePaDataSequence,
  PaDataType,
} from '../src/kerberos/client/pa-data.js';
import {
  computeChecksum,
  encryptionProfile,
  KeyUsage,
  makeKey,
  verifyChecksum,
  type KerberosKey,
} from '../src/kerberos/crypto/index.js';
import { decodeApReq } from '../src/kerberos/messages/ap-req.js';
import { decodeKerberosAuthenticator } from '../src/kerberos/messages/ap-authenticator.js';
import {
  decodeChecksum,
  decodeEncryptedData,
  encodeChecksum,
  encodeEncryptedData,
  encodeEncryptionKey,
} from '../src/kerberos/messages/encrypted-data.js';
import { encodePrincipalName } from '../src/kerberos/messages/principal-name.js';
import { decodeTicket, encodeTicket } from '../src/kerberos/messages/ticket.js';

const key = (enctype: number): KerberosKey =>
  makeKey(enctype, randomBytes(encryptionProfile(enctype)!.keyBytes));

describe('KRB-FX-CF2 (RFC 6113 §5.1)', () => {
  test("a key of K1's enctype, the same for the same inputs, other for other peppers or keys", () => {
    for (const [e1, e2] of [
      [18, 20],
      [20, 18],
      [17, 19],
      [19, 17],
    ] as const) {
      const k1 = key(e1);
      const k2 = key(e2);
      const out = krbFxCf2(k1, k2, 'a', 'b');
      assert.equal(out.enctype, e1);
      assert.equal(out.bytes.length, encryptionProfile(e1)!.keyBytes);
      assert.deepEqual(krbFxCf2(k1, k2, 'a', 'b').bytes, out.bytes);
      assert.notDeepEqual(krbFxCf2(k1, k2, 'b', 'a').bytes, out.bytes);
      assert.notDeepEqual(krbFxCf2(k1, key(e2), 'a', 'b').bytes, out.bytes);
    }
  });

  test('it is PRF+(K1, pepper1) XOR PRF+(K2, pepper2): CF2 of a key with itself and one pepper is zero', () => {
    const k = key(18);
    assert.deepEqual(krbFxCf2(k, k, 'same', 'same').bytes, Buffer.alloc(32));
  });
});

const tgtSessionKey = key(20);
const armorTgt = {
  crealm: 'FAST.TEST',
  cname: { nameType: 3, components: ['HTTP', 'web.fast.test'] },
  ticket: decodeTicket(
    encodeTicket({
      realm: 'FAST.TEST',
      sname: { nameType: 2, components: ['krbtgt', 'FAST.TEST'] },
      encPart: { etype: 18, kvno: 1, cipher: randomBytes(64) },
    }),
  ),
  sessionKey: tgtSessionKey,
  part: {} as never,
};

describe('the armored request (RFC 6113 §5.4.1, §5.4.2)', () => {
  test('the armor AP-REQ carries a subkey; the armor key is CF2(subkey, TGT session key)', () => {
    const armor = makeArmor(armorTgt, Date.now());
    const f = contextFields(decodeDer(armor.armorDer, Tag.SEQUENCE), 1, [0, 1]);
    assert.equal(readInt32(f[0] as DerNode), 1);
    const apReq = decodeApReq(readOctetString(f[1] as DerNode));
    const authenticator = decodeKerberosAuthenticator(
      encryptionProfile(20)!.decrypt(
        tgtSessionKey,
        KeyUsage.AP_REQ_AUTHENTICATOR,
        apReq.authenticator.cipher,
      ),
    );
    const subkey = makeKey(authenticator.subkey!.keytype, authenticator.subkey!.keyvalue);
    assert.deepEqual(armor.key, krbFxCf2(subkey, tgtSessionKey, 'subkeyarmor', 'ticketarmor'));
    // A fresh subkey, so a fresh armor key, for every request.
    assert.notDeepEqual(makeArmor(armorTgt, Date.now()).key.bytes, armor.key.bytes);
  });

  test('PA-FX-FAST: [0] KrbFastArmoredReq, its checksum over the outer body, the inner request', () => {
    const armor = makeArmor(armorTgt, Date.now());
    const body = encodeKdcReqBody({
      kdcOptions: 0x10,
      cname: { nameType: 1, components: ['fay'] },
      realm: 'FAST.TEST',
      sname: { nameType: 2, components: ['krbtgt', 'FAST.TEST'] },
      till: Date.now() + 600_000,
      rtime: undefined,
      nonce: 12345,
      etypes: [20, 18],
      additionalTickets: [],
    });
    const cookie = { type: PaDataType.FX_COOKIE, value: Buffer.from('c') };
    const pa = armoredRequest(armor, body, [cookie]);
    assert.equal(pa.type, PaDataType.FX_FAST);
    const req = contextFields(unwrap(decodeDer(pa.value, 0xa0), Tag.SEQUENCE), 2, [0, 1, 2]);
    const checksum = decodeChecksum(req[1] as DerNode);
    assert.ok(
      verifyChecksum(
        checksum.cksumtype,
        armor.key,
        FastKeyUsage.REQ_CHECKSUM,
        body,
        checksum.checksum,
      ),
    );
    const enc = decodeEncryptedData(req[2] as DerNode);
    const inner = contextFields(
      decodeDer(
        encryptionProfile(armor.key.enctype)!.decrypt(armor.key, FastKeyUsage.ENC, enc.cipher),
        Tag.SEQUENCE,
      ),
      2,
      [0, 1, 2],
    );
    assert.deepEqual(decodePaDataSequence(inner[1] as DerNode), [cookie]);
    assert.equal(decodeKdcReqBodyNode(inner[2] as DerNode).nonce, 12345);
  });
});

/** A KDC's PA-FX-FAST reply value (what MIT sends), for the reader's tests. */
function fastReply(armorKey: KerberosKey, nonce: number, ticketDer: Buffer): Buffer {
  const finished = encodeContextSequence([
    encodeKerberosTime(Date.now() - (Date.now() % 1000)),
    encodeInteger(0),
    encodeKerberosString('FAST.TEST'),
    encodePrincipalName({ nameType: 1, components: ['fay'] }),
    encodeChecksum({
      cksumtype: encryptionProfile(armorKey.enctype)!.checksumType,
      checksum: computeChecksum(
        encryptionProfile(armorKey.enctype)!.checksumType,
        armorKey,
        FastKeyUsage.FINISHED,
        ticketDer,
      ),
    }),
  ]);
  const strengthen = key(20);
  const response = encodeContextSequence([
    encodePaDataSequence([{ type: PaDataType.FX_COOKIE, value: Buffer.from('c') }]),
    encodeEncryptionKey({ keytype: strengthen.enctype, keyvalue: strengthen.bytes }),
    finished,
    encodeInteger(nonce),
  ]);
  const enc = encodeEncryptedData({
    etype: armorKey.enctype,
    kvno: undefined,
    cipher: encryptionProfile(armorKey.enctype)!.encrypt(armorKey, FastKeyUsage.REP, response),
  });
  return encodeTlv(0xa0, encodeContextSequence([enc]));
}

function onlyKdcError(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    assert.ok(isHttpAuthError(error), String(error));
    assert.equal(error.code, 'ERR_HTTPAUTH_KDC_ERROR');
  }
}

describe('KrbFastResponse (RFC 6113 §5.4.3)', () => {
  const armorKey = key(20);
  const ticketDer = armorTgt.ticket.der;
  const sample = fastReply(armorKey, 4242, ticketDer);

  test('padata, strengthen key, finished and nonce come back', () => {
    const response = readFastResponse(armorKey, sample);
    assert.equal(response.nonce, 4242);
    assert.equal(response.strengthenKey?.enctype, 20);
    assert.equal(response.finished?.crealm, 'FAST.TEST');
    assert.deepEqual(response.finished?.cname.components, ['fay']);
    assert.deepEqual(response.padata, [{ type: PaDataType.FX_COOKIE, value: Buffer.from('c') }]);
  });

  test('another armor key (a reply not for this request) is ERR_HTTPAUTH_KDC_ERROR', () => {
    assert.throws(() => readFastResponse(key(20), sample), { code: 'ERR_HTTPAUTH_KDC_ERROR' });
  });

  test('every strict prefix, trailing bytes, random and mutated input: only ERR_HTTPAUTH_KDC_ERROR', () => {
    for (let n = 0; n < sample.length; n++) {
      assert.throws(() => readFastResponse(armorKey, sample.subarray(0, n)), {
        code: 'ERR_HTTPAUTH_KDC_ERROR',
      });
    }
    assert.throws(() => readFastResponse(armorKey, Buffer.concat([sample, Buffer.of(0)])), {
      code: 'ERR_HTTPAUTH_KDC_ERROR',
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) =>
        onlyKdcError(() => readFastResponse(armorKey, Buffer.from(bytes))),
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: sample.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, value) => {
          const mutated = Buffer.from(sample);
          mutated[at] = value;
          onlyKdcError(() => readFastResponse(armorKey, mutated));
        },
      ),
      { numRuns: 300 },
    );
    // The structure itself is sound: the children of the [0] choice are one SEQUENCE.
    assert.equal(children(decodeDer(sample, 0xa0)).length, 1);
  });
});
