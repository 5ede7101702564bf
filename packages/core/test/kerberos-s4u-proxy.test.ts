/**
 * S4U2Proxy's request (MS-SFU §3.2.5.2, MS-KILE §2.2.10), the Kerberos initiator's mutual
 * authentication (RFC 4120 §3.2.5) against our own acceptor's AP-REP, the Negotiate challenge
 * parser, and constrained delegation's local refusals (before any KDC request). The real KDC
 * runs are in test/delegation-samba-e2e.test.ts.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { contextFields, decodeDer, readKerberosFlags, Tag, type DerNode } from '../src/asn1/der.js';
import { createImpersonation } from '../src/impersonation/policy.js';
import { ConstrainedDelegation, TicketCache } from '../src/impersonation/constrained-delegation.js';
import { negotiateToken, serviceForUrl } from '../src/impersonation/negotiate-fetch.js';
import { establishContext } from '../src/kerberos/ap-reply.js';
import type { ClientTicket } from '../src/kerberos/client/as-exchange.js';
import { initiateContext } from '../src/kerberos/client/initiator.js';
import { KdcOptions } from '../src/kerberos/client/kdc-req-body.js';
import { decodeKdcReq, MSG_TYPE_TGS_REQ } from '../src/kerberos/client/kdc-req.js';
import {
  encodePaPacOptions,
  PA_PAC_OPTIONS,
  PacOptions,
  requestS4u2Proxy,
} from '../src/kerberos/client/s4u2proxy.js';
import { encryptionProfile, EncType, KeyUsage, makeKey } from '../src/kerberos/crypto/index.js';
import { GssFlags } from '../src/kerberos/gss-checksum.js';
import { decodeGssToken, encodeGssToken, KRB5_OID, TokenId } from '../src/kerberos/gss-token.js';
import { decodeKerberosAuthenticator } from '../src/kerberos/messages/ap-authenticator.js';
import { decodeApReq } from '../src/kerberos/messages/ap-req.js';
import { encodeKrbError } from '../src/kerberos/messages/krb-error.js';
import { NameType } from '../src/kerberos/messages/principal-name.js';
import { decodeTicket, encodeTicket } from '../src/kerberos/messages/ticket.js';
import { delegationWithoutKdc } from './fixtures/kerberos/delegation-service.js';

const REALM = 'EXAMPLE.TEST';
const sessionKey = makeKey(EncType.AES256_CTS_HMAC_SHA1_96, randomBytes(32));
const service = { nameType: NameType.SRV_INST, components: ['HTTP', 'api.example.test'] };
const ticket = decodeTicket(
  encodeTicket({
    realm: REALM,
    sname: service,
    encPart: { etype: EncType.AES256_CTS_HMAC_SHA1_96, kvno: 2, cipher: randomBytes(64) },
  }),
);
const alice = { nameType: NameType.PRINCIPAL, components: ['alice'] };
const serviceTgt = {
  crealm: REALM,
  cname: { nameType: NameType.PRINCIPAL, components: ['websvc'] },
  ticket,
  sessionKey,
  part: { endtime: Date.now() + 3600_000 },
} as unknown as ClientTicket;

describe('PA-PAC-OPTIONS and the S4U2Proxy request', () => {
  test('PA-PAC-OPTIONS carries the resource-based-constrained-delegation bit (bit 3)', () => {
    const node = decodeDer(
      encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION),
      Tag.SEQUENCE,
    );
    const flags = readKerberosFlags(contextFields(node, 0, [0])[0] as DerNode);
    assert.equal(flags, 0x10000000);
  });

  test('the TGS-REQ: evidence in additional-tickets, cname-in-addl-tkt, PA-PAC-OPTIONS; BADOPTION -> DELEGATION_REFUSED', async () => {
    const sent: Buffer[] = [];
    await assert.rejects(
      requestS4u2Proxy({
        serviceTgt,
        evidence: { ticket, forwardable: true, cname: alice, crealm: REALM },
        target: service,
        etypes: [EncType.AES256_CTS_HMAC_SHA1_96],
        now: Date.now,
        send: async (request) => {
          sent.push(request);
          return encodeKrbError({
            stime: Date.now() - (Date.now() % 1000),
            susec: 0,
            errorCode: 13,
            realm: REALM,
            sname: service,
          });
        },
      }),
      (error: { code: string; reason: string }) =>
        error.code === 'ERR_HTTPAUTH_DELEGATION_REFUSED' && /BADOPTION/.test(error.reason),
    );
    assert.equal(sent.length, 1);
    const request = decodeKdcReq(sent[0] as Buffer, MSG_TYPE_TGS_REQ);
    assert.equal(
      request.body.kdcOptions & KdcOptions.CNAME_IN_ADDL_TKT,
      KdcOptions.CNAME_IN_ADDL_TKT,
    );
    assert.equal(request.body.kdcOptions & KdcOptions.FORWARDABLE, KdcOptions.FORWARDABLE);
    assert.deepEqual(request.body.additionalTickets[0]?.der, ticket.der);
    assert.deepEqual(request.body.sname?.components, ['HTTP', 'api.example.test']);
    const pacOptions = request.padata.find((pa) => pa.type === PA_PAC_OPTIONS);
    assert.deepEqual(
      pacOptions?.value,
      encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION),
    );
  });

  test('a non-forwardable evidence ticket is refused before the KDC is asked', async () => {
    let asked = false;
    await assert.rejects(
      requestS4u2Proxy({
        serviceTgt,
        evidence: { ticket, forwardable: false, cname: alice, crealm: REALM },
        target: service,
        etypes: [EncType.AES256_CTS_HMAC_SHA1_96],
        now: Date.now,
        send: async () => {
          asked = true;
          return Buffer.alloc(0);
        },
      }),
      { code: 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE' },
    );
    assert.equal(asked, false);
  });
});

/** Our acceptor's answer to an initiator token (kerberos/ap-reply.ts). */
function acceptorReply(token: Buffer, mutate?: (apRep: Buffer) => Buffer): Buffer {
  const apReq = decodeApReq(decodeGssToken(token).message);
  const profile = encryptionProfile(sessionKey.enctype)!;
  const authenticator = decodeKerberosAuthenticator(
    profile.decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher),
  );
  const established = establishContext(
    apReq,
    authenticator,
    sessionKey,
    GssFlags.MUTUAL,
    KRB5_OID,
    () => {},
  );
  const reply = established.responseToken!;
  if (mutate === undefined) return reply;
  return encodeGssToken(TokenId.AP_REP, mutate(decodeGssToken(reply).message), KRB5_OID);
}

