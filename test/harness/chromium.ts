/**
 * Test harness: headless Chromium (Debian's /usr/bin/chromium) loading one URL and printing the
 * DOM it rendered, for the NTLM, Negotiate and Digest end-to-end tests. One runner for every
 * scheme: a fresh profile per call, no network services of its own, removed afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  prepareClientCertificate,
  type ChromiumClientCertificate,
} from './chromium-certificates.js';

const CHROMIUM = '/usr/bin/chromium';
/** A browser start is slow on a loaded machine; the bound only stops a hang. */
const CHROMIUM_TIMEOUT_MS = 90_000;

export interface ChromiumOptions {
  /** Accept the test servers' self-signed certificates. */
  readonly insecure?: boolean;
  /**
   * Answer Negotiate challenges from localhost with Kerberos. Chromium sends a Kerberos token
   * only for allow-listed servers and once its profile's "Local State" records that it has seen
   * a Negotiate challenge, so the profile is seeded with that flag.
   */
  readonly negotiate?: boolean;
  /**
   * Turn off Chromium's network prediction (no preconnected sockets). Chromium 156 preconnects
   * a second HTTP/2 connection while loading the page; when it then moves an NTLM handshake to
   * HTTP/1.1 it may still send the NTLM NEGOTIATE on that spare HTTP/2 connection, gets the
   * HTTP_1_1_REQUIRED reset, and its NTLM handler cannot start over (ERR_UNEXPECTED, an empty
   * page). Seen in about one load in five; the tests of the server's HTTP/2 path set this.
   */
  readonly noPreconnect?: boolean;
  /** The environment (KRB5CCNAME, KRB5_CONFIG, NTLM_USER_FILE for gss-ntlmssp). */
  readonly env?: NodeJS.ProcessEnv;
  /** Present a TLS client certificate (chromium-certificates.ts). */
  readonly clientCertificate?: ChromiumClientCertificate;
}

/**
 * Load `url` in headless Chromium with a fresh profile under `dir`; the rendered DOM (a JSON
 * response shows up inside a <pre>). NTLM credentials go in the URL:
 * `http://DOMAIN%5Cuser:pass@host/`.
 */
export async function chromiumDump(
  dir: string,
  url: string,
  options: ChromiumOptions = {},
): Promise<string> {
  const profile = await mkdtemp(join(dir, 'chromium-'));
  const certificate =
    options.clientCertificate === undefined
      ? undefined
      : await prepareClientCertificate(profile, options.clientCertificate);
  if (options.negotiate === true) {
    await writeFile(
      join(profile, 'Local State'),
      JSON.stringify({ net: { received_http_auth_negotiate_headers: true } }),
    );
  }
  const preferences: Record<string, unknown> = { ...certificate?.preferences };
  // The profile preference behind chrome://settings "Preload pages": 2 = never.
  if (options.noPreconnect === true) preferences.net = { network_prediction_options: 2 };
  if (Object.keys(preferences).length > 0) {
    await mkdir(join(profile, 'Default'));
    await writeFile(join(profile, 'Default', 'Preferences'), JSON.stringify(preferences));
  }
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profile}`,
    ...(options.insecure === true ? ['--ignore-certificate-errors'] : []),
    ...(options.negotiate === true ? ['--auth-server-allowlist=localhost'] : []),
    '--dump-dom',
    url,
  ];
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(
        CHROMIUM,
        args,
        {
          env: { ...(options.env ?? process.env), ...certificate?.env },
          timeout: CHROMIUM_TIMEOUT_MS,
          maxBuffer: 4 * 1024 * 1024,
        },
        (error, stdout, stderr) => {
          if (error) reject(Object.assign(error, { stdout, stderr }));
          else resolve(stdout);
        },
      );
    });
  } finally {
    await certificate?.cleanup();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Headless Chromium sending Negotiate to localhost with the tickets `env` points at. */
export function chromiumNegotiate(
  dir: string,
  url: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return chromiumDump(dir, url, { negotiate: true, env });
}

/** The JSON object inside a page Chromium rendered from a JSON response. */
export function jsonFromDom(dom: string): unknown {
  const match = /<pre[^>]*>([\s\S]*?)<\/pre>/.exec(dom);
  const text = (match?.[1] ?? dom)
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
  return JSON.parse(text) as unknown;
}
