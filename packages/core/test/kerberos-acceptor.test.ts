/**
 * The acceptor's verification rules, one case each, with tickets forged by a test-side KDC
 * (fixtures/kerberos/forge.ts) holding the keytab's keys, and with captured MIT tokens.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { HttpAuthError } from '../src/errors.js';
import { KerberosAcceptor, type KerberosAcceptorOptions } from '../src/kerberos/acceptor.js';
import { channelBindingHash } from '../src/channel-binding.js';
import { KeyUsage, encryptionProfile } from '../src/kerberos/crypto/index.js';
import { decodeGssToken, encodeGssToken, MS_KRB5_OID, TokenId } from '../src/kerberos/gss-token.js';
import { encodeKeytab, Keytab } from '../src/kerberos/keytab.js';
import { decodeApRep } from '../src/kerberos/messages/ap-rep.js';
import { decodeApReq, encodeApReq } from '../src/kerberos/messages/ap-req.js';
import { encodeEncKrbCredPart, encodeKrbCred } from '../src/kerberos/messages/krb-cred.js';
import { encodeTicket } from '../src/kerberos/messages/ticket.js';
import {
  AdType,
  encodeAuthorizationData,
  KERB_AP_OPTIONS_CBT,
} from '../src/kerberos/messages/authorization-data.js';
import { decodeEncApRepPart } from '../src/kerberos/messages/enc-ap-rep-part.js';
import { TicketFlags } from '../src/kerberos/messages/enc-ticket-part.js';
import { decodeKrbError } from '../src/kerberos/messages/krb-error.js';
import { MemoryStore } from '../src/store/memory.js';
import type { KeyValueStore } from '../src/store/types.js';
import {
  encodeClientInfo,
  encodeLogonInfo,
  encodePac,
  encodeUpnDnsInfo,
  forgeApReq,
  pacAuthorizationData,
  randomKey,
  reuseTicket,
  type ForgeOptions,
} from './fixtures/kerberos/forge.js';

/** A TGT as a client forwards it in a KRB-CRED (its cipher is opaque to the acceptor). */
function forwardedTgt(): Buffer {
  return encodeTicket({
    realm: 'EXAMPLE.TEST',
    sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
    encPart: { etype: 18, kvno: 1, cipher: Buffer.alloc(64, 9) },
  });
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;

const aes256 = randomKey(18);
const aes128 = randomKey(17);
const rc4 = randomKey(23);
const sha384 = randomKey(20);
const krbtgt = randomKey(18);

const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes256 },
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes128 },
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: sha384 },
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'rc4.test'], kvno: 3, key: rc4 },
  ]),
);

function forge(overrides: Partial<ForgeOptions> = {}): ReturnType<typeof forgeApReq> {
  return forgeApReq({
    serviceKey: aes256,
    kvno: 2,
    authtime: NOW - HOUR,
    endtime: NOW + 9 * HOUR,
    ctime: NOW - 2000,
    ...overrides,
  });
}

async function accept(
  token: Buffer,
  options: KerberosAcceptorOptions = {},
  ctx: { store?: KeyValueStore; now?: number; channelBinding?: Buffer } = {},
) {
  return new KerberosAcceptor({ keytab, ...options }).accept(token, {
    store: ctx.store ?? new MemoryStore(),
    now: ctx.now ?? NOW,
    channelBinding: ctx.channelBinding,
  });
}

async function expectFailure(
  token: Buffer,
  code: string,
  krbErrorCode: number | undefined,
  options: KerberosAcceptorOptions = {},
  ctx: { store?: KeyValueStore; now?: number; channelBinding?: Buffer } = {},
): Promise<void> {
  const result = await accept(token, options, ctx);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.ok(result.error instanceof HttpAuthError);
  assert.equal(result.error.code, code);
  if (krbErrorCode === undefined) {
    assert.equal(result.responseToken, undefined);
  } else {
    assert.ok(result.responseToken !== undefined);
    const framed = decodeGssToken(result.responseToken);
    assert.equal(framed.tokenId, TokenId.KRB_ERROR);
    const error = decodeKrbError(framed.message);
    assert.equal(error.errorCode, krbErrorCode);
    assert.equal(error.realm, 'EXAMPLE.TEST');
  }
}

