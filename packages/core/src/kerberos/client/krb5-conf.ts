/**
 * The parts of krb5.conf (MIT's profile format, krb5.conf(5)) a KDC client needs: the `kdc`
 * entries of a realm under [realms], and `dns_lookup_kdc` under [libdefaults].
 *
 *   [libdefaults]
 *       dns_lookup_kdc = true
 *   [realms]
 *       EXAMPLE.TEST = {
 *           kdc = kdc1.example.test:88
 *           kdc = tcp/kdc2.example.test
 *       }
 *
 * `include` and `includedir` directives are not followed (stated in docs/basic.md): list the
 * KDCs in the file given, or pass them as options. A trailing `*` (MIT's "final" marker) is
 * ignored. Lines that do not parse are skipped, as MIT's parser skips unknown relations.
 */
import { readFileSync } from 'node:fs';

import { fail } from '../../errors.js';
import type { KdcAddress } from './kdc-transport.js';

export interface Krb5Conf {
  /** Realm name to its relations (`kdc`, `admin_server`...), each with its values in order. */
  readonly realms: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  readonly libdefaults: ReadonlyMap<string, readonly string[]>;
}

/** A krb5.conf larger than this is not one. */
const MAX_CONF_BYTES = 1024 * 1024;

function add(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

export function parseKrb5Conf(text: string): Krb5Conf {
  if (text.length > MAX_CONF_BYTES) fail('ERR_HTTPAUTH_INVALID_OPTIONS');
  const realms = new Map<string, Map<string, string[]>>();
  const libdefaults = new Map<string, string[]>();
  let section = '';
  // The open { } groups: the first names the realm (in [realms]), deeper ones are ignored.
  const groups: string[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]\s*\*?$/.exec(line);
    if (header !== null) {
      section = (header[1] as string).trim();
      groups.length = 0;
      continue;
    }
    if (line.startsWith('}')) {
      groups.pop();
      continue;
    }
    const relation = /^([^=\s]+)\s*=\s*(.*?)\s*\*?$/.exec(line);
    if (relation === null) continue;
    const key = relation[1] as string;
    const value = relation[2] as string;
    if (value === '{') {
      groups.push(key);
      continue;
    }
    if (section === 'libdefaults' && groups.length === 0) add(libdefaults, key, value);
    if (section === 'realms' && groups.length === 1) {
      const realm = groups[0] as string;
      let relations = realms.get(realm);
      if (relations === undefined) {
        relations = new Map();
        realms.set(realm, relations);
      }
      add(relations, key, value);
    }
  }
  return { realms, libdefaults };
}

export function readKrb5Conf(path: string): Krb5Conf {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail('ERR_HTTPAUTH_INVALID_OPTIONS', error);
  }
  return parseKrb5Conf(text);
}

/**
 * One `kdc` value as MIT reads it: `host`, `host:port`, `[v6addr]:port`, with an optional
 * `udp/` or `tcp/` prefix; the port defaults to 88. `http(s)://` (MS-KKDCP proxies) is not
 * spoken here: such entries give undefined and are skipped.
 */
export function parseKdcAddress(value: string): KdcAddress | undefined {
  let text = value.trim();
  let transport: KdcAddress['transport'] = 'any';
  if (/^[a-z]+:\/\//i.test(text)) return undefined;
  const prefix = /^(udp|tcp)\//i.exec(text);
  if (prefix !== null) {
    transport = (prefix[1] as string).toLowerCase() as 'udp' | 'tcp';
    text = text.slice(4);
  }
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    host = bracketed[1] as string;
    portText = bracketed[2];
  } else {
    const parts = /^([^:\s]+)(?::(\d+))?$/.exec(text);
    if (parts === null) return undefined;
    host = parts[1] as string;
    portText = parts[2];
  }
  const port = portText === undefined ? 88 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host, port, transport };
}

/** The realm's `kdc` entries, in file order. */
export function configuredKdcs(conf: Krb5Conf, realm: string): KdcAddress[] {
  const values = conf.realms.get(realm)?.get('kdc') ?? [];
  const out: KdcAddress[] = [];
  for (const value of values) {
    const address = parseKdcAddress(value);
    if (address !== undefined) out.push(address);
  }
  return out;
}

/** [libdefaults] dns_lookup_kdc as a boolean (MIT: true unless set false), or `fallback`. */
export function dnsLookupKdc(conf: Krb5Conf, fallback: boolean): boolean {
  const value = conf.libdefaults.get('dns_lookup_kdc')?.[0]?.toLowerCase();
  if (value === undefined) return fallback;
  return value === 'true' || value === 'yes' || value === 'on' || value === '1';
}
