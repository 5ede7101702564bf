/**
 * The search filter for a batch of SIDs: `(|(objectSid=<sid 1>)(objectSid=<sid 2>)…)`, where
 * each value is the SID's binary form (MS-DTYP §2.4.2.2), the form AD stores (MS-ADTS §3.1.1.5.2.2).
 *
 * The filter goes to ldapts as filter objects holding the raw bytes, not as an RFC 4515 string:
 * ldapts parses `\xx` escapes in a string filter into a JavaScript string and writes it back as
 * UTF-8, so every byte above 0x7F (most sub-authorities) would reach the server as two bytes and
 * match nothing. The string form is still built, for logs and for tests, with every byte escaped
 * (RFC 4515 §3: `\` and two hex digits is valid for any octet, and leaves nothing to inject).
 */
import { sidToBytes } from '@httpauth/core/wire';
import { EqualityFilter, OrFilter } from 'ldapts';
import type { Filter } from 'ldapts';

/** RFC 4515 §3 escaping of an assertion value, every octet as `\xx`. */
export function escapeFilterBytes(value: Buffer): string {
  let out = '';
  for (const byte of value) out += `\\${byte.toString(16).padStart(2, '0')}`;
  return out;
}

/** The binary values of the SIDs, dropping anything that is not a SID. */
function sidValues(sids: readonly string[]): Buffer[] {
  const values: Buffer[] = [];
  for (const sid of sids) {
    const bytes = sidToBytes(sid);
    if (bytes !== undefined) values.push(bytes);
  }
  return values;
}

/** The filter as ldapts sends it: an OR of objectSid equality assertions on raw bytes. */
export function objectSidFilter(sids: readonly string[]): Filter {
  const filters = sidValues(sids).map(
    (value) => new EqualityFilter({ attribute: 'objectSid', value }),
  );
  return new OrFilter({ filters });
}

/** The same filter as an RFC 4515 string (for logs and tests). */
export function objectSidFilterString(sids: readonly string[]): string {
  const terms = sidValues(sids).map((value) => `(objectSid=${escapeFilterBytes(value)})`);
  return `(|${terms.join('')})`;
}