describe('a valid forged AP-REQ', () => {
  test('accepted with each AES service key; AP-REP decrypts with the session key', async () => {
    for (const serviceKey of [aes256, aes128, sha384]) {
      const { token, sessionKey } = forge({ serviceKey });
      const result = await accept(token);
      assert.equal(result.ok, true, result.ok ? '' : result.error.code);
      if (!result.ok) continue;
      assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
      assert.equal(result.principal.expiresAt?.getTime(), NOW + 9 * HOUR);
      const apRep = decodeApRep(decodeGssToken(result.responseToken as Buffer).message);
      const profile = encryptionProfile(sessionKey.enctype);
      const part = decodeEncApRepPart(
        (profile as NonNullable<typeof profile>).decrypt(
          sessionKey,
          KeyUsage.AP_REP_ENCPART,
          apRep.encPart.cipher,
        ),
      );
      assert.equal(part.ctime, NOW - 2000);
      assert.equal(part.cusec, 123_456);
      assert.ok(part.subkey !== undefined);
      assert.deepEqual(part.subkey.keyvalue, result.sessionKey.bytes);
      assert.ok(part.seqNumber !== undefined && part.seqNumber < 0x40000000);
    }
  });

  test('a bare (unframed) AP-REQ is accepted too', async () => {
    const { token } = forge();
    const bare = decodeGssToken(token).message;
    const result = await accept(bare);
    assert.equal(result.ok, true);
  });

  test("Microsoft's Kerberos OID is accepted and echoed", async () => {
    const { token } = forge();
    const ms = encodeGssToken(TokenId.AP_REQ, decodeGssToken(token).message, MS_KRB5_OID);
    const result = await accept(ms);
    assert.equal(result.ok, true);
    if (result.ok) assert.equal(result.mechOid, MS_KRB5_OID);
  });

  test('the session key for MICs is the initiator subkey when no AP-REP is made', async () => {
    const subkey = randomKey(18);
    const { token } = forge({ subkey, gssFlags: 0x20, apOptions: 0 });
    const result = await accept(token);
    assert.equal(result.ok, true);
    if (!result.ok) return;
    assert.equal(result.responseToken, undefined);
    assert.equal(result.acceptorSubkey, false);
    assert.deepEqual(result.sessionKey.bytes, subkey.bytes);
  });

  test('the principals allowlist matches with and without realm', async () => {
    const { token } = forge();
    assert.equal((await accept(token, { principals: ['HTTP/localhost'] })).ok, true);
    const again = forge();
    assert.equal(
      (await accept(again.token, { principals: ['HTTP/localhost@EXAMPLE.TEST'] })).ok,
      true,
    );
    const third = forge();
    await expectFailure(third.token, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE', 35, {
      principals: ['HTTP/localhost@OTHER.TEST'],
    });
  });

  test('the replay cache entry lives twice the clock skew', async () => {
    const ttls: number[] = [];
    const inner = new MemoryStore();
    const spy: KeyValueStore = {
      add: (key, value, ttl) => {
        ttls.push(ttl);
        return inner.add(key, value, ttl);
      },
      get: (key) => inner.get(key),
      compareAndSet: (k, e, v, t) => inner.compareAndSet(k, e, v, t),
      advance: (k, v, t) => inner.advance(k, v, t),
      delete: (k) => inner.delete(k),
    };
    const { token } = forge();
    const result = await accept(token, { clockSkewMs: 120_000 }, { store: spy });
    assert.equal(result.ok, true);
    assert.deepEqual(ttls, [240_000]);
  });
});

