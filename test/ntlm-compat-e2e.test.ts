/**
 * NTLM relay-protection settings against real clients: the compatibility table of docs/ntlm.md
 * ("Which clients work with which setting"), measured. Each row is one server configuration, each
 * column a client; a cell is `ok` (200 as EXAMPLE\alice) or the error code of the refusal. The
 * measured table is printed at the end, in the Markdown of the docs.
 *
 * Clients: curl --ntlm, python requests_ntlm, headless Chromium, impacket, and curl --negotiate
 * with gss-ntlmssp (SPNEGO-wrapped NTLM, so that column runs against `negotiate()` with the same
 * NTLM options). All reach the servers as `localhost`.
 */
import * as assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { negotiate, ntlm } from '@httpauth/core';
import { ntowfv1 } from '@httpauth/core/wire';
import type { NtlmOptions } from '@httpauth/core';
import { createHandler, type AuthenticatedHandler } from '@httpauth/core/node';

import { chromiumDump, jsonFromDom } from './harness/chromium.js';
import { curlNegotiate, ntlmFallbackEnv } from './harness/negotiate-clients.js';
import {
  curlNtlm,
  impacketNtlm,
  requestsNtlm,
  scratchDir,
  selfSignedCertificate,
} from './harness/ntlm-clients.js';

const PASSWORD = 'Wonderland-1';
const CLIENTS = ['curl', 'requests_ntlm', 'Chromium', 'impacket', 'gss-ntlmssp'] as const;
type Client = (typeof CLIENTS)[number];
type Cell = 'ok' | `ERR_HTTPAUTH_${string}`;

interface Row {
  readonly name: string;
  readonly tls: boolean;
  /** The NTLM options of the row, given the port the client will use. */
  readonly options: (port: number) => Partial<NtlmOptions>;
  readonly expected: Readonly<Record<Client, Cell>>;
}

const CB_MISSING = 'ERR_HTTPAUTH_CHANNEL_BINDING_MISSING';
const TARGET = 'ERR_HTTPAUTH_NTLM_TARGET_NAME';

const ROWS: readonly Row[] = [
  {
    name: "HTTPS, channelBinding 'none'",
    tls: true,
    options: () => ({ channelBinding: { mode: 'none' } }),
    expected: {
      curl: 'ok',
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: TARGET,
      'gss-ntlmssp': 'ok',
    },
  },
  {
    name: "HTTPS, channelBinding 'allow'",
    tls: true,
    options: () => ({ channelBinding: { mode: 'allow' } }),
    expected: {
      curl: 'ok',
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: TARGET,
      'gss-ntlmssp': 'ok',
    },
  },
  {
    name: 'HTTPS, default (bindings required over TLS)',
    tls: true,
    options: () => ({}),
    expected: {
      curl: CB_MISSING,
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: CB_MISSING,
      'gss-ntlmssp': CB_MISSING,
    },
  },
  {
    name: 'HTTPS, default + hostNames',
    tls: true,
    options: (port) => ({ hostNames: [`localhost:${port}`] }),
    expected: {
      curl: CB_MISSING,
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: CB_MISSING,
      'gss-ntlmssp': CB_MISSING,
    },
  },
  {
    name: 'HTTP, default (no hostNames: service class HTTP only)',
    tls: false,
    options: () => ({}),
    expected: {
      curl: 'ok',
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: TARGET,
      'gss-ntlmssp': 'ok',
    },
  },
  {
    name: 'HTTP, hostNames',
    tls: false,
    options: (port) => ({ hostNames: [`localhost:${port}`] }),
    expected: {
      curl: TARGET,
      requests_ntlm: TARGET,
      Chromium: 'ok',
      impacket: TARGET,
      'gss-ntlmssp': 'ok',
    },
  },
  {
    name: 'HTTP, hostNames + allowMissingTargetName',
    tls: false,
    options: (port) => ({ hostNames: [`localhost:${port}`], allowMissingTargetName: true }),
    expected: {
      curl: 'ok',
      requests_ntlm: 'ok',
      Chromium: 'ok',
      impacket: TARGET,
      'gss-ntlmssp': 'ok',
    },
  },
];

/** A server whose request listener is built once its port is known (hostNames name it). */
async function listen(
  tls: { key: Buffer; cert: Buffer } | undefined,
  listener: (port: number) => RequestListener,
): Promise<{ port: number; server: Server }> {
  const server = tls === undefined ? createHttpServer() : createHttpsServer(tls);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  server.on('request', listener(port));
  return { port, server };
}

