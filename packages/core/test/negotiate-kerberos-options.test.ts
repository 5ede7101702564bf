/**
 * Negotiate's Kerberos options nested under `kerberos:` (as NTLM's under `ntlm:`), persistence
 * spelled `persistOnConnection` inside each (as the NTLM package spells it), and the spellings of
 * earlier releases: still honoured for one release, with a DeprecationWarning once, and refused
 * when mixed with the new ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { Keytab, encodeKeytab } from '../src/kerberos/keytab.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import type { NegotiateOptions } from '../src/negotiate/negotiate.js';
import { FLAT_KERBEROS_OPTIONS_WARNING } from '../src/negotiate/kerberos-options.js';
import { LEGACY_PERSIST_OPTIONS_WARNING } from '../src/negotiate/persistence.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { authenticate, negotiate as ntlmNegotiate } from './ntlm-client.js';
import type { AcceptContext, AcceptResult } from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';
import { forgeApReq, randomKey } from './fixtures/kerberos/forge.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const HOUR = 3600_000;
const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
  ]),
);

function context(now = NOW): AcceptContext {
  return {
    request: { method: 'GET', target: '/', headers: {}, httpVersionMajor: 1, secure: false },
    handshake: undefined,
    channelBinding: undefined,
    store: new MemoryStore(),
    now,
  };
}

/** A raw AP-REQ for HTTP/localhost@EXAMPLE.TEST made at `ctime`. */
async function acceptTicket(options: NegotiateOptions, ctime = NOW): Promise<AcceptResult> {
  const { token } = forgeApReq({
    serviceKey,
    kvno: 2,
    authtime: NOW - HOUR,
    endtime: NOW + HOUR,
    ctime,
    cusec: 0,
    gssFlags: 0,
  });
  return negotiate(options).accept(
    { scheme: 'Negotiate', token68: token.toString('base64') },
    context(),
  );
}

function codeOf(result: AcceptResult): string | undefined {
  return result.type === 'reject' ? result.error.code : undefined;
}