describe('attacks and failures, each its own case', () => {
  test('replayed AP-REQ', async () => {
    const { token } = forge();
    const store = new MemoryStore();
    assert.equal((await accept(token, {}, { store })).ok, true);
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_REPLAY', 34, {}, { store, now: NOW + 5000 });
  });

  test('authenticator outside the skew (both directions)', async () => {
    await expectFailure(forge({ ctime: NOW - 301_000 }).token, 'ERR_HTTPAUTH_KRB_SKEW', 37);
    await expectFailure(forge({ ctime: NOW + 301_000 }).token, 'ERR_HTTPAUTH_KRB_SKEW', 37);
    // Inside a custom skew it passes.
    const { token } = forge({ ctime: NOW - 301_000 });
    assert.equal((await accept(token, { clockSkewMs: 600_000 })).ok, true);
  });

  test('expired ticket', async () => {
    const { token } = forge({ authtime: NOW - 20 * HOUR, endtime: NOW - 10 * HOUR });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_TICKET_EXPIRED', 32);
  });

  test('ticket not yet valid (postdated) and invalid-flagged ticket', async () => {
    const { token } = forge({ starttime: NOW + HOUR, endtime: NOW + 5 * HOUR });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID', 33);
    const invalid = forge({ ticketFlags: TicketFlags.INVALID | TicketFlags.POSTDATED });
    await expectFailure(invalid.token, 'ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID', 33);
  });

  test('ticket for another service', async () => {
    const { token } = forge({ service: ['HTTP', 'elsewhere.test'] });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_WRONG_SERVICE', 35);
  });

  test('flipped ciphertext bit in the authenticator', async () => {
    const { token } = forge({ corruptAuthenticator: true });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_MODIFIED', 41);
  });

  test('ticket encrypted with a key we do not have (same enctype and kvno)', async () => {
    const { token } = forge({ serviceKey: randomKey(18) });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_MODIFIED', 41);
  });

  test('unknown kvno', async () => {
    const { token } = forge({ kvno: 7 });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_NO_KEY', 45);
  });

  test('RC4 ticket with RC4 disabled, accepted when enabled', async () => {
    const make = () =>
      forge({ serviceKey: rc4, kvno: 3, service: ['HTTP', 'rc4.test'], sessionKey: randomKey(23) });
    await expectFailure(make().token, 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED', 14);
    const result = await accept(make().token, { allowRc4: true });
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (result.ok) {
      assert.equal(result.acceptorSubkey, false);
      assert.ok(result.responseToken !== undefined);
    }
  });

  test('an RC4 session key inside an AES ticket is refused when RC4 is disabled', async () => {
    const { token } = forge({ sessionKey: randomKey(23) });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED', 14);
  });

  test('authenticator client differs from the ticket client', async () => {
    const { token } = forge({ authenticatorClient: ['mallory'] });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_BAD_MATCH', 36);
  });

  test('wrong channel binding under require', async () => {
    const right = Buffer.from('tls-server-end-point:right');
    const wrong = Buffer.from('tls-server-end-point:wrong');
    const { token } = forge({ bindings: channelBindingHash(wrong) });
    await expectFailure(
      token,
      'ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH',
      undefined,
      {
        channelBinding: { mode: 'require' },
      },
      { channelBinding: right },
    );
    const good = forge({ bindings: channelBindingHash(right) });
    const result = await accept(
      good.token,
      { channelBinding: { mode: 'require' } },
      { channelBinding: right },
    );
    assert.equal(result.ok, true);
    if (result.ok) assert.equal(result.principal.channelBound, true);
  });

  test('a binding-capable client (KERB_AP_OPTIONS_CBT) without a binding fails under allow', async () => {
    const cbt = Buffer.alloc(4);
    cbt.writeUInt32LE(KERB_AP_OPTIONS_CBT);
    const authenticatorAuthorizationData = [
      {
        adType: AdType.IF_RELEVANT,
        adData: encodeAuthorizationData([{ adType: AdType.AUTH_DATA_AP_OPTIONS, adData: cbt }]),
      },
    ];
    const binding = Buffer.from('tls-server-end-point:x');
    const { token } = forge({ authenticatorAuthorizationData });
    await expectFailure(
      token,
      'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
      undefined,
      {},
      { channelBinding: binding },
    );
    // Without the CBT option the same missing binding is tolerated under allow.
    const plain = forge();
    const result = await accept(plain.token, {}, { channelBinding: binding });
    assert.equal(result.ok, true);
    // Under none, nothing is checked.
    const ignored = forge({ authenticatorAuthorizationData });
    const none = await accept(
      ignored.token,
      { channelBinding: { mode: 'none' } },
      { channelBinding: binding },
    );
    assert.equal(none.ok, true);
  });

  test('the replay store failing fails closed', async () => {
    const broken: KeyValueStore = {
      add: () => Promise.reject(new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE')),
      get: () => Promise.resolve(undefined),
      compareAndSet: () => Promise.resolve(false),
      advance: () => Promise.resolve(false),
      delete: () => Promise.resolve(),
    };
    await expectFailure(
      forge().token,
      'ERR_HTTPAUTH_STORE_UNAVAILABLE',
      undefined,
      {},
      { store: broken },
    );
  });

  test('garbage, truncated and non-Kerberos tokens fail with malformed codes, no token', async () => {
    const { token } = forge();
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from('hello'),
      token.subarray(0, 40),
      Buffer.from([0x60, 0x00]),
    ]) {
      const result = await accept(bad);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.ok(
          ['ERR_HTTPAUTH_GSS_MALFORMED', 'ERR_HTTPAUTH_ASN1_MALFORMED'].includes(result.error.code),
        );
        assert.equal(result.responseToken, undefined);
      }
    }
  });
});

