/**
 * NTLM relay (security issue 12, finding 7): an AUTHENTICATE the victim computed for another
 * server (`cifs/evil.example`, or another HTTP host) must not authenticate here by default, and
 * responses that cannot carry a binding (anonymous, NTLMv1) must not slip past one.
 */
import * as assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { UNBOUND_WARNING_CODE, resetUnboundWarning } from '../src/ntlm/binding-policy.js';
import type { AuthenticateOptions } from './ntlm-client.js';
import { authenticate, negotiate } from './ntlm-client.js';
import { exampleAcceptor } from './fixtures/ntlm/example-acceptor.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
/** This server's tls-server-end-point application data, as the authenticator would pass it. */
const TLS = Buffer.from('tls-server-end-point:0123456789abcdef0123456789abcdef');

const acceptor = exampleAcceptor;

/** One full handshake; `tls` is the connection's binding data (undefined: plain HTTP). */
async function logon(
  server: NtlmAcceptor,
  client: Omit<AuthenticateOptions, 'user' | 'password'>,
  tls: Buffer | undefined,
) {
  const negotiateMessage = negotiate();
  const first = await server.step(negotiateMessage, undefined, { now: NOW });
  if (first.type !== 'continue') throw new Error('expected a CHALLENGE');
  const auth = authenticate(negotiateMessage, first.token, {
    user: 'alice',
    password: 'Wonderland1',
    domain: 'EXAMPLE',
    ...client,
  });
  return server.step(auth.message, first.state, { now: NOW, channelBinding: tls });
}

async function completes(promise: ReturnType<typeof logon>) {
  const result = await promise;
  assert.equal(result.type, 'complete');
  if (result.type !== 'complete') throw new Error('unreachable');
  return result;
}

const RELAYED = { targetName: 'cifs/evil.example', omitChannelBindings: true } as const;

