/**
 * Issue 12, Kerberos findings: what a ticket's cleartext and a trusted realm's PAC can and cannot
 * make the acceptor believe. Tickets are forged with keys the test holds (fixtures/kerberos/forge.ts).
 *
 *  - replay by rewriting the ticket's sname (keytabs with several names under one key);
 *  - the principals allowlist over names that share a key (a warning at keytab load);
 *  - realms: only local realms give a bare `user`;
 *  - PAC: SID filtering for other realms, group attributes and UserFlags, CLIENT_INFO name, UPN;
 *  - transited path without TRANSITED-POLICY-CHECKED, impossible times.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { KerberosAcceptor, type KerberosAcceptorOptions } from '../src/kerberos/acceptor.js';
import { decodeGssToken, encodeGssToken, TokenId } from '../src/kerberos/gss-token.js';
import { encodeKeytab, Keytab } from '../src/kerberos/keytab.js';
import { decodeApReq, encodeApReq } from '../src/kerberos/messages/ap-req.js';
import { TicketFlags } from '../src/kerberos/messages/enc-ticket-part.js';
import { decodeTransited } from '../src/kerberos/transited.js';
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
  type ForgeOptions,
  type LogonInfoSpec,
} from './fixtures/kerberos/forge.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const REALM = 'EXAMPLE.TEST';

// One machine key under every name of the host, as adcli / msktutil / `net ads keytab` write it.
const machineKey = randomKey(18);
const otherKey = randomKey(18);
const krbtgt = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: REALM, components: ['HTTP', 'web.example.test'], kvno: 2, key: machineKey },
    { realm: REALM, components: ['host', 'web.example.test'], kvno: 2, key: machineKey },
    { realm: REALM, components: ['WEB$'], kvno: 2, key: machineKey },
    { realm: REALM, components: ['HTTP', 'api.example.test'], kvno: 2, key: otherKey },
  ]),
);

function forge(overrides: Partial<ForgeOptions> = {}): ReturnType<typeof forgeApReq> {
  return forgeApReq({
    serviceKey: machineKey,
    kvno: 2,
    service: ['HTTP', 'web.example.test'],
    authtime: NOW - HOUR,
    endtime: NOW + 9 * HOUR,
    ctime: NOW - 2000,
    ...overrides,
  });
}

/** The same AP-REQ with the ticket's cleartext sname replaced. */
function withSname(token: Buffer, components: readonly string[]): Buffer {
  const apReq = decodeApReq(decodeGssToken(token).message);
  // Without `der` the ticket is re-encoded from its fields (encodeApReq reuses a decoded DER).
  const { der: original, ...ticket } = apReq.ticket;
  assert.ok(original.length > 0);
  return encodeGssToken(
    TokenId.AP_REQ,
    encodeApReq({
      apOptions: apReq.apOptions,
      ticket: { ...ticket, sname: { nameType: 2, components } },
      authenticator: apReq.authenticator,
    }),
  );
}

function acceptor(options: KerberosAcceptorOptions = {}): KerberosAcceptor {
  return new KerberosAcceptor({ keytab, ...options });
}

async function accept(
  token: Buffer,
  options: KerberosAcceptorOptions = {},
  store: KeyValueStore = new MemoryStore(),
) {
  return acceptor(options).accept(token, { store, now: NOW, channelBinding: undefined });
}

async function expectCode(
  token: Buffer,
  code: string,
  options: KerberosAcceptorOptions = {},
  store?: KeyValueStore,
): Promise<void> {
  const result = await accept(token, options, store);
  assert.equal(result.ok, false, 'accepted');
  if (!result.ok) assert.equal(result.error.code, code);
}