describe('Negotiate: kerberos options', () => {
  it('nested options reach the acceptor (keytab, principals, clockSkewMs)', async () => {
    assert.equal((await acceptTicket({ kerberos: { keytab } })).type, 'complete');
    const other = await acceptTicket({ kerberos: { keytab, principals: ['HTTP/other'] } });
    assert.equal(codeOf(other), 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
    // 10 minutes off: outside the default skew, inside a 20-minute one.
    const late = NOW - 10 * 60_000;
    assert.equal(
      codeOf(await acceptTicket({ kerberos: { keytab } }, late)),
      'ERR_HTTPAUTH_KRB_SKEW',
    );
    const wide = await acceptTicket({ kerberos: { keytab, clockSkewMs: 20 * 60_000 } }, late);
    assert.equal(wide.type, 'complete');
  });

  it('kerberos.acceptor is used as given', () => {
    const acceptor = new KerberosAcceptor({ keytab });
    assert.equal(negotiate({ kerberos: { acceptor } }).kerberos, acceptor);
    assert.throws(
      () => negotiate({ kerberos: { acceptor: {} as KerberosAcceptor } }),
      (error: unknown) =>
        error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });

  it('kerberos.channelBinding overrides the top-level mode for Kerberos', async () => {
    // require: a ticket without bindings is refused; the Kerberos override relaxes it.
    const strict = await acceptTicket({
      kerberos: { keytab },
      channelBinding: { mode: 'require' },
    });
    assert.equal(codeOf(strict), 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    const relaxed = await acceptTicket({
      kerberos: { keytab, channelBinding: { mode: 'allow' } },
      channelBinding: { mode: 'require' },
    });
    assert.equal(relaxed.type, 'complete');
  });

  it('refuses a kerberos value that is not an object, and both spellings at once', () => {
    const invalid = (error: unknown): boolean =>
      error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS';
    for (const kerberos of [null, 42, 'keytab']) {
      assert.throws(() => negotiate({ kerberos } as unknown as NegotiateOptions), invalid);
    }
    assert.throws(() => negotiate({ kerberos: { keytab }, principals: ['HTTP/x'] }), invalid);
    assert.throws(
      () => negotiate({ kerberos: {}, kerberosAcceptor: new KerberosAcceptor({ keytab }) }),
      invalid,
    );
  });

  it('the flat spelling still works for this release, with one DeprecationWarning', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', listener);
    try {
      const other = await acceptTicket({ keytab, principals: ['HTTP/other'] });
      assert.equal(codeOf(other), 'ERR_HTTPAUTH_KRB_WRONG_SERVICE');
      const acceptor = new KerberosAcceptor({ keytab });
      assert.equal(negotiate({ kerberosAcceptor: acceptor }).kerberos, acceptor);
      // process.emitWarning delivers on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    const ours = warnings.filter(
      (w) => (w as Error & { code?: string }).code === FLAT_KERBEROS_OPTIONS_WARNING,
    );
    assert.equal(ours.length, 1, 'once per process');
    assert.equal(ours[0]?.name, 'DeprecationWarning');
    assert.match(ours[0]?.message ?? '', /kerberos: \{/);
  });
});

const ntlmCredentials = {
  domain: 'EXAMPLE',
  credentials: (user: string) => (user.toLowerCase() === 'bob' ? ntowfv1('Bob-pw1') : undefined),
};

/** A raw NTLM handshake under Negotiate; the completing result. */
async function ntlmLogon(options: NegotiateOptions): Promise<AcceptResult> {
  const p = negotiate(options);
  let slotValue: unknown;
  const slot = {
    get: () => slotValue,
    set: (value: unknown) => {
      slotValue = value;
    },
    clear: () => {
      slotValue = undefined;
    },
  };
  const ctx = { ...context(), handshake: slot };
  const negotiateMessage = ntlmNegotiate();
  const first = await p.accept(
    { scheme: 'Negotiate', token68: negotiateMessage.toString('base64') },
    ctx,
  );
  assert.equal(first.type, 'continue');
  const challenge = Buffer.from(first.type === 'continue' ? (first.token ?? '') : '', 'base64');
  const auth = authenticate(negotiateMessage, challenge, { user: 'bob', password: 'Bob-pw1' });
  return p.accept({ scheme: 'Negotiate', token68: auth.message.toString('base64') }, ctx);
}

describe('Negotiate: persistOnConnection per mechanism', () => {
  it('NTLM logons persist by default; ntlm.persistOnConnection: false turns that off', async () => {
    const persisted = await ntlmLogon({ kerberos: { keytab }, ntlm: ntlmCredentials });
    assert.equal(persisted.type === 'complete' ? persisted.persist : 'x', true);
    const perRequest = await ntlmLogon({
      kerberos: { keytab },
      ntlm: { ...ntlmCredentials, persistOnConnection: false },
    });
    assert.equal(perRequest.type === 'complete' ? perRequest.persist : 'x', undefined);
  });

  it('refuses a non-boolean, and both spellings at once', () => {
    const invalid = (error: unknown): boolean =>
      error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS';
    assert.throws(
      () =>
        negotiate({
          kerberos: { keytab, persistOnConnection: 'yes' },
        } as unknown as NegotiateOptions),
      invalid,
    );
    assert.throws(
      () => negotiate({ kerberos: { keytab, persistOnConnection: true }, persistKerberos: true }),
      invalid,
    );
    assert.throws(
      () =>
        negotiate({
          kerberos: { keytab },
          ntlm: { ...ntlmCredentials, persistOnConnection: false },
          persistNtlm: false,
        }),
      invalid,
    );
  });

  it('persistKerberos / persistNtlm still work for this release, with one DeprecationWarning', async () => {
    const warnings: Error[] = [];
    const listener = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', listener);
    try {
      const kerberos = await acceptTicket({ kerberos: { keytab }, persistKerberos: true });
      assert.equal(kerberos.type === 'complete' ? kerberos.persist : 'x', true);
      const ntlm = await ntlmLogon({
        kerberos: { keytab },
        ntlm: ntlmCredentials,
        persistNtlm: false,
      });
      assert.equal(ntlm.type === 'complete' ? ntlm.persist : 'x', undefined);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    const ours = warnings.filter(
      (w) => (w as Error & { code?: string }).code === LEGACY_PERSIST_OPTIONS_WARNING,
    );
    assert.equal(ours.length, 1, 'once per process');
    assert.equal(ours[0]?.name, 'DeprecationWarning');
  });
});
