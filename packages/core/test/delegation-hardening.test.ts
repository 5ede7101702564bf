/**
 * The delegation review's regressions: where a delegated ticket may go (the URL's host, https,
 * never a TGS), the forwarded TGT's allow list, ticket end times judged by the clock, one KDC
 * sender with failover state and a bounded wait, PBKDF2 off the event loop, and exact realms for
 * Kerberos principals. The fake KDC is fixtures/kerberos/fake-kdc.ts; real KDCs run in test/.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type AddressInfo, type Socket as TcpSocket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  ConstrainedDelegation,
  TRANSITION_LOCAL_LOGONS_WARNING,
} from '../src/impersonation/constrained-delegation.js';
import { checkPolicy, type ImpersonationPolicy } from '../src/impersonation/policy-options.js';
import { delegationMembers } from '../src/impersonation/delegation-members.js';
import {
  forwardedTgtMembers,
  forwardedTgtSettings,
  type ForwardedTgtSettings,
} from '../src/impersonation/forwarded-fetch.js';
import { INSECURE_DELEGATED_FETCH_WARNING } from '../src/impersonation/negotiate-fetch.js';
import type { Ccache } from '../src/kerberos/ccache.js';
import { passwordKeys, requestInitialTicket } from '../src/kerberos/client/as-exchange.js';
import { kdcSender } from '../src/kerberos/client/kdc-sender.js';
import { exchangeTcp } from '../src/kerberos/client/kdc-transport.js';
import { PBKDF2_CONCURRENCY, pbkdf2InFlight } from '../src/kerberos/crypto/string-to-key.js';
import { encryptionProfile, EncType, makeKey } from '../src/kerberos/crypto/index.js';
import { NameType } from '../src/kerberos/messages/principal-name.js';
import { MSG_TYPE_TGS_REQ } from '../src/kerberos/client/kdc-req.js';
import { delegationWithoutKdc } from './fixtures/kerberos/delegation-service.js';
import { startFakeKdc } from './fixtures/kerberos/fake-kdc.js';

const REALM = 'EXAMPLE.TEST';
const AES256 = EncType.AES256_CTS_HMAC_SHA1_96;
const aliceKey = encryptionProfile(AES256)!.stringToKey('alice pw', `${REALM}alice`);
const serviceKeys = new Map(
  ['HTTP/api.example.test', 'HTTP/db.example.test', 'HTTP/localhost', 'HTTP/127.0.0.1'].map(
    (spn) => [`${spn}@${REALM}`, makeKey(AES256, randomBytes(32))] as const,
  ),
);
const kdc = startFakeKdc({
  realm: REALM,
  users: new Map([
    [
      `alice@${REALM}`,
      {
        key: aliceKey,
        etypeInfo: { etype: AES256, salt: `${REALM}alice`, s2kparams: undefined },
        requirePreauth: true,
      },
    ],
  ]),
  krbtgtKey: makeKey(AES256, randomBytes(32)),
  serviceKeys,
});
const tgsRequests = (): number => kdc.requests.filter((r) => r.msgType === MSG_TYPE_TGS_REQ).length;

/** Alice's TGT from the fake KDC, as the ccache a forwarded KRB-CRED becomes. */
async function aliceCcache(): Promise<Ccache> {
  const alice = { nameType: NameType.PRINCIPAL, components: ['alice'] };
  const tgt = await requestInitialTicket({
    realm: REALM,
    cname: alice,
    key: passwordKeys('alice pw'),
    etypes: [AES256],
    send: (request) => kdc.send(request),
    now: Date.now,
    lifetimeMs: 3600_000,
  });
  const client = { nameType: NameType.PRINCIPAL, realm: REALM, components: ['alice'] };
  const s = (ms: number | undefined): number => (ms === undefined ? 0 : Math.floor(ms / 1000));
  return {
    defaultPrincipal: client,
    credentials: [
      {
        client,
        server: { nameType: NameType.SRV_INST, realm: REALM, components: ['krbtgt', REALM] },
        key: { enctype: tgt.part.key.keytype, value: tgt.part.key.keyvalue },
        authTime: s(tgt.part.authtime),
        startTime: s(tgt.part.authtime),
        endTime: s(tgt.part.endtime),
        renewTill: 0,
        isSkey: false,
        flags: 0,
        addresses: [],
        authData: [],
        ticket: tgt.ticket.der,
        secondTicket: Buffer.alloc(0),
      },
    ],
  };
}