describe('ticket cache (a client reusing its service ticket)', () => {
  test('a second authenticator with the same ticket is accepted; per-request checks still run', async () => {
    const acceptor = new KerberosAcceptor({ keytab });
    const store = new MemoryStore();
    const ctx = (now: number) => ({ store, now, channelBinding: undefined });
    const { token, sessionKey } = forge();
    assert.equal((await acceptor.accept(token, ctx(NOW))).ok, true);
    const again = reuseTicket(token, sessionKey, { ctime: NOW + 60_000, cusec: 9 });
    const second = await acceptor.accept(again, ctx(NOW + 60_000));
    assert.equal(second.ok, true, second.ok ? '' : second.error.code);
    if (second.ok) assert.equal(second.principal.name, 'alice@EXAMPLE.TEST');
    // Replay of the second authenticator: refused although the ticket is cached.
    const replay = await acceptor.accept(again, ctx(NOW + 61_000));
    assert.equal(replay.ok, false);
    if (!replay.ok) assert.equal(replay.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
    // Another client's authenticator with this ticket: BADMATCH.
    const mallory = reuseTicket(token, sessionKey, { ctime: NOW + 62_000, client: ['mallory'] });
    const badMatch = await acceptor.accept(mallory, ctx(NOW + 62_000));
    assert.equal(badMatch.ok, false);
    if (!badMatch.ok) assert.equal(badMatch.error.code, 'ERR_HTTPAUTH_KRB_BAD_MATCH');
    // An authenticator under another key: MODIFIED.
    const forgedKey = reuseTicket(token, randomKey(18), { ctime: NOW + 63_000 });
    const modified = await acceptor.accept(forgedKey, ctx(NOW + 63_000));
    assert.equal(modified.ok, false);
    if (!modified.ok) assert.equal(modified.error.code, 'ERR_HTTPAUTH_KRB_MODIFIED');
    // After the ticket's end time, the cached ticket is expired like any other.
    const late = NOW + 10 * HOUR;
    const expired = await acceptor.accept(
      reuseTicket(token, sessionKey, { ctime: late }),
      ctx(late),
    );
    assert.equal(expired.ok, false);
    if (!expired.ok) assert.equal(expired.error.code, 'ERR_HTTPAUTH_KRB_TICKET_EXPIRED');
  });

  test('a keytab change empties the cache: a cached ticket must decrypt under the new keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'httpauth-ticket-cache-'));
    try {
      const path = join(dir, 'http.keytab');
      const entry = {
        realm: 'EXAMPLE.TEST',
        components: ['HTTP', 'localhost'],
        kvno: 2,
        key: aes256,
      };
      writeFileSync(path, encodeKeytab([entry]));
      const acceptor = new KerberosAcceptor({ keytab: path });
      const store = new MemoryStore();
      const { token, sessionKey } = forge();
      assert.equal(
        (await acceptor.accept(token, { store, now: NOW, channelBinding: undefined })).ok,
        true,
      );
      // Re-key under the same kvno (kadmin -randkey without a kvno bump): only the cache could
      // still vouch for the old ticket, and it must not.
      writeFileSync(`${path}.new`, encodeKeytab([{ ...entry, key: randomKey(18) }]));
      renameSync(`${path}.new`, path);
      const later = NOW + 5000;
      const result = await acceptor.accept(reuseTicket(token, sessionKey, { ctime: later }), {
        store,
        now: later,
        channelBinding: undefined,
      });
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_MODIFIED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('with the cache disabled the same ticket is decrypted every time and still accepted', async () => {
    const acceptor = new KerberosAcceptor({ keytab, ticketCacheSize: 0 });
    const store = new MemoryStore();
    const { token, sessionKey } = forge();
    assert.equal(
      (await acceptor.accept(token, { store, now: NOW, channelBinding: undefined })).ok,
      true,
    );
    const again = reuseTicket(token, sessionKey, { ctime: NOW + 1000 });
    assert.equal(
      (await acceptor.accept(again, { store, now: NOW + 1000, channelBinding: undefined })).ok,
      true,
    );
    assert.throws(() => new KerberosAcceptor({ keytab, ticketCacheSize: -1 }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});

describe('DES and delegation edge cases', () => {
  test('a DES ticket is refused before any decryption (KDC_ERR_ETYPE_NOSUPP)', async () => {
    const { token } = forge();
    const apReq = decodeApReq(decodeGssToken(token).message);
    const des = encodeGssToken(
      TokenId.AP_REQ,
      encodeApReq({
        apOptions: apReq.apOptions,
        ticket: {
          realm: apReq.ticket.realm,
          sname: apReq.ticket.sname,
          encPart: { etype: 3, kvno: 2, cipher: apReq.ticket.encPart.cipher },
        },
        authenticator: apReq.authenticator,
      }),
    );
    await expectFailure(des, 'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED', 14, { allowRc4: true });
  });

  test('a KRB-CRED with etype 0 (unencrypted EncKrbCredPart) is kept', async () => {
    const forwardedTicket = forwardedTgt();
    const plain = encodeEncKrbCredPart({
      ticketInfo: [
        { key: { keytype: 18, keyvalue: Buffer.alloc(32, 4) }, endtime: NOW + 8 * HOUR },
      ],
    });
    const delegation = encodeKrbCred({
      tickets: [forwardedTicket],
      encPart: { etype: 0, kvno: undefined, cipher: plain },
    });
    const { token } = forge({ gssFlags: 0x03, delegation });
    const result = await accept(token);
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (!result.ok) return;
    assert.equal(result.principal.delegated, true);
    const tgt = result.delegatedCredential?.tickets[0];
    assert.ok(tgt !== undefined);
    assert.deepEqual(tgt.ticket, forwardedTicket);
    assert.deepEqual(tgt.key.bytes, Buffer.alloc(32, 4));
    // Absent prealm/pname/srealm/sname default to the ticket's client and the forwarded ticket.
    assert.deepEqual(tgt.client.components, ['alice']);
    assert.deepEqual(tgt.server.components, ['krbtgt', 'EXAMPLE.TEST']);
    assert.equal(tgt.endtime, NOW + 8 * HOUR);
  });

  test('a KRB-CRED encrypted in the session key (usage 14) is decrypted', async () => {
    const sessionKey = randomKey(18);
    const forwardedTicket = forwardedTgt();
    const plain = encodeEncKrbCredPart({
      ticketInfo: [
        { key: { keytype: 17, keyvalue: Buffer.alloc(16, 6) }, flags: TicketFlags.FORWARDED },
      ],
    });
    const profile = encryptionProfile(18);
    assert.ok(profile !== undefined);
    const delegation = encodeKrbCred({
      tickets: [forwardedTicket],
      encPart: {
        etype: 18,
        kvno: undefined,
        cipher: profile.encrypt(sessionKey, KeyUsage.KRB_CRED_ENCPART, plain),
      },
    });
    const result = await accept(forge({ sessionKey, gssFlags: 0x03, delegation }).token);
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (result.ok)
      assert.equal(result.delegatedCredential?.tickets[0]?.flags, TicketFlags.FORWARDED);
  });

  test('a KRB-CRED that does not decrypt fails the whole authentication', async () => {
    const forwardedTicket = forwardedTgt();
    const delegation = encodeKrbCred({
      tickets: [forwardedTicket],
      encPart: { etype: 18, kvno: undefined, cipher: Buffer.alloc(80, 1) },
    });
    await expectFailure(
      forge({ gssFlags: 0x03, delegation }).token,
      'ERR_HTTPAUTH_KRB_DELEGATION_INVALID',
      undefined,
    );
  });
});

describe('PAC', () => {
  const domainSid = 'S-1-5-21-1111-2222-3333';
  const logonSpec = {
    effectiveName: 'alice',
    fullName: 'Alice Example',
    domainSid,
    userId: 1105,
    primaryGroupId: 513,
    groupRids: [513, 1110],
    logonDomainName: 'SAMDOM',
    extraSids: ['S-1-18-1'],
    resourceDomainSid: 'S-1-5-21-9-8-7',
    resourceGroupRids: [2001],
  };
  const authtime = NOW - HOUR;
  const fullPac = (serverKey = aes256) =>
    encodePac(
      [
        { type: 1, data: encodeLogonInfo(logonSpec) },
        { type: 10, data: encodeClientInfo(authtime, 'alice') },
        {
          type: 12,
          data: encodeUpnDnsInfo(
            'alice@example.test',
            'EXAMPLE.TEST',
            'alice',
            `${domainSid}-1105`,
          ),
        },
      ],
      serverKey,
      krbtgt,
    );

  test('a signed PAC puts SIDs, UPN and logon info on the principal', async () => {
    const { token } = forge({ ticketAuthorizationData: pacAuthorizationData(fullPac()) });
    const result = await accept(token);
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (!result.ok) return;
    const p = result.principal;
    assert.equal(p.userSid, `${domainSid}-1105`);
    assert.deepEqual(p.groupSids, [
      `${domainSid}-513`,
      `${domainSid}-1110`,
      'S-1-18-1',
      'S-1-5-21-9-8-7-2001',
    ]);
    assert.equal(p.upn, 'alice@example.test');
    assert.equal(p.dnsDomain, 'EXAMPLE.TEST');
    assert.equal(p.logonInfo?.logonDomainName, 'SAMDOM');
    assert.equal(p.logonInfo?.fullName, 'Alice Example');
    assert.equal(p.logonInfo?.primaryGroupSid, `${domainSid}-513`);
  });

  test('a tampered PAC (LOGON_INFO byte changed after signing) is refused', async () => {
    const pac = fullPac();
    // Change a group RID inside LOGON_INFO: the server signature no longer matches.
    const at = pac.indexOf(Buffer.from([0x56, 0x04, 0x00, 0x00])); // 1110 little-endian
    assert.ok(at > 0);
    pac[at] = 0x00; // RID 1110 -> 1024
    const { token } = forge({ ticketAuthorizationData: pacAuthorizationData(pac) });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_PAC_INVALID', undefined);
  });

  test('a PAC signed with another key is refused', async () => {
    const { token } = forge({
      ticketAuthorizationData: pacAuthorizationData(fullPac(randomKey(18))),
    });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_PAC_INVALID', undefined);
  });

  test('a PAC outside AD-IF-RELEVANT is refused', async () => {
    const { token } = forge({
      ticketAuthorizationData: [{ adType: AdType.WIN2K_PAC, adData: fullPac() }],
    });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_PAC_INVALID', undefined);
  });

  test('a PAC whose CLIENT_INFO names another authtime is refused', async () => {
    const pac = encodePac(
      [{ type: 10, data: encodeClientInfo(authtime - 60_000, 'alice') }],
      aes256,
      krbtgt,
    );
    const { token } = forge({ ticketAuthorizationData: pacAuthorizationData(pac) });
    await expectFailure(token, 'ERR_HTTPAUTH_KRB_PAC_INVALID', undefined);
  });

  test('a PAC without LOGON_INFO (MIT 1.20) is fine', async () => {
    const pac = encodePac(
      [{ type: 10, data: encodeClientInfo(authtime, 'alice') }],
      aes256,
      krbtgt,
    );
    const { token } = forge({ ticketAuthorizationData: pacAuthorizationData(pac) });
    const result = await accept(token);
    assert.equal(result.ok, true);
    if (result.ok) assert.equal(result.principal.groupSids, undefined);
  });
});

describe('keytab file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-keytab-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('read from a FILE: path and re-read when it changes (key rotation)', async () => {
    const path = join(dir, 'http.keytab');
    writeFileSync(
      path,
      encodeKeytab([
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes256 },
      ]),
    );
    const acceptor = new KerberosAcceptor({ keytab: `FILE:${path}` });
    const first = await acceptor.accept(forge().token, {
      store: new MemoryStore(),
      now: NOW,
      channelBinding: undefined,
    });
    assert.equal(first.ok, true);
    const rotated = randomKey(18);
    writeFileSync(
      `${path}.new`,
      encodeKeytab([
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes256 },
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 3, key: rotated },
      ]),
    );
    renameSync(`${path}.new`, path);
    // The stat check runs at most once a second of `now`.
    const second = await acceptor.accept(
      forge({ serviceKey: rotated, kvno: 3, ctime: NOW + 1000 }).token,
      {
        store: new MemoryStore(),
        now: NOW + 2000,
        channelBinding: undefined,
      },
    );
    assert.equal(second.ok, true, second.ok ? '' : second.error.code);
  });

  test('a missing keytab is ERR_HTTPAUTH_KEYTAB_INVALID', async () => {
    const acceptor = new KerberosAcceptor({ keytab: join(dir, 'absent.keytab') });
    const result = await acceptor.accept(forge().token, {
      store: new MemoryStore(),
      now: NOW,
      channelBinding: undefined,
    });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_KEYTAB_INVALID');
  });

  test('KRB5_KTNAME is the default location', async () => {
    const path = join(dir, 'env.keytab');
    writeFileSync(
      path,
      encodeKeytab([
        { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: aes256 },
      ]),
    );
    const saved = process.env.KRB5_KTNAME;
    process.env.KRB5_KTNAME = `FILE:${path}`;
    try {
      const acceptor = new KerberosAcceptor();
      const result = await acceptor.accept(forge().token, {
        store: new MemoryStore(),
        now: NOW,
        channelBinding: undefined,
      });
      assert.equal(result.ok, true);
    } finally {
      if (saved === undefined) delete process.env.KRB5_KTNAME;
      else process.env.KRB5_KTNAME = saved;
    }
  });

  test('invalid options are refused at construction', () => {
    assert.throws(() => new KerberosAcceptor({ keytab, clockSkewMs: -1 }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(() => new KerberosAcceptor({ keytab, principals: [] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    assert.throws(() => new KerberosAcceptor({ keytab: 'KEYRING:persistent' }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});

describe('captured MIT tokens (fixtures/kerberos/mit-tokens.json)', () => {
  const fixture = JSON.parse(
    readFileSync(new URL('./fixtures/kerberos/mit-tokens.json', import.meta.url), 'utf8'),
  ) as {
    capturedAt: number;
    keytab: string;
    channelBinding: string;
    tokens: Record<string, string>;
  };
  const mitKeytab = Keytab.parse(Buffer.from(fixture.keytab, 'base64'));
  const token = (name: string): Buffer => Buffer.from(fixture.tokens[name] as string, 'base64');
  const acceptAt = (t: Buffer, options: KerberosAcceptorOptions = {}, channelBinding?: Buffer) =>
    new KerberosAcceptor({ keytab: mitKeytab, ...options }).accept(t, {
      store: new MemoryStore(),
      now: fixture.capturedAt,
      channelBinding,
    });

  test('mutual token: alice, with an MIT 1.20 PAC (no LOGON_INFO) verified', async () => {
    const result = await acceptAt(token('mutual'));
    assert.equal(result.ok, true, result.ok ? '' : result.error.code);
    if (!result.ok) return;
    assert.equal(result.principal.name, 'alice@EXAMPLE.TEST');
    assert.equal(result.principal.groupSids, undefined);
  });

  test('delegation token carries the forwarded TGT', async () => {
    const result = await acceptAt(token('delegate'));
    assert.equal(result.ok, true);
    if (result.ok) assert.equal(result.delegatedCredential?.tickets.length, 1);
  });

  test('channel-bound token verifies under require', async () => {
    const cb = Buffer.from(fixture.channelBinding, 'hex');
    const result = await acceptAt(
      token('channelBound'),
      { channelBinding: { mode: 'require' } },
      cb,
    );
    assert.equal(result.ok, true);
    const wrong = await acceptAt(
      token('channelBound'),
      { channelBinding: { mode: 'require' } },
      Buffer.from('x'),
    );
    assert.equal(wrong.ok, false);
  });

  test('an hour after capture the authenticator is outside the skew', async () => {
    const result = await new KerberosAcceptor({ keytab: mitKeytab }).accept(token('mutual'), {
      store: new MemoryStore(),
      now: fixture.capturedAt + HOUR,
      channelBinding: undefined,
    });
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_SKEW');
  });
});

describe('fast-check: accept() never throws and never fails internally', () => {
  test('mutated, truncated and random tokens', async () => {
    const pac = encodePac(
      [
        {
          type: 1,
          data: encodeLogonInfo({
            effectiveName: 'a',
            domainSid: 'S-1-5-21-1-2-3',
            userId: 1000,
            primaryGroupId: 513,
            groupRids: [513],
            logonDomainName: 'D',
          }),
        },
        { type: 10, data: encodeClientInfo(NOW - HOUR, 'alice') },
      ],
      aes256,
      krbtgt,
    );
    const { token } = forge({ ticketAuthorizationData: pacAuthorizationData(pac) });
    const acceptor = new KerberosAcceptor({ keytab });
    const run = async (input: Buffer) => {
      const result = await acceptor.accept(input, {
        store: new MemoryStore(),
        now: NOW,
        channelBinding: undefined,
      });
      if (!result.ok) {
        assert.ok(result.error instanceof HttpAuthError);
        assert.notEqual(result.error.code, 'ERR_HTTPAUTH_INTERNAL');
      }
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: token.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        async (at, v) => {
          const m = Buffer.from(token);
          m[at] = v;
          await run(m);
        },
      ),
      { numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: token.length }), (n) => run(token.subarray(0, n))),
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), (b) => run(Buffer.from(b))),
      { numRuns: 300 },
    );
  });
});

describe('the clock value', () => {
  test('a fractional now (performance-style) still yields a KRB-ERROR token, no throw', async () => {
    const { token } = forge({ ctime: NOW - 400_000 });
    const result = await new KerberosAcceptor({ keytab }).accept(token, {
      store: new MemoryStore(),
      now: NOW + 0.25,
      channelBinding: undefined,
    });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.code, 'ERR_HTTPAUTH_KRB_SKEW');
    assert.equal(decodeKrbError(decodeGssToken(result.responseToken as Buffer).message).stime, NOW);
  });
});