describe('replay by rewriting the ticket service name', () => {
  test('one captured AP-REQ is accepted once, whatever name the ticket is relabelled with', async () => {
    const { token } = forge();
    const store = new MemoryStore();
    const server = acceptor();
    const first = await server.accept(token, { store, now: NOW, channelBinding: undefined });
    assert.equal(first.ok, true);
    for (const alias of [['host', 'web.example.test'], ['WEB$'], ['HTTP', 'web.example.test']]) {
      const replay = await server.accept(withSname(token, alias), {
        store,
        now: NOW + 1000,
        channelBinding: undefined,
      });
      assert.equal(replay.ok, false, `replay as ${alias.join('/')} accepted`);
      if (!replay.ok) assert.equal(replay.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
    }
  });

  test('an allowlist that separates names sharing a key warns at keytab load', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', listener);
    try {
      acceptor({ principals: ['HTTP/web.example.test'] });
      acceptor({ principals: ['HTTP/api.example.test'] }); // its own key: nothing to say
      acceptor({ principals: ['HTTP/web.example.test', 'host/web.example.test', 'WEB$'] });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    assert.equal(warnings.length, 1);
    const [warning] = warnings;
    assert.equal((warning as Error & { code?: string }).code, 'HTTPAUTH_KEYTAB_SHARED_KEY');
    assert.match(warning!.message, /host\/web\.example\.test@EXAMPLE\.TEST/);
    assert.match(warning!.message, /WEB\$@EXAMPLE\.TEST/);
    assert.doesNotMatch(warning!.message, /api\.example\.test/);
  });

  test('names with their own key stay separate: a relabelled ticket does not decrypt', async () => {
    const { token } = forge();
    await expectCode(withSname(token, ['HTTP', 'api.example.test']), 'ERR_HTTPAUTH_KRB_MODIFIED', {
      principals: ['HTTP/api.example.test'],
    });
  });
});

describe('times and the transited path', () => {
  test('authtime after endtime is refused', async () => {
    const { token } = forge({
      authtime: NOW + 2 * HOUR,
      starttime: NOW - HOUR,
      endtime: NOW + HOUR,
    });
    await expectCode(token, 'ERR_HTTPAUTH_KRB_TIMES_INVALID');
  });

  test('starttime after endtime is refused', async () => {
    const { token } = forge({ starttime: NOW + 4 * 60_000, endtime: NOW + 60_000 });
    await expectCode(token, 'ERR_HTTPAUTH_KRB_TIMES_INVALID');
  });

  test('a KerberosTime before 1970, or with a two-digit-looking year, is malformed', async () => {
    const year50 = new Date(NOW - HOUR);
    year50.setUTCFullYear(50); // encodes as 0050..., which Date.UTC would read as 1950
    for (const authtime of [Date.UTC(1969, 11, 31, 23, 0, 0), year50.getTime()]) {
      const { token } = forge({ authtime });
      await expectCode(token, 'ERR_HTTPAUTH_ASN1_MALFORMED');
    }
  });

  test('a transited path without TRANSITED-POLICY-CHECKED is refused; checked, accepted', async () => {
    const transited = { trType: 1, contents: Buffer.from('MIDDLE.TEST,') };
    const unchecked = forge({ clientRealm: 'PARTNER.TEST', transited });
    await expectCode(unchecked.token, 'ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED');
    const checked = forge({
      clientRealm: 'PARTNER.TEST',
      transited,
      ticketFlags: TicketFlags.PRE_AUTHENT | TicketFlags.TRANSITED_POLICY_CHECKED,
    });
    assert.equal((await accept(checked.token)).ok, true);
  });

  test('an unchecked path passes only when every realm on it is in transitedRealms', async () => {
    // "EDU,MIT." is EDU and MIT.EDU (RFC 4120 §3.3.3.2 domain-style compression).
    const transited = { trType: 1, contents: Buffer.from('EDU,MIT.') };
    const options = { transitedRealms: ['EDU', 'MIT.EDU'] };
    assert.equal(
      (await accept(forge({ clientRealm: 'PARTNER.TEST', transited }).token, options)).ok,
      true,
    );
    for (const trusted of [['EDU'], ['MIT.EDU'], ['EDU', 'MIT']]) {
      const { token } = forge({ clientRealm: 'PARTNER.TEST', transited });
      await expectCode(token, 'ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED', { transitedRealms: trusted });
    }
    // Another encoding type, and the hierarchical shorthand (",,"), cannot be checked.
    for (const odd of [
      { trType: 2, contents: Buffer.from('EDU') },
      { trType: 1, contents: Buffer.from('EDU,,MIT.') },
    ]) {
      const { token } = forge({ clientRealm: 'PARTNER.TEST', transited: odd });
      await expectCode(token, 'ERR_HTTPAUTH_KRB_TRANSITED_UNCHECKED', options);
    }
  });

  test('the DOMAIN-X500-COMPRESS decoder follows RFC 4120 §3.3.3.2', () => {
    const decode = (text: string) => decodeTransited(Buffer.from(text));
    assert.deepEqual(decode('EDU,MIT.,ATHENA.,WASHINGTON.EDU,CS.'), [
      'EDU',
      'MIT.EDU',
      'ATHENA.MIT.EDU',
      'WASHINGTON.EDU',
      'CS.WASHINGTON.EDU',
    ]);
    assert.deepEqual(decode('/COM,/HP,/APOLLO, /COM/DEC'), [
      '/COM',
      '/COM/HP',
      '/COM/HP/APOLLO',
      '/COM/DEC',
    ]);
    assert.deepEqual(decode('A\\,B,C'), ['A,B', 'C']);
    for (const shorthand of [',EDU', 'EDU,', 'EDU,,MIT.', 'MIT.', 'EDU\\']) {
      assert.equal(decode(shorthand), undefined, shorthand);
    }

    // Random and truncated input: a list of non-empty names or undefined, never a throw.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const realms = decodeTransited(Buffer.from(bytes));
        return realms === undefined || realms.every((r) => typeof r === 'string' && r !== '');
      }),
      { numRuns: 500 },
    );
  });
});

