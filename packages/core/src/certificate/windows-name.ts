/**
 * A certificate Name (RFC 5280 §4.1.2.4) spelled the way Windows spells it in
 * `altSecurityIdentities` (`X509:<I>…`, `X509:<S>…`). The KDC builds that string with
 * `CertNameToStrW(CERT_X500_NAME_STR | CERT_NAME_STR_CRLF_FLAG | CERT_NAME_STR_NO_PLUS_FLAG)`
 * and joins the RDNs with commas, and AD compares it to the stored value as a String(Unicode)
 * attribute, ignoring case (MS-ADTS §3.1.1.3.1.3.2). Hence:
 *
 *   - RDNs in the certificate's order, most significant first, joined by `,` without a space:
 *     `DC=test,DC=samdom,CN=Users CA` (KB5014754's `X509:<I>DC=com,DC=contoso,CN=CONTOSO-DC-CA`);
 *   - attribute names as CryptoAPI's X.500 keys: CN, L, O, OU, C, S (stateOrProvinceName),
 *     STREET, E (emailAddress), DC, T, G, I, SN, SERIALNUMBER; any other type as `OID.<dotted>`;
 *   - values of a multi-valued RDN separated by one space (CERT_NAME_STR_NO_PLUS_FLAG);
 *   - CertNameToStr's quoting (RFC 1779 with Windows' deviations): a value that is empty, has
 *     leading or trailing white space, or contains `,` `+` `=` `"` `<` `>` `#` `;` or a line break
 *     is put in double quotes, a `"` in it doubled; nothing is backslash-escaped;
 *   - a value that is not a character string as `#` and the hex of its DER.
 *
 * Throws ERR_HTTPAUTH_ASN1_MALFORMED on a Name that is not DER.
 */
import { Tag, children, content, decodeDer, raw, readOid, type DerNode } from '../asn1/der.js';
import { fail } from '../errors.js';

/** CryptoAPI's X.500 key names (CertNameToStr, CERT_X500_NAME_STR), by attribute type OID. */
const X500_KEYS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.5', 'SERIALNUMBER'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'S'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.12', 'T'],
  ['2.5.4.42', 'G'],
  ['2.5.4.43', 'I'],
  ['1.2.840.113549.1.9.1', 'E'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
]);

/** Character-string tags (X.680 §41) and how their content octets decode. */
const STRING_DECODERS: ReadonlyMap<number, (bytes: Buffer) => string> = new Map([
  [Tag.UTF8_STRING, (bytes: Buffer) => bytes.toString('utf8')],
  [0x12, (bytes: Buffer) => bytes.toString('latin1')], // NumericString
  [0x13, (bytes: Buffer) => bytes.toString('latin1')], // PrintableString
  [0x14, (bytes: Buffer) => bytes.toString('latin1')], // TeletexString (8-bit, as Windows reads it)
  [0x16, (bytes: Buffer) => bytes.toString('latin1')], // IA5String
  [0x1a, (bytes: Buffer) => bytes.toString('latin1')], // VisibleString
  [0x1e, decodeBmp], // BMPString
  [0x1c, decodeUniversal], // UniversalString
]);

/** Most RDNs, and attributes per RDN, a Name may have before it is refused. */
const MAX_PARTS = 64;

function malformed(): never {
  fail('ERR_HTTPAUTH_ASN1_MALFORMED');
}

function decodeBmp(bytes: Buffer): string {
  if (bytes.length % 2 !== 0) malformed();
  let text = '';
  for (let i = 0; i < bytes.length; i += 2) text += String.fromCharCode(bytes.readUInt16BE(i));
  return text;
}

function decodeUniversal(bytes: Buffer): string {
  if (bytes.length % 4 !== 0) malformed();
  let text = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const code = bytes.readUInt32BE(i);
    if (code > 0x10ffff) malformed();
    text += String.fromCodePoint(code);
  }
  return text;
}

/** Characters that make CertNameToStr quote a value (its Remarks), line breaks included. */
const NEEDS_QUOTES = /[,+="<>#;\r\n]/;

/** CertNameToStr's quoting: `"value"` with `"` doubled, when the value needs it. */
export function quoteWindowsValue(value: string): string {
  const needs = value === '' || /^\s|\s$/.test(value) || NEEDS_QUOTES.test(value);
  return needs ? `"${value.replace(/"/g, '""')}"` : value;
}

function attribute(node: DerNode): string {
  const [type, value, ...extra] = children(node);
  if (type === undefined || value === undefined || extra.length > 0) malformed();
  const oid = readOid(type);
  const key = X500_KEYS.get(oid) ?? `OID.${oid}`;
  const decode = STRING_DECODERS.get(value.tag);
  const text =
    decode === undefined
      ? `#${raw(value).toString('hex')}`
      : quoteWindowsValue(decode(content(value)));
  return `${key}=${text}`;
}

/** The Name (its DER) as Windows writes it in altSecurityIdentities (see above). */
export function windowsNameString(nameDer: Buffer): string {
  const rdns = children(decodeDer(nameDer, Tag.SEQUENCE));
  if (rdns.length > MAX_PARTS) malformed();
  return rdns
    .map((rdn) => {
      if (rdn.tag !== 0x31) malformed(); // RelativeDistinguishedName ::= SET OF
      const attributes = children(rdn);
      if (attributes.length === 0 || attributes.length > MAX_PARTS) malformed();
      return attributes.map(attribute).join(' ');
    })
    .join(',');
}
