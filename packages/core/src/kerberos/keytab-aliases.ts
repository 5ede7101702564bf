/**
 * Names of a keytab that share a key. AD tools (adcli, msktutil, `net ads keytab`) write the
 * machine account's one key under every name of the host: `host/fqdn`, `host/SHORT`, `HTTP/fqdn`,
 * `RestrictedKrbHost/…`, `SHORT$`. A ticket's sname and realm are cleartext outside its encrypted
 * part (RFC 4120 §5.3), so a ticket issued for one of these names decrypts, unchanged, as a
 * ticket for any other: for the acceptor they are one service.
 */
import { createHash } from 'node:crypto';
import type { Keytab } from './keytab.js';
import type { PrincipalName } from './messages/principal-name.js';

export interface KeytabName {
  readonly principal: string;
  readonly sname: PrincipalName;
  readonly realm: string;
}

/** Groups of two or more distinct principals holding the same key (same enctype and bytes). */
export function sharedKeyAliases(keytab: Keytab): KeytabName[][] {
  const byKey = new Map<string, Map<string, KeytabName>>();
  for (const entry of keytab.entries) {
    if (entry.key === undefined) continue;
    // A digest, so that no key material is kept in a string.
    const id = createHash('sha256')
      .update(`${entry.enctype}:`)
      .update(entry.key.bytes)
      .digest('base64');
    let names = byKey.get(id);
    if (names === undefined) byKey.set(id, (names = new Map()));
    names.set(entry.principal, {
      principal: entry.principal,
      sname: { nameType: entry.nameType, components: entry.components },
      realm: entry.realm,
    });
  }
  return [...byKey.values()].filter((names) => names.size > 1).map((names) => [...names.values()]);
}