describe('local realms', () => {
  test('a client of the keytab realm has a bare user; any other realm keeps its full name', async () => {
    const local = await accept(forge().token);
    assert.ok(local.ok);
    assert.equal(local.principal.user, 'alice');
    assert.equal(local.principal.localRealm, true);
    const partner = await accept(forge({ clientRealm: 'PARTNER.TEST' }).token);
    assert.ok(partner.ok);
    assert.equal(partner.principal.name, 'alice@PARTNER.TEST');
    assert.equal(partner.principal.user, 'alice@PARTNER.TEST');
    assert.equal(partner.principal.localRealm, false);
  });

  test('localRealms replaces the default and compares exactly', async () => {
    const options = { localRealms: ['PARTNER.TEST'] };
    const partner = await accept(forge({ clientRealm: 'PARTNER.TEST' }).token, options);
    assert.ok(partner.ok);
    assert.equal(partner.principal.user, 'alice');
    const home = await accept(forge().token, options);
    assert.ok(home.ok);
    assert.equal(home.principal.user, 'alice@EXAMPLE.TEST');
    const folded = await accept(forge({ clientRealm: 'partner.test' }).token, options);
    assert.ok(folded.ok);
    assert.equal(folded.principal.user, 'alice@partner.test');
    assert.throws(() => acceptor({ localRealms: [''] }), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
  });
});

describe('PAC of a client of another realm, and PAC consistency', () => {
  const partnerSid = 'S-1-5-21-7-8-9';
  const ourSid = 'S-1-5-21-1111-2222-3333';
  const authtime = NOW - HOUR;
  const baseSpec: LogonInfoSpec = {
    effectiveName: 'alice',
    domainSid: partnerSid,
    userId: 1105,
    primaryGroupId: 513,
    groupRids: [513, 1110],
    logonDomainName: 'PARTNER',
    // SID history naming our Domain Admins, a builtin and a well-known SID, one of its own.
    extraSids: [`${ourSid}-512`, 'S-1-5-32-544', 'S-1-5-9', `${partnerSid}-1200`],
    resourceDomainSid: ourSid,
    resourceGroupRids: [519],
  };
  const pacFor = (
    spec: LogonInfoSpec,
    clientName = 'alice',
    upn = encodeUpnDnsInfo('alice@partner.test', 'PARTNER.TEST'),
  ): ReturnType<typeof pacAuthorizationData> =>
    pacAuthorizationData(
      encodePac(
        [
          { type: 1, data: encodeLogonInfo(spec) },
          { type: 10, data: encodeClientInfo(authtime, clientName) },
          { type: 12, data: upn },
        ],
        machineKey,
        krbtgt,
      ),
    );

  test('only SIDs of the issuing domain pass from another realm (MS-PAC §4.1.2.2)', async () => {
    const { token } = forge({
      clientRealm: 'PARTNER.TEST',
      ticketAuthorizationData: pacFor(baseSpec),
    });
    const result = await accept(token);
    assert.ok(result.ok, result.ok ? '' : result.error.code);
    assert.equal(result.principal.userSid, `${partnerSid}-1105`);
    assert.deepEqual(result.principal.groupSids, [
      `${partnerSid}-513`,
      `${partnerSid}-1110`,
      `${partnerSid}-1200`,
    ]);
  });

  test('a foreign PAC whose LogonDomainId is not an account domain yields no SIDs', async () => {
    const spec = { ...baseSpec, domainSid: 'S-1-5-32' };
    const { token } = forge({ clientRealm: 'PARTNER.TEST', ticketAuthorizationData: pacFor(spec) });
    const result = await accept(token);
    assert.ok(result.ok);
    assert.equal(result.principal.userSid, undefined);
    assert.deepEqual(result.principal.groupSids, []);
    assert.equal(result.principal.logonInfo?.primaryGroupSid, undefined);
  });

  test('a local realm keeps extra SIDs and resource groups the UserFlags announce', async () => {
    const spec = { ...baseSpec, domainSid: ourSid, logonDomainName: 'EXAMPLE' };
    const { token } = forge({
      ticketAuthorizationData: pacFor(spec, 'alice', encodeUpnDnsInfo('', '')),
    });
    const result = await accept(token);
    assert.ok(result.ok);
    assert.deepEqual(result.principal.groupSids, [
      `${ourSid}-513`,
      `${ourSid}-1110`,
      `${ourSid}-512`,
      'S-1-5-32-544',
      'S-1-5-9',
      `${partnerSid}-1200`,
      `${ourSid}-519`,
    ]);
  });

  test('extra SIDs and resource groups without their UserFlags bit do not count', async () => {
    const spec = { ...baseSpec, domainSid: ourSid, userFlags: 0 };
    const { token } = forge({ ticketAuthorizationData: pacFor(spec) });
    const result = await accept(token);
    assert.ok(result.ok);
    assert.deepEqual(result.principal.groupSids, [`${ourSid}-513`, `${ourSid}-1110`]);
  });

  test('disabled and deny-only groups do not count (SE_GROUP_ENABLED, USE_FOR_DENY_ONLY)', async () => {
    for (const attributes of [0x3, 0x7 | 0x10]) {
      const spec = {
        ...baseSpec,
        domainSid: ourSid,
        groupAttributes: attributes,
        extraSidAttributes: attributes,
        resourceGroupAttributes: attributes,
      };
      const { token } = forge({ ticketAuthorizationData: pacFor(spec) });
      const result = await accept(token);
      assert.ok(result.ok);
      assert.deepEqual(result.principal.groupSids, [], `attributes ${attributes}`);
    }
  });

  test('a PAC whose CLIENT_INFO names another client is refused', async () => {
    const spec = { ...baseSpec, domainSid: ourSid };
    const { token } = forge({ ticketAuthorizationData: pacFor(spec, 'administrator') });
    await expectCode(token, 'ERR_HTTPAUTH_KRB_PAC_CLIENT_MISMATCH');
  });

  test('the UPN is kept only when not constructed and in the client realm', async () => {
    const spec = { ...baseSpec, domainSid: ourSid };
    const cases: [Buffer, string | undefined][] = [
      [encodeUpnDnsInfo('alice@example.test', 'EXAMPLE.TEST'), 'alice@example.test'],
      [encodeUpnDnsInfo('alice@example.test', 'EXAMPLE.TEST', 'alice', undefined, true), undefined],
      [encodeUpnDnsInfo('bob@partner.test', 'EXAMPLE.TEST'), undefined],
      [encodeUpnDnsInfo('bob', 'EXAMPLE.TEST'), undefined],
    ];
    for (const [upn, expected] of cases) {
      const { token } = forge({ ticketAuthorizationData: pacFor(spec, 'alice', upn) });
      const result = await accept(token);
      assert.ok(result.ok);
      assert.equal(result.principal.upn, expected);
    }
  });
});
