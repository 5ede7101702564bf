/**
 * The ticket check: would this server accept a given `Authorization: Negotiate` token? It names
 * what the token carries (SPNEGO or a bare Kerberos token, or NTLM: the client had no ticket),
 * the ticket's service principal, kvno and enctype against the keytab, and then runs the real
 * engine on it with a private replay cache, reporting the principal or the stable error code and
 * its operator-only reason. Get a token with `curl -v --negotiate -u : URL` (the Authorization
 * line) or from a browser's developer tools.
 */
import { isHttpAuthError } from '../errors.js';
import { createAuthenticator } from '../loop/authenticator.js';
import { decodeGssToken } from '../kerberos/gss-token.js';
import type { KeytabEntry } from '../kerberos/keytab.js';
import { decodeApReq } from '../kerberos/messages/ap-req.js';
import { unparsePrincipal } from '../kerberos/messages/principal-name.js';
import { classifyNegotiateToken } from '../negotiate/negotiate-token.js';
import { decodeNegTokenInit } from '../negotiate/neg-token-init.js';
import { KRB5_OID, MS_KRB5_OID } from '../negotiate/oids.js';
import { negotiate } from '../negotiate/negotiate.js';
import { enctypeName } from './enctypes.js';
import { finding, type Finding } from './findings.js';

const AP_REQ_TOKEN_ID = 0x0100;

/**
 * What {@link checkTicket} tries: a client's `Authorization: Negotiate` token against the keytab
 * (its name and its entries as {@link checkKeytab} read them).
 */
export interface TicketCheckOptions {
  readonly keytab: string;
  /** The token: base64, with or without the leading `Negotiate `. */
  readonly token: string;
  readonly entries: readonly KeytabEntry[];
  readonly allowRc4?: boolean;
}

/** The Kerberos GSS token inside what the client sent, or a finding saying why there is none. */
function kerberosToken(token: Buffer): Buffer | Finding {
  const kind = classifyNegotiateToken(token);
  if (kind === 'ntlm') {
    return finding(
      'ticket',
      'fail',
      'an NTLM token: the client had no Kerberos ticket for this server (SPN, DNS or the zone of the browser)',
    );
  }
  if (kind === 'spnego-resp')
    return finding('ticket', 'fail', 'a later SPNEGO leg, not an initial token');
  if (kind === 'kerberos') return token;
  const init = decodeNegTokenInit(token);
  const preferred = init.mechTypes[0];
  if (preferred !== KRB5_OID && preferred !== MS_KRB5_OID) {
    return finding(
      'ticket',
      'fail',
      `SPNEGO offers ${init.mechTypes.join(', ')} first, not Kerberos: the client had no ticket for this server`,
    );
  }
  if (init.mechToken === undefined)
    return finding('ticket', 'fail', 'SPNEGO without an optimistic Kerberos token');
  return init.mechToken;
}

function ticketFindings(gss: Buffer, options: TicketCheckOptions): Finding[] {
  const framed = decodeGssToken(gss);
  if (framed.tokenId !== AP_REQ_TOKEN_ID)
    return [finding('ticket', 'fail', 'the Kerberos token is not an AP-REQ')];
  const { ticket } = decodeApReq(framed.message);
  const sname = unparsePrincipal(ticket.sname, ticket.realm);
  const kvno = ticket.encPart.kvno;
  const out = [
    finding(
      'ticket',
      'info',
      `ticket for ${sname}, kvno ${kvno ?? 'none'}, ${enctypeName(ticket.encPart.etype)}`,
    ),
  ];
  const forName = options.entries.filter((entry) => entry.principal === sname);
  if (forName.length === 0) {
    out.push(
      finding(
        'ticket',
        'fail',
        `the keytab has no key for ${sname}: the client asked for a name this keytab does not hold`,
      ),
    );
    return out;
  }
  if (!forName.some((entry) => entry.enctype === ticket.encPart.etype)) {
    out.push(
      finding(
        'ticket',
        'fail',
        `the keytab has ${sname} but not with ${enctypeName(ticket.encPart.etype)}`,
      ),
    );
  } else if (
    kvno !== undefined &&
    !forName.some(
      (e) => e.enctype === ticket.encPart.etype && (e.kvno === kvno || e.kvno === (kvno & 0xff)),
    )
  ) {
    const held = [...new Set(forName.map((e) => e.kvno))].join(', ');
    out.push(
      finding(
        'ticket',
        'fail',
        `kvno ${kvno} is not in the keytab (it holds ${held}): the account's password changed after the keytab was made`,
      ),
    );
  }
  return out;
}

/**
 * Explains why a client's Kerberos ticket is accepted or refused. It decodes the token (SPNEGO or a
 * raw Kerberos AP-REQ, RFC 4120 §5.5.1), reports the ticket's service principal, kvno and enctype
 * against the keytab's entries (a missing name, enctype or kvno is a `fail` with the likely cause),
 * then runs the real `negotiate` package on it with its own in-memory replay cache and reports the
 * engine's verdict and error code. An NTLM token or an SPNEGO offer without a Kerberos token is a
 * `fail`.
 */
export async function checkTicket(options: TicketCheckOptions): Promise<Finding[]> {
  const text = options.token.trim().replace(/^Negotiate\s+/i, '');
  const token = Buffer.from(text, 'base64');
  const out: Finding[] = [];
  try {
    const gss = kerberosToken(token);
    if (!Buffer.isBuffer(gss)) return [gss];
    out.push(...ticketFindings(gss, options));
  } catch (error) {
    const code = isHttpAuthError(error) ? error.code : 'not decodable';
    return [finding('ticket', 'fail', `the token does not decode: ${code}`)];
  }
  // The real engine, with its own in-memory replay cache: the check consumes nothing elsewhere.
  const authenticator = createAuthenticator({
    packages: [negotiate({ keytab: options.keytab, allowRc4: options.allowRc4 === true })],
  });
  try {
    const decision = await authenticator.authenticate({
      method: 'GET',
      target: '/',
      headers: { authorization: `Negotiate ${text}` },
      httpVersionMajor: 1,
      secure: false,
      connection: { once: () => undefined, remoteAddress: '127.0.0.1' },
    });
    if (decision.type === 'authenticated') {
      const p = decision.auth.principal;
      out.push(finding('ticket', 'ok', `accepted: ${p.name} (${p.mechanism})`));
    } else {
      const reason = decision.error.reason === undefined ? '' : ` (${decision.error.reason})`;
      out.push(
        finding(
          'ticket',
          'fail',
          `refused: ${decision.error.code}: ${decision.error.message}${reason}`,
        ),
      );
    }
  } finally {
    await authenticator.close();
  }
  return out;
}