/** `ok` when the body names alice, else the error code it carries. */
function cell(status: number, body: unknown): Cell {
  const json = body as { name?: string; error?: string };
  if (status === 200 && json.name === 'EXAMPLE\\alice') return 'ok';
  return (json.error ?? `ERR_HTTPAUTH_UNKNOWN_${status}`) as Cell;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

describe('NTLM relay settings: which clients work (docs/ntlm.md table)', () => {
  let dir: Awaited<ReturnType<typeof scratchDir>>;
  let tls: { key: Buffer; cert: Buffer };
  let gssEnv: NodeJS.ProcessEnv;
  const servers: Server[] = [];
  const measured = new Map<string, Record<string, Cell>>();

  before(async () => {
    dir = await scratchDir('ntlm-compat-');
    tls = await selfSignedCertificate(dir.path);
    // No ticket and no KDC: SPNEGO falls back to NTLM through gss-ntlmssp.
    gssEnv = await ntlmFallbackEnv(dir.path, {
      domain: 'EXAMPLE',
      name: 'alice',
      password: PASSWORD,
    });
  });

  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    const header = `| setting | ${CLIENTS.join(' | ')} |\n|${' --- |'.repeat(CLIENTS.length + 1)}`;
    const lines = [...measured].map(
      ([row, cells]) =>
        `| ${row} | ${CLIENTS.map((c) => (cells[c] === 'ok' ? 'yes' : `no (\`${cells[c] ?? '?'}\`)`)).join(' | ')} |`,
    );
    console.log(`\nmeasured NTLM client compatibility:\n${header}\n${lines.join('\n')}\n`);
    await dir?.cleanup();
  });

  for (const row of ROWS) {
    describe(row.name, () => {
      let base = '';
      let negotiateBase = '';

      before(async () => {
        const options = (port: number): NtlmOptions => ({
          domain: 'EXAMPLE',
          credentials: () => ntowfv1(PASSWORD),
          ...row.options(port),
        });
        const answer: AuthenticatedHandler = (_req, res, auth) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ name: auth.principal.name }));
        };
        const scheme = row.tls ? 'https' : 'http';
        const plainNtlm = await listen(row.tls ? tls : undefined, (port) =>
          createHandler({ packages: [ntlm(options(port))] }, answer),
        );
        const spnego = await listen(row.tls ? tls : undefined, (port) =>
          createHandler(
            { packages: [negotiate({ mechanisms: ['ntlm'], ntlm: options(port) })] },
            answer,
          ),
        );
        servers.push(plainNtlm.server, spnego.server);
        base = `${scheme}://localhost:${plainNtlm.port}`;
        negotiateBase = `${scheme}://localhost:${spnego.port}`;
        measured.set(row.name, {});
      });

      const run: Record<Client, () => Promise<Cell>> = {
        curl: async () => {
          const r = await curlNtlm(`${base}/`, 'alice', PASSWORD, { insecure: true });
          return cell(r.status, parse(r.body));
        },
        requests_ntlm: async () => {
          const r = await requestsNtlm(dir.path, `${base}/`, 'EXAMPLE\\alice', PASSWORD);
          return cell(r.status, parse(r.body));
        },
        Chromium: async () => {
          const url = base.replace('://', `://EXAMPLE%5Calice:${PASSWORD}@`);
          const dom = await chromiumDump(dir.path, `${url}/`, { insecure: true });
          const json = jsonFromDom(dom) as { name?: string };
          return cell(json.name === undefined ? 401 : 200, json);
        },
        impacket: async () => {
          const r = await impacketNtlm(dir.path, `${base}/`, 'alice', PASSWORD, 'EXAMPLE');
          return cell(r.status, parse(r.body));
        },
        'gss-ntlmssp': async () => {
          const r = await curlNegotiate(`${negotiateBase}/`, gssEnv, {
            user: `alice:${PASSWORD}`,
            insecure: true,
          });
          return cell(r.status, parse(r.body));
        },
      };

      for (const client of CLIENTS) {
        it(`${client}: ${row.expected[client]}`, async () => {
          const result = await run[client]();
          measured.get(row.name)![client] = result;
          assert.equal(result, row.expected[client]);
        });
      }
    });
  }
});
