/**
 * The operator-only detail of a refused AP-REQ (HttpAuthError.detail, reaching the failure
 * event and the logs, never the client): what the ticket asked for in clear (RFC 4120 §5.3: sname,
 * realm, enc-part kvno and etype) against what the keytab holds for that name, and the client's
 * realm once the ticket decrypted. The usual causes it tells apart: a wrong SPN (the browser
 * asked for a name the keytab lacks), a stale keytab (the account's kvno moved on), an enctype
 * the keytab has no key for. Never a key, a token or a session key: only names and numbers.
 */
import { attemptedName, withDetail, type HttpAuthError } from '../errors.js';
import type { Keytab } from './keytab.js';
import type { ApReq } from './messages/ap-req.js';
import { unparsePrincipal } from './messages/principal-name.js';

type Detail = Record<string, string | number | boolean>;

/** At most this many keytab principals are named when the ticket's is not among them. */
const MAX_LISTED_PRINCIPALS = 8;

/** Codes where the keytab's inventory is the answer: the key lookup failed or the key was wrong. */
const KEYTAB_CODES: ReadonlySet<string> = new Set([
  'ERR_HTTPAUTH_KRB_NO_KEY',
  'ERR_HTTPAUTH_KRB_WRONG_SERVICE',
  'ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED',
  'ERR_HTTPAUTH_KRB_MODIFIED',
]);

/** What the acceptor learned before the failure; filled in as the phases pass. */
export interface AcceptProgress {
  apReq?: ApReq;
  keytab?: Keytab;
  clientRealm?: string;
}

const unique = (values: readonly number[]): string =>
  [...new Set(values)].sort((a, b) => a - b).join(',');

/** The keytab's keys for the ticket's service principal, or the principals it has instead. */
function keytabInventory(keytab: Keytab, servicePrincipal: string): Detail {
  const entries = keytab.entriesFor(servicePrincipal);
  if (entries.length > 0) {
    return {
      keytabKvnos: unique(entries.map((entry) => entry.kvno)),
      keytabEnctypes: unique(entries.filter((e) => e.key !== undefined).map((e) => e.enctype)),
    };
  }
  const principals = [...new Set(keytab.entries.map((entry) => entry.principal))];
  const listed = principals.slice(0, MAX_LISTED_PRINCIPALS).join(',');
  return {
    keytabKvnos: '',
    keytabEnctypes: '',
    keytabPrincipals: attemptedName(
      principals.length > MAX_LISTED_PRINCIPALS ? `${listed},…` : listed,
    ),
  };
}

/** The error with the ticket's facts (and the keytab's, for a key failure) in its detail. */
export function kerberosFailure(error: HttpAuthError, progress: AcceptProgress): HttpAuthError {
  const { apReq, keytab, clientRealm } = progress;
  if (apReq === undefined) return error;
  const { ticket } = apReq;
  const servicePrincipal = unparsePrincipal(ticket.sname, ticket.realm);
  const detail: Detail = {
    servicePrincipal: attemptedName(servicePrincipal),
    ticketEnctype: ticket.encPart.etype,
    ...(ticket.encPart.kvno === undefined ? {} : { ticketKvno: ticket.encPart.kvno }),
    ...(clientRealm === undefined ? {} : { clientRealm: attemptedName(clientRealm) }),
    ...(keytab !== undefined && KEYTAB_CODES.has(error.code)
      ? keytabInventory(keytab, servicePrincipal)
      : {}),
  };
  return withDetail(error, detail);
}
