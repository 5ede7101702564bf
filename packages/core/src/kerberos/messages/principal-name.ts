/**
 * PrincipalName (RFC 4120 §5.2.2):
 *
 *   PrincipalName ::= SEQUENCE {
 *     name-type   [0] Int32,
 *     name-string [1] SEQUENCE OF KerberosString
 *   }
 */
import {
  children,
  contextFields,
  encodeContextSequence,
  encodeInteger,
  encodeKerberosString,
  encodeSequence,
  expectTag,
  readInt32,
  readKerberosString,
  Tag,
  type DerNode,
} from '../../asn1/der.js';
import { fail } from '../../errors.js';

/** Name types (RFC 4120 §6.2). */
export const NameType = {
  UNKNOWN: 0,
  PRINCIPAL: 1,
  SRV_INST: 2,
  SRV_HST: 3,
  ENTERPRISE: 10,
} as const;

/** A principal name without realm: type and components. */
export interface PrincipalName {
  readonly nameType: number;
  readonly components: readonly string[];
}

/** More components than any real name has; bounds the work on hostile input. */
const MAX_COMPONENTS = 16;

export function decodePrincipalName(node: DerNode): PrincipalName {
  const f = contextFields(node, 1, [0, 1]);
  const nameType = readInt32(f[0] as DerNode);
  const list = children(expectTag(f[1] as DerNode, Tag.SEQUENCE));
  if (list.length === 0 || list.length > MAX_COMPONENTS) fail('ERR_HTTPAUTH_ASN1_MALFORMED');
  return { nameType, components: list.map(readKerberosString) };
}

export function encodePrincipalName(name: PrincipalName): Buffer {
  return encodeContextSequence([
    encodeInteger(name.nameType),
    encodeSequence(...name.components.map(encodeKerberosString)),
  ]);
}

/**
 * The krb5_unparse_name form: components joined with '/', then '@REALM'. Separators and
 * backslashes inside a component are escaped so the result splits back unambiguously.
 */
export function unparsePrincipal(name: PrincipalName, realm: string): string {
  const escape = (s: string): string => s.replace(/[\\/@]/g, (c) => `\\${c}`);
  return `${name.components.map(escape).join('/')}@${realm.replace(/[\\@]/g, (c) => `\\${c}`)}`;
}

/** Parse 'HTTP/host@REALM' or 'HTTP/host' (realm undefined) into components, honouring escapes. */
export function parsePrincipal(text: string): { components: string[]; realm: string | undefined } {
  const components: string[] = [];
  let current = '';
  let realm: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
    } else if (c === '/' && realm === undefined) {
      components.push(current);
      current = '';
    } else if (c === '@' && realm === undefined) {
      components.push(current);
      current = '';
      realm = '';
    } else if (realm !== undefined) {
      realm += c;
    } else {
      current += c;
    }
  }
  if (realm === undefined) components.push(current);
  else realm = current + realm;
  return { components, realm };
}

/** Same components (name types are not compared, as RFC 4120 §6.2 allows). */
export function sameComponents(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
