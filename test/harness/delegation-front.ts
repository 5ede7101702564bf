/**
 * The pieces of test/delegation-samba-e2e.test.ts's intranet API that its tests share: local users
 * for the AD accounts, a backend that answers with the principal it authenticated, and a curl
 * logon at the front service (Basic, NTLM or Negotiate) asking it to call a backend as the user.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { promisify } from 'node:util';
import { negotiate, type PosixIdentity } from '@httpauth/core';
import { createHandler } from '@httpauth/core/node';
import { listen, type Running } from './listen.js';
import type { SambaDc } from './samba-dc.js';

const run = promisify(execFile);

export interface Account {
  readonly name: string;
  readonly password: string;
}

/** Local users for the AD accounts alice, bob and carol (no useradd needed). */
export const delegationUsers = {
  // Basic names keep their realm ('alice@SAMDOM.TEST'), Kerberos ones lose it ('alice').
  lookup: async (name: string): Promise<PosixIdentity | undefined> =>
    ['alice', 'bob', 'carol'].includes(name.split('@')[0] as string)
      ? {
          user: name,
          uid: name.startsWith('alice') ? 61001 : name.startsWith('bob') ? 61002 : 61003,
          gid: 61000,
          groups: [61000],
          groupNames: ['staff'],
          home: '/nonexistent',
          shell: '/usr/sbin/nologin',
        }
      : undefined,
};

/** A backend protected by httpauth (Negotiate with `keytab`) answering who it authenticated. */
export async function whoamiBackend(keytab: string): Promise<Running> {
  const handler = createHandler(
    { packages: [negotiate({ kerberos: { keytab } })] },
    (_req, res, auth) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ user: auth.principal.name, mechanism: auth.principal.mechanism }));
    },
  );
  return listen(createServer(handler));
}

export type Logon = { basic: Account } | { ntlm: Account } | { ccache: string };

/**
 * curl logs on at the front service (`/call?to=&service=`) with Basic, NTLM or Negotiate (from a
 * ccache) and gets its JSON answer: what the backend said, or the error code.
 */
export async function callAs(
  dc: SambaDc,
  frontPort: number,
  login: Logon,
  to: string,
  service: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = `http://localhost:${frontPort}/call?to=${encodeURIComponent(to)}&service=${encodeURIComponent(service)}`;
  const auth =
    'basic' in login
      ? ['-u', `${login.basic.name}:${login.basic.password}`]
      : 'ntlm' in login
        ? ['--ntlm', '-u', `${dc.domain}\\${login.ntlm.name}:${login.ntlm.password}`]
        : ['--negotiate', '-u', ':'];
  const { stdout } = await run(
    'curl',
    ['-s', '--max-time', '60', ...auth, '-w', '\n%{http_code}', target],
    'ccache' in login ? { env: { ...dc.env, KRB5CCNAME: `FILE:${login.ccache}` } } : {},
  );
  const lines = stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Record<string, unknown> };
}
