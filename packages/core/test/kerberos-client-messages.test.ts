/**
 * The Kerberos client's wire messages (kerberos/client/): AS-REQ/TGS-REQ, AS-REP/TGS-REP,
 * EncASRepPart/EncTGSRepPart, PA-DATA, METHOD-DATA, ETYPE-INFO2 and PA-ENC-TS-ENC. Round trips,
 * then every decoder with truncated (every strict prefix must fail), oversized, random and
 * mutated input: only HttpAuthError escapes, never another exception.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_DER_BYTES, encodeSequence } from '../src/asn1/der.js';
import { HttpAuthError } from '../src/errors.js';
import {
  decodeEncKdcRepPart,
  encodeEncKdcRepPart,
  ENC_AS_REP_PART_TAG,
  ENC_TGS_REP_PART_TAG,
  type EncKdcRepPart,
} from '../src/kerberos/client/enc-kdc-rep-part.js';
import {
  decodeKdcRep,
  encodeKdcRep,
  MSG_TYPE_AS_REP,
  MSG_TYPE_TGS_REP,
} from '../src/kerberos/client/kdc-rep.js';
import {
  encodeKdcReqBody,
  KdcOptions,
  type KdcReqBody,
} from '../src/kerberos/client/kdc-req-body.js';
import {
  decodeKdcReq,
  encodeKdcReq,
  MSG_TYPE_AS_REQ,
  MSG_TYPE_TGS_REQ,
} from '../src/kerberos/client/kdc-req.js';
import {
  decodeEtypeInfo2,
  decodeMethodData,
  decodePaEncTsEnc,
  encodeEtypeInfo2,
  encodePaData,
  encodePaDataSequence,
  encodePaEncTsEnc,
  PaDataType,
} from '../src/kerberos/client/pa-data.js';
import { decodeTicket, encodeTicket } from '../src/kerberos/messages/ticket.js';
import {
  decodePaS4uX509User,
  encodePaS4uX509User,
  S4U_X509_USER_REQUEST_USAGE,
  S4uOptions,
} from '../src/kerberos/client/s4u-padata.js';
import { makeKey, verifyChecksum } from '../src/kerberos/crypto/index.js';

const s4uKey = makeKey(18, Buffer.alloc(32, 5));
const s4uUser = encodePaS4uX509User(
  {
    nonce: 0x12345678,
    cname: { nameType: 1, components: ['alice'] },
    crealm: 'EXAMPLE.TEST',
    subjectCertificate: undefined,
    options: S4uOptions.USE_REPLY_KEY_USAGE,
  },
  s4uKey,
  S4U_X509_USER_REQUEST_USAGE,
);

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);
const ticket = decodeTicket(
  encodeTicket({
    realm: 'EXAMPLE.TEST',
    sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
    encPart: { etype: 18, kvno: 1, cipher: Buffer.alloc(40, 7) },
  }),
);

const body: KdcReqBody = {
  kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE_OK,
  cname: { nameType: 1, components: ['alice'] },
  realm: 'EXAMPLE.TEST',
  sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
  till: T0 + 3600_000,
  rtime: T0 + 7200_000,
  nonce: 0x7fedcba9,
  etypes: [20, 18, 19, 17],
  additionalTickets: [],
};

const padata = [
  { type: PaDataType.ENC_TIMESTAMP, value: Buffer.from('3003020101', 'hex') },
  { type: PaDataType.FX_COOKIE, value: Buffer.from('MIT') },
];

const part: EncKdcRepPart = {
  key: { keytype: 18, keyvalue: Buffer.alloc(32, 9) },
  lastReq: [{ type: 0, value: T0 }],
  nonce: 0xfedcba98,
  keyExpiration: T0 + 86_400_000,
  flags: 0x40e10000,
  authtime: T0,
  starttime: T0,
  endtime: T0 + 3600_000,
  renewTill: T0 + 7200_000,
  srealm: 'EXAMPLE.TEST',
  sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
  encryptedPaData: [{ type: PaDataType.REQ_ENC_PA_REP, value: Buffer.alloc(12, 1) }],
};

const rep = {
  msgType: MSG_TYPE_AS_REP as typeof MSG_TYPE_AS_REP,
  padata: [
    {
      type: PaDataType.ETYPE_INFO2,
      value: encodeEtypeInfo2([{ etype: 18, salt: 'EXAMPLE.TESTalice', s2kparams: undefined }]),
    },
  ],
  crealm: 'EXAMPLE.TEST',
  cname: { nameType: 1, components: ['alice'] },
  ticket,
  encPart: { etype: 18, kvno: undefined, cipher: Buffer.alloc(90, 3) },
};

describe('round trips', () => {
  test('PA-S4U-X509-USER: fields, and a checksum over the user-id DER under usage 26', () => {
    const decoded = decodePaS4uX509User(s4uUser);
    assert.equal(decoded.userId.nonce, 0x12345678);
    assert.deepEqual(decoded.userId.cname?.components, ['alice']);
    assert.equal(decoded.userId.crealm, 'EXAMPLE.TEST');
    assert.equal(decoded.userId.options, S4uOptions.USE_REPLY_KEY_USAGE);
    const { cksumtype, checksum } = decoded.checksum;
    assert.equal(verifyChecksum(cksumtype, s4uKey, 26, decoded.userIdDer, checksum), true);
    assert.equal(verifyChecksum(cksumtype, s4uKey, 27, decoded.userIdDer, checksum), false);
  });

  test('AS-REQ and TGS-REQ: header, padata and body fields come back', () => {
    const as = decodeKdcReq(
      encodeKdcReq(MSG_TYPE_AS_REQ, padata, encodeKdcReqBody(body)),
      MSG_TYPE_AS_REQ,
    );
    assert.equal(as.msgType, MSG_TYPE_AS_REQ);
    assert.deepEqual(as.padata, padata);
    const { der, ...fields } = as.body;
    assert.deepEqual(fields, body);
    assert.deepEqual(der, encodeKdcReqBody(body));
    const tgsBody = { ...body, cname: undefined, additionalTickets: [ticket] };
    const tgs = decodeKdcReq(
      encodeKdcReq(MSG_TYPE_TGS_REQ, [], encodeKdcReqBody(tgsBody)),
      MSG_TYPE_TGS_REQ,
    );
    assert.deepEqual(tgs.padata, []);
    assert.equal(tgs.body.cname, undefined);
    assert.deepEqual(tgs.body.additionalTickets[0]?.der, ticket.der);
    // The application tag is the message type: an AS-REQ is not a TGS-REQ.
    assert.throws(
      () =>
        decodeKdcReq(encodeKdcReq(MSG_TYPE_AS_REQ, [], encodeKdcReqBody(body)), MSG_TYPE_TGS_REQ),
      { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' },
    );
  });

  test('a nonce with the top bit set is sent as a positive INTEGER and read back', () => {
    const big = { ...body, nonce: 0xfedcba98 };
    const decoded = decodeKdcReq(
      encodeKdcReq(MSG_TYPE_AS_REQ, [], encodeKdcReqBody(big)),
      MSG_TYPE_AS_REQ,
    );
    assert.equal(decoded.body.nonce, 0xfedcba98);
  });

  test('AS-REP and TGS-REP', () => {
    const as = decodeKdcRep(encodeKdcRep(rep), MSG_TYPE_AS_REP);
    assert.deepEqual({ ...as, ticket: as.ticket.der }, { ...rep, ticket: ticket.der });
    const tgs = encodeKdcRep({ ...rep, msgType: MSG_TYPE_TGS_REP, padata: [] });
    assert.deepEqual(decodeKdcRep(tgs, MSG_TYPE_TGS_REP).padata, []);
    assert.throws(() => decodeKdcRep(tgs, MSG_TYPE_AS_REP), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
  });

  test('EncASRepPart and EncTGSRepPart (both tags accepted, RFC 4120 §5.4.2), others refused', () => {
    for (const tag of [ENC_AS_REP_PART_TAG, ENC_TGS_REP_PART_TAG]) {
      assert.deepEqual(decodeEncKdcRepPart(encodeEncKdcRepPart(tag, part)), part);
    }
    const minimal = {
      ...part,
      keyExpiration: undefined,
      starttime: undefined,
      renewTill: undefined,
      lastReq: [],
      encryptedPaData: [],
    };
    assert.deepEqual(
      decodeEncKdcRepPart(encodeEncKdcRepPart(ENC_AS_REP_PART_TAG, minimal)),
      minimal,
    );
    const wrongTag = encodeEncKdcRepPart(ENC_AS_REP_PART_TAG, part);
    wrongTag[0] = 0x63; // [APPLICATION 3]: an EncTicketPart's tag
    assert.throws(() => decodeEncKdcRepPart(wrongTag), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
  });

  test('ETYPE-INFO2, METHOD-DATA and PA-ENC-TS-ENC', () => {
    const entries = [
      { etype: 20, salt: 'EXAMPLE.TESTerin', s2kparams: Buffer.from('00008000', 'hex') },
      { etype: 23, salt: undefined, s2kparams: undefined },
    ];
    assert.deepEqual(decodeEtypeInfo2(encodeEtypeInfo2(entries)), entries);
    assert.throws(() => decodeEtypeInfo2(encodeSequence()), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    assert.deepEqual(decodeMethodData(encodePaDataSequence(padata)), padata);
    assert.deepEqual(decodePaEncTsEnc(encodePaEncTsEnc({ timestamp: T0, usec: 123456 })), {
      timestamp: T0,
      usec: 123456,
    });
  });
});

function onlyHttpAuthError(decode: (b: Buffer) => unknown, bytes: Buffer): void {
  try {
    decode(bytes);
  } catch (error) {
    if (!(error instanceof HttpAuthError)) throw error;
  }
}

describe('hostile input', () => {
  const samples: [string, (b: Buffer) => unknown, Buffer][] = [
    [
      'AS-REQ',
      (b) => decodeKdcReq(b, MSG_TYPE_AS_REQ),
      encodeKdcReq(MSG_TYPE_AS_REQ, padata, encodeKdcReqBody(body)),
    ],
    [
      'TGS-REQ',
      (b) => decodeKdcReq(b, MSG_TYPE_TGS_REQ),
      encodeKdcReq(
        MSG_TYPE_TGS_REQ,
        padata,
        encodeKdcReqBody({ ...body, additionalTickets: [ticket] }),
      ),
    ],
    ['AS-REP', (b) => decodeKdcRep(b, MSG_TYPE_AS_REP), encodeKdcRep(rep)],
    ['EncKDCRepPart', decodeEncKdcRepPart, encodeEncKdcRepPart(ENC_AS_REP_PART_TAG, part)],
    ['METHOD-DATA', decodeMethodData, encodePaDataSequence(padata)],
    [
      'ETYPE-INFO2',
      decodeEtypeInfo2,
      encodeEtypeInfo2([{ etype: 18, salt: 'X', s2kparams: Buffer.alloc(4) }]),
    ],
    ['PA-S4U-X509-USER', decodePaS4uX509User, s4uUser],
    ['PA-ENC-TS-ENC', decodePaEncTsEnc, encodePaEncTsEnc({ timestamp: T0, usec: 1 })],
  ];

  for (const [name, decode, sample] of samples) {
    test(`${name}: every strict prefix is refused as malformed`, () => {
      assert.doesNotThrow(() => decode(sample));
      for (let n = 0; n < sample.length; n++) {
        assert.throws(
          () => decode(sample.subarray(0, n)),
          { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' },
          `${name} prefix ${n}`,
        );
      }
    });

    test(`${name}: trailing bytes are refused`, () => {
      assert.throws(() => decode(Buffer.concat([sample, Buffer.of(0)])), {
        code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
      });
    });

    test(`${name}: random and mutated input throw only HttpAuthError`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) =>
          onlyHttpAuthError(decode, Buffer.from(bytes)),
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
            onlyHttpAuthError(decode, mutated);
          },
        ),
        { numRuns: 400 },
      );
    });
  }

  test('oversized messages and lists are refused', () => {
    const huge = Buffer.concat([
      Buffer.from([0x6b, 0x83, 0x04, 0x00, 0x01]),
      Buffer.alloc(MAX_DER_BYTES),
    ]);
    assert.throws(() => decodeKdcRep(huge, MSG_TYPE_AS_REP), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    const manyPa = encodeSequence(...Array.from({ length: 65 }, () => encodePaData(padata[0]!)));
    assert.throws(() => decodeMethodData(manyPa), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
    const manyEtypes = encodeKdcReq(
      MSG_TYPE_AS_REQ,
      [],
      encodeKdcReqBody({ ...body, etypes: Array.from({ length: 33 }, () => 18) }),
    );
    assert.throws(() => decodeKdcReq(manyEtypes, MSG_TYPE_AS_REQ), {
      code: 'ERR_HTTPAUTH_ASN1_MALFORMED',
    });
    const manyLastReq = encodeEncKdcRepPart(ENC_AS_REP_PART_TAG, {
      ...part,
      lastReq: Array.from({ length: 17 }, () => ({ type: 0, value: T0 })),
    });
    assert.throws(() => decodeEncKdcRepPart(manyLastReq), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
  });
});
