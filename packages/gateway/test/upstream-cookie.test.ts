/**
 * The gateway's session cookie stays with the gateway: the upstream never receives it, in any
 * position of the Cookie header, alone or with others, with or without the __Host- prefix; the
 * application's own cookies pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateConfig } from '../src/config.js';
import { UpstreamHeaders } from '../src/upstream-headers.js';

const dir = mkdtempSync(join(tmpdir(), 'httpauth-gateway-cookie-'));
const key = join(dir, 'session.key');
writeFileSync(key, Buffer.alloc(32, 7));
const htpasswd = join(dir, 'htpasswd');
writeFileSync(htpasswd, '');
after(() => rmSync(dir, { recursive: true, force: true }));

const headers = new UpstreamHeaders(
  validateConfig({
    listen: { host: '127.0.0.1', port: 0 },
    upstream: 'http://127.0.0.1:1',
    auth: { basic: { htpasswd, allowInsecure: true } },
    sessions: { keys: [{ id: 'k1', secretFile: key }] },
    log: { level: 'silent' },
  }),
  undefined,
);

function upstreamCookie(cookie: string): unknown {
  const req = {
    method: 'GET',
    headers: { host: 'app.example.com', cookie },
    socket: { remoteAddress: '10.0.0.5' },
  } as unknown as IncomingMessage;
  return headers.request(req, undefined, '/')['cookie'];
}

describe('the upstream Cookie header', () => {
  it('never carries the session cookie, alone or among others', () => {
    const cases: [string, string | undefined][] = [
      ['httpauth_session=abc', undefined],
      [' httpauth_session=abc ', undefined],
      ['__Host-httpauth_session=abc', undefined],
      ['httpauth_session=abc; other=2', 'other=2'],
      ['other=2; httpauth_session=abc', 'other=2'],
      ['a=1;__Host-httpauth_session=abc; b=2', 'a=1; b=2'],
      ['other=2', 'other=2'],
      [' other=2 ', 'other=2'],
      // A name that only starts like the session cookie's is another cookie.
      ['httpauth_session2=x', 'httpauth_session2=x'],
      ['httpauth_sessionx=1; httpauth_session=abc', 'httpauth_sessionx=1'],
    ];
    for (const [sent, expected] of cases) assert.equal(upstreamCookie(sent), expected, sent);
  });
});