function forwarded(ccache: Ccache, settings: ForwardedTgtSettings) {
  const written: Ccache[] = [];
  const members = forwardedTgtMembers({
    ccache,
    live: () => {},
    writeCcache: async (cache) => {
      written.push(cache);
      return `/nonexistent/cc${written.length}`;
    },
    settings,
  });
  assert.ok(members);
  return { members, written };
}

const fakeSettings = (
  extra: Partial<ForwardedTgtSettings> = {},
  allowedServices?: string[],
): ForwardedTgtSettings => ({
  ...forwardedTgtSettings(allowedServices === undefined ? {} : { allowedServices }),
  sendTo: async (_realm, request) => kdc.send(request),
  ...extra,
});

describe('where a delegated ticket may go', () => {
  // A request to the unreachable KDC fails, so kdcRequests shows whether one was made.
  const options = delegationWithoutKdc(REALM, ['HTTP/api.example.test', 'HTTP/db.example.test']);
  const s4u = () => new ConstrainedDelegation({ ...options, timeoutMs: 200 });
  const alice = { name: `alice@${REALM}`, user: 'alice', mechanism: 'NTLM' } as const;
  const s4uMembers = (delegation: ConstrainedDelegation) =>
    delegationMembers({
      principal: alice,
      delegation,
      live: () => {},
      writeCcache: async () => '/nonexistent',
    });

  test('S4U: a ticket for one allowed backend is never sent to another host', async () => {
    const delegation = s4u();
    const members = s4uMembers(delegation);
    for (const url of ['https://evil.example.test/', 'https://db.example.test/']) {
      await assert.rejects(members.fetch(url, { service: 'HTTP/api.example.test' }), {
        code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
      });
    }
    assert.equal(delegation.kdcRequests, 0);
    // Named explicitly, the mismatch is the caller's choice: the KDC is asked.
    await assert.rejects(
      members.fetch('https://lb.example.test/', {
        service: 'HTTP/api.example.test',
        allowServiceHostMismatch: true,
      }),
      { code: 'ERR_HTTPAUTH_KDC_UNAVAILABLE' },
    );
    assert.ok(delegation.kdcRequests > 0);
  });

  test('S4U: plain http: only to loopback, or with allowInsecureHttp (warned once)', async () => {
    const delegation = s4u();
    const members = s4uMembers(delegation);
    await assert.rejects(members.fetch('http://api.example.test/'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    await assert.rejects(members.fetch('ftp://api.example.test/'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    await assert.rejects(members.fetch('not a url'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    assert.equal(delegation.kdcRequests, 0);
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          members.fetch('http://api.example.test/', { allowInsecureHttp: true }),
          { code: 'ERR_HTTPAUTH_KDC_UNAVAILABLE' },
        );
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, [INSECURE_DELEGATED_FETCH_WARNING]);
  });

  test('S4U: krbtgt is never an allowed service; the realm of a Kerberos principal is exact', () => {
    assert.throws(
      () =>
        new ConstrainedDelegation({
          ...options,
          allowedServices: ['HTTP/api.example.test', 'krbtgt/OTHER.TEST'],
        }),
      { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
    );
    const delegation = s4u();
    // MIT realms are case-sensitive: alice@example.test is someone else's alice.
    assert.throws(
      () =>
        delegation.userName({
          name: 'alice@example.test',
          user: 'alice@example.test',
          mechanism: 'Kerberos',
        }),
      { code: 'ERR_HTTPAUTH_DELEGATION_REFUSED' },
    );
    assert.deepEqual(
      // A typed UPN suffix (a password the KDC checked, so realm is the Kerberos realm): any case.
      delegation.userName({
        name: 'alice@example.test',
        user: 'alice@example.test',
        realm: REALM,
        mechanism: 'Basic',
      }).components,
      ['alice'],
    );
  });

  test('forwarded TGT: no TGS (krbtgt/...) ticket, any realm or case; host-bound fetch', async () => {
    const ccache = await aliceCcache();
    const before = tgsRequests();
    const { members } = forwarded(ccache, fakeSettings());
    for (const service of ['krbtgt/OTHER.TEST', `krbtgt/${REALM}@${REALM}`, 'KRBTGT/OTHER.TEST']) {
      await assert.rejects(members.credentialCacheFor(service), {
        code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
      });
    }
    await assert.rejects(members.fetch('https://evil.example.test/', { service: 'krbtgt/X' }), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    await assert.rejects(
      members.fetch('https://evil.example.test/', { service: 'HTTP/api.example.test' }),
      { code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED' },
    );
    await assert.rejects(members.fetch('http://api.example.test/'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    assert.equal(tgsRequests(), before);
  });

  test('forwarded TGT: forwardedTgt.allowedServices (patterns) rules credentialCacheFor and fetch', async () => {
    const ccache = await aliceCcache();
    const before = tgsRequests();
    const { members, written } = forwarded(ccache, fakeSettings({}, ['http/*.EXAMPLE.test']));
    await members.credentialCacheFor('HTTP/api.example.test');
    assert.equal(written.length, 1);
    await assert.rejects(members.credentialCacheFor('MSSQLSvc/db.example.test:1433'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    await assert.rejects(members.credentialCacheFor('HTTP/a/b.example.test'), {
      code: 'ERR_HTTPAUTH_DELEGATION_TARGET_NOT_ALLOWED',
    });
    assert.equal(tgsRequests(), before + 1);
    for (const bad of [[], ['krbtgt/*'], ['HTTP'], [''], 'HTTP/x']) {
      assert.throws(() => forwardedTgtSettings({ allowedServices: bad as string[] }), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
    assert.throws(() => forwardedTgtSettings({ kdcs: ['127.0.0.1'] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    // An allow list that would mean nothing is refused: below delegate, or beside S4U.
    for (const policy of [
      { forwardedTgt: { allowedServices: ['HTTP/*'] } },
      { maxLevel: 'impersonate' as const, forwardedTgt: {} },
      {
        maxLevel: 'delegate' as const,
        forwardedTgt: { allowedServices: ['HTTP/*'] },
        constrainedDelegation: { realm: REALM, keytab: 'x', allowedServices: ['HTTP/a'] },
      },
    ]) {
      assert.throws(() => checkPolicy(policy as ImpersonationPolicy), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
  });
});

describe('protocol transition only for logons the directory checked', () => {
  const options = { ...delegationWithoutKdc(REALM, ['HTTP/api.example.test']), timeoutMs: 200 };
  const digest = {
    name: 'administrator',
    user: 'administrator',
    realm: 'intranet',
    mechanism: 'Digest',
  } as const;
  const basicFile = {
    name: 'administrator',
    user: 'administrator',
    realm: 'intranet',
    mechanism: 'Basic',
  } as const;
  const basicKdc = {
    name: `alice@${REALM}`,
    user: 'alice',
    realm: REALM,
    mechanism: 'Basic',
  } as const;

  test('Digest and file-checked Basic users are refused before the KDC is asked', async () => {
    const delegation = new ConstrainedDelegation(options);
    for (const principal of [digest, basicFile]) {
      await assert.rejects(delegation.ticketFor(principal, 'HTTP/api.example.test'), {
        code: 'ERR_HTTPAUTH_DELEGATION_REFUSED',
      });
    }
    assert.equal(delegation.kdcRequests, 0);
    // basic({ kerberos }) names the Kerberos realm: the KDC checked that password.
    assert.deepEqual(delegation.userName(basicKdc).components, ['alice']);
  });

  test('transitionLocalLogons: true lets them through, with a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error & { code?: string }) => warnings.push(warning.code ?? '');
    process.on('warning', onWarning);
    let delegation: ConstrainedDelegation;
    try {
      delegation = new ConstrainedDelegation({ ...options, transitionLocalLogons: true });
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, [TRANSITION_LOCAL_LOGONS_WARNING]);
    assert.deepEqual(delegation.userName(digest).components, ['administrator']);
    assert.throws(
      () =>
        new ConstrainedDelegation({
          ...options,
          transitionLocalLogons: 'yes' as unknown as boolean,
        }),
      { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
    );
  });
});

describe('ticket end times', () => {
  test('forwarded TGT: a cached service ticket near its end is not reused (fake clock)', async () => {
    const ccache = await aliceCcache();
    let offset = 0;
    const now = () => Date.now() + offset;
    const { members } = forwarded(ccache, fakeSettings({ now }));
    const before = tgsRequests();
    await members.credentialCacheFor('HTTP/api.example.test');
    await members.credentialCacheFor('HTTP/api.example.test');
    assert.equal(tgsRequests(), before + 1, 'a fresh ticket is reused');
    // The fake KDC's tickets last an hour: 30 s before the end, within the reuse margin.
    offset = 3600_000 - 30_000;
    await members.credentialCacheFor('HTTP/api.example.test');
    assert.equal(tgsRequests(), before + 2, 'a ticket near its end is asked for again');
    // Past the forwarded TGT's own end: refused without asking the KDC.
    offset = 2 * 3600_000;
    await assert.rejects(members.credentialCacheFor('HTTP/db.example.test'), {
      code: 'ERR_HTTPAUTH_DELEGATION_REFUSED',
    });
    assert.equal(tgsRequests(), before + 2);
  });
});

describe('one KDC sender: failover state and a bounded wait', () => {
  let silent: Socket;
  let answering: Socket;
  let silentAddress = '';
  let answeringAddress = '';
  let silentDatagrams = 0;
  before(async () => {
    silent = createSocket('udp4');
    answering = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => answering.bind(0, '127.0.0.1', resolve));
    silent.on('message', () => {
      silentDatagrams += 1;
    });
    answering.on('message', (message, from) => {
      void kdc.send(message).then((reply) => answering.send(reply, from.port, from.address));
    });
    silentAddress = `127.0.0.1:${(silent.address() as AddressInfo).port}`;
    answeringAddress = `127.0.0.1:${(answering.address() as AddressInfo).port}`;
  });
  after(() => {
    silent.close();
    answering.close();
  });

  test('after a KDC timed out, the one that answered is asked first', async () => {
    const sendTo = kdcSender({
      realm: REALM,
      kdcs: [silentAddress, answeringAddress],
      timeoutMs: 300,
    });
    const ccache = await aliceCcache();
    const { members } = forwarded(ccache, { ...forwardedTgtSettings(), sendTo });
    const start = silentDatagrams;
    await members.credentialCacheFor('HTTP/api.example.test');
    await members.credentialCacheFor('HTTP/db.example.test');
    await members.credentialCacheFor('HTTP/localhost');
    assert.equal(
      silentDatagrams - start,
      1,
      'the silent KDC costs one timeout, not one per request',
    );
  });

  test('a KDC that never answers: ERR_HTTPAUTH_KDC_UNAVAILABLE within the timeout, no hang', async () => {
    const settings = forwardedTgtSettings({ realm: REALM, kdcs: [silentAddress], timeoutMs: 250 });
    const ccache = await aliceCcache();
    const { members } = forwarded(ccache, settings);
    const start = Date.now();
    const before = silentDatagrams;
    await assert.rejects(members.credentialCacheFor('HTTP/api.example.test'), {
      code: 'ERR_HTTPAUTH_KDC_UNAVAILABLE',
    });
    assert.ok(Date.now() - start < 2000, `took ${Date.now() - start} ms`);
    assert.equal(silentDatagrams - before, 1, 'the configured KDC was the one asked');
  });
});

describe('password string-to-key off the event loop', () => {
  test('AES PBKDF2 lets timers run meanwhile, and gives the same key as the synchronous one', async () => {
    const params = Buffer.from([0, 4, 0, 0]); // 262144 iterations: MAX_KDC_ITERATIONS
    let ticks = 0;
    const interval = setInterval(() => {
      ticks += 1;
    }, 1);
    let key;
    try {
      key = await passwordKeys('a password')(
        EncType.AES256_CTS_HMAC_SHA384_192,
        'SALTalice',
        params,
      );
    } finally {
      clearInterval(interval);
    }
    assert.ok(ticks > 0, 'the event loop turned while PBKDF2 ran');
    const sync = encryptionProfile(EncType.AES256_CTS_HMAC_SHA384_192)!.stringToKey(
      'a password',
      'SALTalice',
      params,
    );
    assert.deepEqual(key?.bytes, sync.bytes);
    for (const etype of [
      EncType.AES128_CTS_HMAC_SHA1_96,
      AES256,
      EncType.AES128_CTS_HMAC_SHA256_128,
    ]) {
      const profile = encryptionProfile(etype)!;
      const asyncKey = await profile.stringToKeyAsync!('pw', 'EXAMPLE.TESTalice');
      assert.deepEqual(asyncKey.bytes, profile.stringToKey('pw', 'EXAMPLE.TESTalice').bytes);
    }
  });

  test('a burst of derivations takes at most half the thread pool at a time, in order', async () => {
    let most = 0;
    let sampling = true;
    const sample = (): void => {
      most = Math.max(most, pbkdf2InFlight());
      if (sampling) setImmediate(sample);
    };
    sample();
    const profile = encryptionProfile(EncType.AES256_CTS_HMAC_SHA384_192)!;
    const keys = await Promise.all(
      Array.from({ length: 6 }, (_, i) => profile.stringToKeyAsync!(`pw${i}`, 'SALT')),
    );
    sampling = false;
    assert.ok(most >= 1 && most <= PBKDF2_CONCURRENCY, `at most ${most} at once`);
    assert.equal(pbkdf2InFlight(), 0);
    assert.deepEqual(keys[5]!.bytes, profile.stringToKey('pw5', 'SALT').bytes);
  });
});

describe('TCP framing (RFC 4120 §7.2.2) from a hostile KDC', () => {
  /** A TCP "KDC" that answers each connection with `answer(socket)`. */
  async function tcpKdc(answer: (socket: TcpSocket) => void) {
    const server = createServer((socket) => socket.once('data', () => answer(socket)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return {
      kdc: { host: '127.0.0.1', port, transport: 'tcp' as const },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const prefix = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };

  test('split prefix and body reassemble; truncated, high-bit, trailing and trickled replies fail fast', async () => {
    const cases: [string, (socket: TcpSocket) => void, RegExp | Buffer][] = [
      [
        'split',
        (socket) => {
          const whole = Buffer.concat([prefix(5), Buffer.from('hello')]);
          for (let i = 0; i < whole.length; i++) {
            setTimeout(() => socket.write(whole.subarray(i, i + 1)), i * 5);
          }
        },
        Buffer.from('hello'),
      ],
      [
        'truncated',
        (socket) => socket.end(Buffer.concat([prefix(100), Buffer.alloc(10)])),
        /closed/,
      ],
      ['prefix cut', (socket) => socket.end(Buffer.from([0, 0])), /closed/],
      ['high bit', (socket) => socket.write(prefix(0x80000005)), /too large/],
      ['negative', (socket) => socket.write(prefix(-1)), /too large/],
      [
        'trailing',
        (socket) => socket.write(Buffer.concat([prefix(1), Buffer.from('ab')])),
        /after/,
      ],
      [
        'trickle',
        (socket) => {
          socket.write(prefix(1000));
          const timer = setInterval(() => socket.write(Buffer.from('x')), 20);
          socket.on('close', () => clearInterval(timer));
          socket.on('error', () => clearInterval(timer));
        },
        /timeout/,
      ],
    ];
    for (const [name, answer, expected] of cases) {
      const server = await tcpKdc(answer);
      const started = Date.now();
      try {
        const result = exchangeTcp(server.kdc, Buffer.from('req'), 400);
        if (Buffer.isBuffer(expected)) assert.deepEqual(await result, expected, name);
        else await assert.rejects(result, expected, name);
        assert.ok(Date.now() - started < 1500, `${name}: ${Date.now() - started} ms`);
      } finally {
        await server.close();
      }
    }
  });
});
