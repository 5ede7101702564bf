/**
 * ldapSidLookup's options (no simple bind in clear without the unsafe option, which warns) and
 * its failures (a directory that is down throws, so the resolver degrades to SIDs).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createSidResolver } from '@httpauth/core';
import { ldapSidLookup } from '../src/lookup.js';
import type { LdapSidLookupOptions } from '../src/lookup.js';

const bind = { dn: 'CN=reader,CN=Users,DC=samdom,DC=test', password: 'secret' };

function isInvalidOptions(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_HTTPAUTH_INVALID_OPTIONS';
}

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('ldapSidLookup options', () => {
  it('refuses a simple bind in clear, and ill-formed options', () => {
    const bad: unknown[] = [
      undefined,
      { url: 'ldap://127.0.0.1', bind, startTls: false },
      { url: 'http://127.0.0.1', bind },
      { url: 'ldaps://127.0.0.1', bind, startTls: true },
      { url: 'ldaps://127.0.0.1' },
      { url: 'ldaps://127.0.0.1', bind: { dn: '', password: 'x' } },
      { url: 'ldaps://127.0.0.1', bind: { dn: 'CN=x', password: '' } },
      { url: 'ldaps://127.0.0.1', bind, timeoutMs: 0 },
    ];
    for (const options of bad) {
      assert.throws(() => ldapSidLookup(options as LdapSidLookupOptions), isInvalidOptions);
    }
  });

  it('allows ldap:// with StartTLS (the default) and ldaps:// without warning', () => {
    const warned: Error[] = [];
    const listener = (warning: Error) => warned.push(warning);
    process.on('warning', listener);
    try {
      ldapSidLookup({ url: 'ldap://127.0.0.1', bind });
      ldapSidLookup({ url: 'LDAPS://127.0.0.1', bind });
    } finally {
      process.off('warning', listener);
    }
    assert.equal(warned.length, 0);
  });

  it('allowInsecureBind permits the clear bind, and warns', async () => {
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    ldapSidLookup({ url: 'ldap://127.0.0.1', bind, startTls: false, allowInsecureBind: true });
    const warning = (await warned) as Error & { code?: string };
    assert.equal(warning.code, 'HTTPAUTH_LDAP_INSECURE_BIND');
  });
});

describe('ldapSidLookup failures', () => {
  it('a directory that is down throws, and the resolver degrades to SIDs', async () => {
    const port = await closedPort();
    const lookup = ldapSidLookup({
      url: `ldaps://127.0.0.1:${port}`,
      bind,
      connectTimeoutMs: 1_000,
    });
    await assert.rejects(lookup.lookupSids(['S-1-5-21-1-2-3-1104'], new AbortController().signal));
    const resolver = createSidResolver({ lookup });
    const result = await resolver.names(['S-1-5-21-1-2-3-1104', 'S-1-5-11']);
    assert.equal(result.unresolved, 1);
    assert.equal(result.names.get('S-1-5-11'), 'NT AUTHORITY\\Authenticated Users');
    await resolver.close();
  });

  it('a server that accepts and never answers costs the resolver timeout, not a hang', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const lookup = ldapSidLookup({ url: `ldap://127.0.0.1:${port}`, bind, timeoutMs: 30_000 });
      const resolver = createSidResolver({ lookup, timeoutMs: 200 });
      const started = Date.now();
      const result = await resolver.names(['S-1-5-21-1-2-3-1104']);
      assert.equal(result.unresolved, 1);
      assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
      await resolver.close();
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
