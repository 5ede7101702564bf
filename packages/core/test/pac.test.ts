/**
 * MS-PAC: the container, signatures, LOGON_INFO (NDR), CLIENT_INFO, UPN_DNS_INFO; a real MIT 1.20
 * PAC from the captured tokens; fast-check over every PAC decoder.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { decodeClientInfo } from '../src/kerberos/pac/client-info.js';
import { decodeLogonInfo } from '../src/kerberos/pac/logon-info.js';
import { parseBinarySid } from '../src/kerberos/pac/ndr.js';
import {
  decodePac,
  pacBuffer,
  PacBufferType,
  verifyPacServerSignature,
} from '../src/kerberos/pac/pac.js';
import { decodeUpnDnsInfo } from '../src/kerberos/pac/upn-dns-info.js';
import {
  binarySid,
  encodeClientInfo,
  encodeLogonInfo,
  encodePac,
  encodeUpnDnsInfo,
  randomKey,
} from './fixtures/kerberos/forge.js';
import { assertDecoderInputs } from './fixtures/fuzz/decoder-inputs.js';
import { keytabOf, mitTokens, openTicket } from './fixtures/kerberos/captured-tokens.js';

const invalid = { code: 'ERR_HTTPAUTH_KRB_PAC_INVALID' };

function mitPac() {
  const token = Buffer.from(mitTokens.tokens.mutual, 'base64');
  const { pac, key, encTicket } = openTicket(
    token,
    keytabOf(mitTokens),
    'HTTP/localhost@EXAMPLE.TEST',
  );
  return { pac, key, authtime: encTicket.authtime };
}

const logonSpec = {
  effectiveName: 'bob',
  fullName: 'Bob Builder',
  domainSid: 'S-1-5-21-10-20-30',
  userId: 1200,
  primaryGroupId: 513,
  groupRids: [513, 512, 1300],
  logonServer: 'DC1',
  logonDomainName: 'SAMDOM',
  extraSids: ['S-1-18-1', 'S-1-5-21-10-20-30-1400'],
  resourceDomainSid: 'S-1-5-21-40-50-60',
  resourceGroupRids: [3000, 3001],
};

describe('a real MIT 1.20 PAC', () => {
  test('server signature verifies with the service key; no LOGON_INFO; CLIENT_INFO names alice', () => {
    const { pac, key, authtime } = mitPac();
    const parsed = decodePac(pac);
    assert.ok(key !== undefined);
    verifyPacServerSignature(parsed, key);
    const types = parsed.buffers.map((b) => b.type);
    assert.ok(types.includes(PacBufferType.SERVER_CHECKSUM));
    assert.ok(types.includes(PacBufferType.PRIVSVR_CHECKSUM));
    assert.ok(!types.includes(PacBufferType.LOGON_INFO));
    const clientInfo = decodeClientInfo(pacBuffer(parsed, PacBufferType.CLIENT_INFO) as Buffer);
    assert.equal(clientInfo.name, 'alice');
    assert.equal(clientInfo.clientId, authtime);
  });

  test('a tampered server checksum is ERR_HTTPAUTH_KRB_PAC_INVALID', () => {
    const { pac, key } = mitPac();
    const parsed = decodePac(pac);
    const tampered = Buffer.from(pac);
    const at = (parsed.serverSignature?.signatureOffset as number) + 2;
    tampered[at] = (tampered[at] as number) ^ 0x01;
    assert.ok(key !== undefined);
    assert.throws(() => verifyPacServerSignature(decodePac(tampered), key), invalid);
    // So is a change anywhere else in the signed data.
    const other = Buffer.from(pac);
    const clientInfo = parsed.buffers.find((b) => b.type === PacBufferType.CLIENT_INFO);
    assert.ok(clientInfo !== undefined);
    other[clientInfo.offset + 12] = (other[clientInfo.offset + 12] as number) ^ 0x20;
    assert.throws(() => verifyPacServerSignature(decodePac(other), key), invalid);
  });
});

describe('PAC buffers we build (the AD layout)', () => {
  test('LOGON_INFO: user, groups, extra SIDs, resource groups, names', () => {
    const info = decodeLogonInfo(encodeLogonInfo(logonSpec));
    assert.equal(info.effectiveName, 'bob');
    assert.equal(info.fullName, 'Bob Builder');
    assert.equal(info.logonDomainName, 'SAMDOM');
    assert.equal(info.logonServer, 'DC1');
    assert.equal(info.userSid, 'S-1-5-21-10-20-30-1200');
    assert.equal(info.primaryGroupSid, 'S-1-5-21-10-20-30-513');
    assert.deepEqual(info.groupSids, [
      'S-1-5-21-10-20-30-513',
      'S-1-5-21-10-20-30-512',
      'S-1-5-21-10-20-30-1300',
      'S-1-18-1',
      'S-1-5-21-10-20-30-1400',
      'S-1-5-21-40-50-60-3000',
      'S-1-5-21-40-50-60-3001',
    ]);
  });

  test('LOGON_INFO with no groups and no extra SIDs', () => {
    const info = decodeLogonInfo(
      encodeLogonInfo({
        ...logonSpec,
        groupRids: [],
        extraSids: [],
        resourceDomainSid: undefined,
        resourceGroupRids: [],
      }),
    );
    assert.deepEqual(info.groupSids, []);
  });

  test('UPN_DNS_INFO plain and extended (SAM name and SID)', () => {
    const plain = decodeUpnDnsInfo(encodeUpnDnsInfo('bob@samdom.test', 'SAMDOM.TEST'));
    assert.equal(plain.upn, 'bob@samdom.test');
    assert.equal(plain.dnsDomainName, 'SAMDOM.TEST');
    assert.equal(plain.sid, undefined);
    const extended = decodeUpnDnsInfo(
      encodeUpnDnsInfo('bob@samdom.test', 'SAMDOM.TEST', 'bob', 'S-1-5-21-10-20-30-1200'),
    );
    assert.equal(extended.samName, 'bob');
    assert.equal(extended.sid, 'S-1-5-21-10-20-30-1200');
    assert.equal(parseBinarySid(binarySid('S-1-5-32-544')), 'S-1-5-32-544');
  });

  test('signatures with AES-SHA1, AES-SHA2 and HMAC-MD5 (RC4) service keys', () => {
    for (const enctype of [17, 18, 19, 20, 23]) {
      const serverKey = randomKey(enctype);
      const pac = encodePac(
        [{ type: 10, data: encodeClientInfo(Date.UTC(2026, 0, 1), 'bob') }],
        serverKey,
        randomKey(18),
      );
      const parsed = decodePac(pac);
      assert.doesNotThrow(() => verifyPacServerSignature(parsed, serverKey));
      assert.throws(() => verifyPacServerSignature(parsed, randomKey(enctype)), invalid);
    }
  });

  test('container errors: version, counts, offsets, duplicate or missing signatures', () => {
    const key = randomKey(18);
    const pac = encodePac([{ type: 1, data: encodeLogonInfo(logonSpec) }], key, randomKey(18));
    const badVersion = Buffer.from(pac);
    badVersion.writeUInt32LE(1, 4);
    assert.throws(() => decodePac(badVersion), invalid);
    const badCount = Buffer.from(pac);
    badCount.writeUInt32LE(1000, 0);
    assert.throws(() => decodePac(badCount), invalid);
    const badOffset = Buffer.from(pac);
    badOffset.writeUInt32LE(pac.length, 16);
    assert.throws(() => decodePac(badOffset), invalid);
    const highOffset = Buffer.from(pac);
    highOffset.writeUInt32LE(1, 20);
    assert.throws(() => decodePac(highOffset), invalid);
    // Two server signatures: retag the KDC signature buffer (third entry) as type 6.
    const twoServer = Buffer.from(pac);
    twoServer.writeUInt32LE(6, 8 + 16 * 2);
    assert.throws(() => decodePac(twoServer), invalid);
    // No KDC signature: retag it as an unknown buffer type.
    const noKdc = Buffer.from(pac);
    noKdc.writeUInt32LE(99, 8 + 16 * 2);
    assert.throws(() => verifyPacServerSignature(decodePac(noKdc), key), invalid);
  });
});

describe('fast-check: PAC decoders throw only HttpAuthError', () => {
  const key = randomKey(18);
  const samples: [string, (b: Buffer) => unknown, Buffer][] = [
    [
      'PACTYPE',
      (b) => verifyPacServerSignature(decodePac(b), key),
      encodePac([{ type: 1, data: encodeLogonInfo(logonSpec) }], key, randomKey(18)),
    ],
    ['LOGON_INFO', decodeLogonInfo, encodeLogonInfo(logonSpec)],
    ['CLIENT_INFO', decodeClientInfo, encodeClientInfo(Date.UTC(2026, 0, 1), 'bob')],
    ['UPN_DNS_INFO', decodeUpnDnsInfo, encodeUpnDnsInfo('bob@x', 'X', 'bob', 'S-1-5-21-1-2-3-4')],
    ['binary SID', parseBinarySid, binarySid('S-1-5-21-1-2-3-4')],
  ];
  const check = (decode: (b: Buffer) => unknown, input: Buffer) => {
    try {
      decode(input);
    } catch (error) {
      assert.ok(error instanceof HttpAuthError, String(error));
    }
  };
  for (const [name, decode, sample] of samples) {
    test(name, () => {
      assertDecoderInputs((input) => check(decode, input), sample, {
        maxRandomLength: 600,
        runs: { random: 500, extended: 100, mutated: 1000 },
      });
    });
  }
});