describe('NTLM relay: the defaults refuse it', () => {
  it('over TLS: a Type 3 for cifs/evil.example without channel binding is refused', async () => {
    await assert.rejects(logon(acceptor(), RELAYED, TLS), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
    // All-zero bindings (a client that has none) are just as absent.
    await assert.rejects(logon(acceptor(), { targetName: 'HTTP/web01.example.test' }, TLS), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
  });

  it('over TLS: a binding for this connection and an HTTP target name are accepted', async () => {
    const result = await completes(
      logon(acceptor(), { channelBinding: TLS, targetName: 'HTTP/web01.example.test' }, TLS),
    );
    assert.equal(result.principal.channelBound, true);
  });

  it('over plain HTTP without hostNames: a name for another protocol is refused', async () => {
    for (const targetName of ['cifs/evil.example', 'ldap/dc1.example.test', 'HOST/web01', 'x']) {
      await assert.rejects(
        logon(acceptor(), { targetName, omitChannelBindings: true }, undefined),
        { code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME' },
        targetName,
      );
    }
    // The host part is unchecked without hostNames (the start-up warning says so).
    await completes(logon(acceptor(), { targetName: 'http/anything.example' }, undefined));
    await completes(logon(acceptor(), { omitChannelBindings: true }, undefined));
  });

  it('hostNames pin MsvAvTargetName to HTTP/<host>: another host, or none, is refused', async () => {
    const server = acceptor({ hostNames: ['web01.example.test', 'intranet'] });
    await completes(logon(server, { targetName: 'HTTP/WEB01.example.test' }, undefined));
    await completes(logon(server, { targetName: 'http/intranet' }, undefined));
    for (const targetName of ['HTTP/evil.example', 'cifs/web01.example.test', undefined]) {
      await assert.rejects(
        logon(server, targetName === undefined ? {} : { targetName }, undefined),
        { code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME' },
        String(targetName),
      );
    }
  });

  it('host:port in hostNames accepts HTTP/host:port (Chromium) and HTTP/host (SSPI)', async () => {
    const server = acceptor({ hostNames: ['web01.example.test:8443', '[2001:db8::1]:8443'] });
    await completes(logon(server, { targetName: 'HTTP/web01.example.test:8443' }, undefined));
    await completes(logon(server, { targetName: 'HTTP/web01.example.test' }, undefined));
    await completes(logon(server, { targetName: 'HTTP/[2001:db8::1]' }, undefined));
    await assert.rejects(logon(server, { targetName: 'HTTP/web01.example.test:8080' }, undefined), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
  });

  it('over TLS a response bound to this connection may omit the name, never name another', async () => {
    const server = acceptor({ hostNames: ['web01.example.test'] });
    await completes(logon(server, { channelBinding: TLS }, TLS));
    await assert.rejects(logon(server, { channelBinding: TLS, targetName: 'cifs/evil' }, TLS), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
    // Not bound (mode 'allow', no binding sent): the name is required again.
    const allow = acceptor({
      hostNames: ['web01.example.test'],
      channelBinding: { mode: 'allow' },
    });
    await assert.rejects(logon(allow, {}, TLS), { code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME' });
  });

  it('allowMissingTargetName lets clients that omit the name in, and no wrong name', async () => {
    const server = acceptor({ hostNames: ['web01.example.test'], allowMissingTargetName: true });
    await completes(logon(server, {}, undefined));
    await assert.rejects(logon(server, { targetName: 'HTTP/evil.example' }, undefined), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
  });

  it('explicit targetNames replace those derived from hostNames', async () => {
    const server = acceptor({
      hostNames: ['web01'],
      targetNames: ['HTTP/web01.example.test:8443'],
    });
    await completes(logon(server, { targetName: 'HTTP/web01.example.test:8443' }, undefined));
    await assert.rejects(logon(server, { targetName: 'HTTP/web01' }, undefined), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
  });

  it("'allow' and 'none' still have to be asked for", async () => {
    const allow = acceptor({ channelBinding: { mode: 'allow' } });
    await completes(logon(allow, { targetName: 'HTTP/web01' }, TLS));
    await assert.rejects(logon(allow, RELAYED, TLS), { code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME' });
  });
});

describe('responses without AV pairs cannot skip a required binding', () => {
  it('anonymous NTLM over TLS under the default is refused (no channel binding)', async () => {
    await assert.rejects(logon(acceptor({ allowAnonymous: true }), { version: 'anonymous' }, TLS), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
    await assert.rejects(
      logon(
        acceptor({ allowAnonymous: true, channelBinding: { mode: 'require' } }),
        { version: 'anonymous' },
        undefined,
      ),
      { code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING' },
    );
  });

  it('anonymous NTLM with target names configured is refused (no target name)', async () => {
    const server = acceptor({ allowAnonymous: true, hostNames: ['web01.example.test'] });
    await assert.rejects(logon(server, { version: 'anonymous' }, undefined), {
      code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
    });
    // Where neither binding is required, it is still accepted when enabled.
    const open = await completes(
      logon(acceptor({ allowAnonymous: true }), { version: 'anonymous' }, undefined),
    );
    assert.equal(open.principal.name, 'NT AUTHORITY\\ANONYMOUS LOGON');
  });

  it('NTLMv1 follows the same rule', async () => {
    const v1 = { allowNtlmV1: true } as const;
    await assert.rejects(logon(acceptor(v1), { version: 'v1' }, TLS), {
      code: 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING',
    });
    await assert.rejects(
      logon(acceptor({ ...v1, hostNames: ['web01'] }), { version: 'v1' }, undefined),
      {
        code: 'ERR_HTTPAUTH_NTLM_TARGET_NAME',
      },
    );
    await completes(
      logon(
        acceptor({ ...v1, hostNames: ['web01'], allowMissingTargetName: true }),
        { version: 'v1' },
        undefined,
      ),
    );
  });
});

describe('the start-up warning', () => {
  const seen: Error[] = [];
  const listener = (warning: Error) => {
    if ((warning as Error & { code?: string }).code === UNBOUND_WARNING_CODE) seen.push(warning);
  };
  beforeEach(async () => {
    // Let warnings emitted by the tests above arrive before listening.
    await new Promise((resolve) => setTimeout(resolve, 10));
    seen.length = 0;
    resetUnboundWarning();
    process.on('warning', listener);
  });
  afterEach(() => {
    process.off('warning', listener);
  });
  const warnings = async () => {
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    return seen.length;
  };

  it('is emitted once when NTLM is bound to neither the channel nor the service', async () => {
    acceptor();
    acceptor();
    assert.equal(await warnings(), 1);
    assert.match(seen[0]!.message, /hostNames/);
  });

  it('is emitted for allowMissingTargetName unless bindings are always required', async () => {
    acceptor({ hostNames: ['web01'], allowMissingTargetName: true });
    assert.equal(await warnings(), 1);
  });

  it('is not emitted with hostNames, targetNames, or bindings always required', async () => {
    acceptor({ hostNames: ['web01'] });
    acceptor({ targetNames: ['HTTP/web01'], channelBinding: { mode: 'none' } });
    acceptor({ channelBinding: { mode: 'require' } });
    assert.equal(await warnings(), 0);
  });
});

describe('relay options are validated', () => {
  it('refuses bad hostNames, targetNames, modes and flags at construction', () => {
    for (const bad of [
      { hostNames: [] },
      { hostNames: ['web01/x'] },
      { hostNames: [' '] },
      { hostNames: 'web01' as unknown as string[] },
      { targetNames: [42 as unknown as string] },
      { channelBinding: { mode: 'sometimes' as 'allow' } },
      { allowMissingTargetName: 'yes' as unknown as boolean },
    ]) {
      assert.throws(
        () => acceptor(bad),
        { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' },
        JSON.stringify(bad),
      );
    }
  });
});
