/**
 * The keytab check: which principals, kvnos and enctypes a keytab holds, and whether the service
 * principal the server is meant to answer for is among them with a key the acceptor will use.
 * The most common Kerberos failure behind a web server is a keytab that does not match the SPN
 * the browser asked a ticket for (wrong host name, old kvno after a password reset, RC4 only).
 */
import { readFileSync } from 'node:fs';
import { isHttpAuthError } from '../errors.js';
import { keytabPath, parseKeytab, type KeytabEntry } from '../kerberos/keytab.js';
import { parsePrincipal } from '../kerberos/messages/principal-name.js';
import { enctypeName, isAes } from './enctypes.js';
import { finding, type Finding } from './findings.js';

/**
 * What {@link checkKeytab} reads: the keytab, and optionally the SPN that must be in it and whether
 * RC4 keys count as usable.
 */
export interface KeytabCheckOptions {
  /** Keytab name ('FILE:/path' or a path). */
  readonly keytab: string;
  /** The service principal the server answers for: 'HTTP/host' or 'HTTP/host@REALM'. */
  readonly spn?: string;
  /** The server accepts RC4 tickets (negotiate's `allowRc4`). */
  readonly allowRc4?: boolean;
}

/**
 * The result of {@link checkKeytab}: the keytab's entries (empty when it could not be read), for
 * the ticket and KDC checks that follow, and the findings.
 */
export interface KeytabCheck {
  readonly entries: readonly KeytabEntry[];
  readonly findings: readonly Finding[];
}

/** One line per principal: `HTTP/web.example.test@EXAMPLE.TEST kvno 3: aes256-..., aes128-...`. */
export function describeKeytab(entries: readonly KeytabEntry[]): string[] {
  const byKey = new Map<string, Set<string>>();
  for (const entry of entries) {
    const key = `${entry.principal} kvno ${entry.kvno}`;
    const names = byKey.get(key) ?? new Set<string>();
    names.add(enctypeName(entry.enctype));
    byKey.set(key, names);
  }
  return [...byKey].map(([key, names]) => `${key}: ${[...names].join(', ')}`);
}

function matchesSpn(entry: KeytabEntry, spn: string): boolean {
  const wanted = parsePrincipal(spn);
  if (wanted.realm !== undefined && wanted.realm !== entry.realm) return false;
  if (wanted.components.length !== entry.components.length) return false;
  // Host names compare case-insensitively; the service class as written (MIT does the same).
  return wanted.components.every((part, i) =>
    i === 0
      ? part === entry.components[0]
      : part.toLowerCase() === entry.components[i]!.toLowerCase(),
  );
}

function spnFindings(entries: readonly KeytabEntry[], options: KeytabCheckOptions): Finding[] {
  const spn = options.spn!;
  const matching = entries.filter((entry) => matchesSpn(entry, spn));
  if (matching.length === 0) {
    const hosts = [...new Set(entries.map((e) => e.principal))].join(', ') || 'none';
    return [finding('spn', 'fail', `${spn} is not in the keytab (it holds: ${hosts})`)];
  }
  const usable = matching.filter(
    (entry) => entry.key !== undefined && (isAes(entry.enctype) || options.allowRc4 === true),
  );
  if (usable.length === 0) {
    const held = [...new Set(matching.map((e) => enctypeName(e.enctype)))].join(', ');
    return [
      finding(
        'spn',
        'fail',
        `${spn} has no key this server accepts (held: ${held}; AES is required unless allowRc4)`,
      ),
    ];
  }
  const newest = Math.max(...usable.map((entry) => entry.kvno));
  const enctypes = [
    ...new Set(usable.filter((e) => e.kvno === newest).map((e) => enctypeName(e.enctype))),
  ];
  const out = [finding('spn', 'ok', `${spn}: kvno ${newest} with ${enctypes.join(', ')}`)];
  const kvnos = new Set(usable.map((entry) => entry.kvno));
  if (kvnos.size > 1) {
    out.push(
      finding(
        'spn',
        'info',
        `${spn} has keys for kvno ${[...kvnos].sort((a, b) => a - b).join(', ')}: tickets for any of them are accepted (rotation)`,
      ),
    );
  }
  return out;
}

/**
 * Reads a keytab and reports what it holds: the number of keys and principals, one line per
 * principal and kvno with its enctypes, keys of enctypes the server cannot use, a missing `HTTP/`
 * principal and, when `spn` is given, whether the keytab has a usable key for it. An unreadable or
 * malformed keytab is a single `fail` finding, not an exception. Prints names, kvnos and enctypes,
 * never a key.
 */
export function checkKeytab(options: KeytabCheckOptions): KeytabCheck {
  let entries: KeytabEntry[];
  try {
    entries = parseKeytab(readFileSync(keytabPath(options.keytab)));
  } catch (error) {
    const why = isHttpAuthError(error)
      ? 'not a keytab (bad format)'
      : ((error as NodeJS.ErrnoException).code ?? 'unreadable');
    return { entries: [], findings: [finding('keytab', 'fail', `${options.keytab}: ${why}`)] };
  }
  const findings: Finding[] = [];
  if (entries.length === 0) {
    findings.push(finding('keytab', 'fail', `${options.keytab} holds no keys`));
    return { entries, findings };
  }
  findings.push(
    finding(
      'keytab',
      'ok',
      `${options.keytab}: ${entries.length} keys for ${new Set(entries.map((e) => e.principal)).size} principals`,
    ),
  );
  for (const line of describeKeytab(entries)) findings.push(finding('keytab', 'info', line));
  const unusable = entries.filter((entry) => entry.key === undefined);
  if (unusable.length > 0) {
    const names = [...new Set(unusable.map((e) => enctypeName(e.enctype)))].join(', ');
    findings.push(finding('keytab', 'warn', `keys never used (unsupported enctypes): ${names}`));
  }
  if (!entries.some((entry) => entry.components[0] === 'HTTP')) {
    findings.push(
      finding('keytab', 'warn', 'no HTTP/ service principal: browsers ask tickets for HTTP/<host>'),
    );
  }
  if (options.spn !== undefined) findings.push(...spnFindings(entries, options));
  return { entries, findings };
}