describe('the initiator: mutual authentication', () => {
  const credential = { ticket, sessionKey, cname: alice, crealm: REALM };

  test("our acceptor's AP-REP verifies; the context key is the acceptor's subkey", () => {
    const context = initiateContext(credential, Date.now());
    const key = context.verifyReply(acceptorReply(context.token));
    assert.equal(key.enctype, sessionKey.enctype);
    assert.notDeepEqual(key.bytes, sessionKey.bytes);
  });

  test('an AP-REP for another authenticator, a flipped byte, a KRB-ERROR: MUTUAL_AUTH_FAILED', () => {
    const first = initiateContext(credential, Date.now() - 5000);
    const second = initiateContext(credential, Date.now());
    assert.throws(() => second.verifyReply(acceptorReply(first.token)), {
      code: 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED',
    });
    const flipped = acceptorReply(second.token, (apRep) => {
      const copy = Buffer.from(apRep);
      copy[copy.length - 3] = (copy[copy.length - 3] as number) ^ 0x01;
      return copy;
    });
    assert.throws(() => second.verifyReply(flipped), { code: 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED' });
    const krbError = encodeGssToken(
      TokenId.KRB_ERROR,
      encodeKrbError({ stime: 0, susec: 0, errorCode: 41, realm: REALM, sname: service }),
    );
    assert.throws(() => second.verifyReply(krbError), { code: 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED' });
  });

  test('random bytes as the reply never verify and never throw anything but MUTUAL_AUTH_FAILED', () => {
    const context = initiateContext(credential, Date.now());
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.throws(() => context.verifyReply(Buffer.from(bytes)), {
          code: 'ERR_HTTPAUTH_MUTUAL_AUTH_FAILED',
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('the Negotiate challenge and the SPN of a URL', () => {
  test('the token of a Negotiate challenge among others; none, garbage and oversized: undefined', () => {
    assert.deepEqual(
      negotiateToken('Negotiate oRQwEqADCgEAoQsGCSqGSIb3EgECAg=='),
      Buffer.from('oRQwEqADCgEAoQsGCSqGSIb3EgECAg==', 'base64'),
    );
    assert.deepEqual(negotiateToken('Basic realm="x", Negotiate YWJj'), Buffer.from('abc'));
    assert.equal(negotiateToken('Negotiate'), undefined);
    assert.equal(negotiateToken(null), undefined);
    assert.equal(negotiateToken(`Negotiate ${'A'.repeat(70_000)}`), undefined);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const token = negotiateToken(text);
        assert.ok(token === undefined || Buffer.isBuffer(token));
      }),
    );
  });

  test('HTTP/<host> from the URL, or the service given', () => {
    assert.equal(
      serviceForUrl(new URL('https://API.Example.test:8443/x'), undefined),
      'HTTP/api.example.test',
    );
    assert.equal(
      serviceForUrl(new URL('http://127.0.0.1/'), 'HTTP/db.example.test'),
      'HTTP/db.example.test',
    );
  });
});

describe('constrained delegation: options and the local allow list', () => {
  // A request to the unreachable KDC would fail, but none must be made.
  const options = delegationWithoutKdc(REALM, [
    'HTTP/api.example.test',
    'MSSQLSvc/db.example.test:1433@EXAMPLE.TEST',
  ]);

  test('a backend not in allowedServices is refused with no KDC request; the list ignores case', async () => {
    const delegation = new ConstrainedDelegation(options);
    const alicePrincipal = { name: `alice@${REALM}`, user: 'alice', mechanism: 'NTLM' } as const;
    await assert.rejects(delegation.ticketFor(alicePrincipal, 'HTTP/other.example.test'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    await assert.rejects(delegation.ticketFor(alicePrincipal, 'HTTP/api.example.test@OTHER.TEST'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    assert.equal(delegation.kdcRequests, 0);
    assert.deepEqual(delegation.checkService('http/API.example.test').components, [
      'http',
      'API.example.test',
    ]);
    assert.ok(delegation.checkService('MSSQLSvc/db.example.test:1433'));
  });

  test('invalid options are refused at start-up', () => {
    for (const bad of [
      { ...options, allowedServices: [] },
      { ...options, allowedServices: ['not-an-spn'] },
      { ...options, realm: '' },
      { ...options, accountName: 'a b' },
    ]) {
      assert.throws(() => new ConstrainedDelegation(bad), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    }
    // Delegation is asked for twice: constrainedDelegation needs maxLevel 'delegate'.
    assert.throws(() => createImpersonation({ constrainedDelegation: options }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
  });
});

describe("constrainedDelegation: { localUser: 'optional' }: network delegation without a local user", () => {
  const delegation = delegationWithoutKdc(REALM, ['HTTP/api.example.test']);
  const nobodyHere = { lookup: async () => undefined };
  const policy = (localUser: 'required' | 'optional', allow: { principals?: string[] }) =>
    createImpersonation({
      maxLevel: 'delegate',
      allow,
      userDatabase: nobodyHere,
      constrainedDelegation: { ...delegation, localUser },
    });
  const alicePrincipal = { name: `alice@${REALM}`, user: 'alice', mechanism: 'Kerberos' } as const;

  test('an allowed principal with no local user: delegate, fetch asks S4U, acting members refuse', async () => {
    const factory = policy('optional', { principals: [`alice@${REALM}`] });
    const context = await factory(alicePrincipal, undefined);
    assert.equal(context.level, 'delegate');
    assert.equal(context.posix, undefined);
    assert.deepEqual(context.toJSON(), {
      level: 'delegate',
      delegated: true,
      localUser: false,
      reason: 'unmapped',
    });
    assert.throws(() => context.spawn!('true'), { code: 'ERR_HTTPAUTH_IMPERSONATION_UNMAPPED' });
    await assert.rejects(context.fetch!('https://other.example.test/'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    assert.equal(factory.constrainedDelegation?.kdcRequests, 0);
    // An allowed backend is asked for: the (absent) KDC answers, so the KDC is unavailable.
    await assert.rejects(context.fetch!('https://api.example.test/'), {
      code: 'ERR_HTTPAUTH_KDC_UNAVAILABLE',
    });
    await context.dispose();
    await assert.rejects(context.fetch!('https://api.example.test/'), {
      code: 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
    });
    await factory.close();
  });

  test("not allowed, or localUser 'required' (the default): identify, fetch refused", async () => {
    for (const factory of [
      policy('optional', { principals: ['bob@EXAMPLE.TEST'] }),
      policy('required', { principals: [`alice@${REALM}`] }),
    ]) {
      const context = await factory(alicePrincipal, undefined);
      assert.equal(context.level, 'identify');
      await assert.rejects(context.fetch!('https://api.example.test/'), (error: { code: string }) =>
        /^ERR_HTTPAUTH_IMPERSONATION_(UNMAPPED|DENIED)$/.test(error.code),
      );
      assert.equal(factory.constrainedDelegation?.kdcRequests, 0);
      await factory.close();
    }
  });
});

describe('the S4U ticket cache', () => {
  test('reused while more than a minute is left, loaded again near the end; one load for concurrent callers', async () => {
    const cache = new TicketCache<string>(10);
    let loads = 0;
    const now = 1_000_000;
    const load = (endtime: number) => async () => {
      loads += 1;
      return { value: `ticket${loads}`, endtime };
    };
    const [a, b] = await Promise.all([
      cache.get('alice', now, load(now + 3600_000)),
      cache.get('alice', now, load(now + 3600_000)),
    ]);
    assert.equal(a, 'ticket1');
    assert.equal(b, 'ticket1');
    assert.equal(loads, 1);
    assert.equal(await cache.get('alice', now + 3600_000 - 61_000, load(now)), 'ticket1');
    // 59 s before its end the ticket is not handed out any more: a new one is fetched.
    assert.equal(
      await cache.get('alice', now + 3600_000 - 59_000, load(now + 7200_000)),
      'ticket2',
    );
    assert.equal(loads, 2);
  });

  test('bounded: the least recently used entry goes first; a failed load is not cached', async () => {
    const cache = new TicketCache<string>(2);
    const now = 0;
    const ok = (value: string) => async () => ({ value, endtime: 3600_000 });
    await cache.get('a', now, ok('A'));
    await cache.get('b', now, ok('B'));
    await cache.get('a', now, ok('A2')); // a is now the most recent
    await cache.get('c', now, ok('C')); // evicts b
    assert.equal(cache.size, 2);
    assert.equal(await cache.get('a', now, ok('A3')), 'A');
    assert.equal(await cache.get('b', now, ok('B2')), 'B2');
    await assert.rejects(
      cache.get('d', now, async () => {
        throw new Error('KDC down');
      }),
      /KDC down/,
    );
    assert.equal(await cache.get('d', now, ok('D')), 'D');
  });
});
