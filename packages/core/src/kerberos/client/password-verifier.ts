/**
 * Checking a user's password with the KDC, the way mod_auth_kerb's KrbVerifyKDC and
 * mod_auth_gssapi's GssapiBasicAuth do (krb5_verify_init_creds):
 *
 *  1. AS exchange with the password: a TGT for the user (as-exchange.ts). This alone proves
 *     nothing: whoever answers on the KDC's address picks the key, and a spoofed KDC accepts
 *     any password it is sent.
 *  2. TGS exchange with that TGT: a service ticket for this server's own principal (for a user
 *     of a trusted realm, over the realms' trust first: cross-realm.ts).
 *  3. That ticket must decrypt with the server's keytab key (RFC 4120 §5.3, key usage 2), and
 *     carry the session key and client the KDC announced in the TGS-REP: only the realm's real
 *     KDC knows the service's key. Until then nothing is believed.
 *
 * The password is used for string-to-key and dropped; it is never logged, cached or put in an
 * error. Every failure is an HttpAuthError with a stable code (kdc-errors.ts).
 */
import { HttpAuthError } from '../../errors.js';
import { bytesEqual } from '../../crypto/constant-time.js';
import { EncType, encryptionProfile, KeyUsage, SUPPORTED_ENCTYPES } from '../crypto/index.js';
import type { KeytabFile } from '../keytab.js';
import { Keytab } from '../keytab.js';
import { decodeEncTicketPart, type EncTicketPart } from '../messages/enc-ticket-part.js';
import {
  NameType,
  parsePrincipal,
  sameComponents,
  unparsePrincipal,
  type PrincipalName,
} from '../messages/principal-name.js';
import { passwordKeys, requestInitialTicket, type ClientTicket } from './as-exchange.js';
import { requestInitialTicketArmored } from './fast-as-exchange.js';
import { requestServiceTicketAcrossRealms } from './cross-realm.js';

export interface VerifiedKerberosUser {
  /** 'alice@EXAMPLE.TEST' */
  readonly principal: string;
  /** 'alice' */
  readonly user: string;
  readonly realm: string;
  /** When the TGT the KDC issued ends (the password was right until at least then). */
  readonly endtime: number;
}

export interface PasswordVerifierParams {
  /** The service's realm, and the realm of user names typed without one. */
  readonly realm: string;
  /**
   * Further realms whose users may log on as 'alice@PARTNER.TEST': their TGT comes from their
   * own KDCs, the service ticket over the realms' trust (cross-realm.ts). Default none.
   */
  readonly trustedRealms?: readonly string[];
  readonly keytab: Keytab | KeytabFile;
  /** The server's own principal ('HTTP/host@REALM'); default: the keytab's first in `realm`. */
  readonly servicePrincipal: string | undefined;
  readonly allowRc4: boolean;
  /** Sends one request to `realm`'s KDCs and returns the reply bytes. */
  readonly sendTo: (realm: string, request: Buffer) => Promise<Buffer>;
  /**
   * The service's own TGT (of `realm`, from the keytab) for `servicePrincipal`, to armor the AS
   * exchange of a user whose KDC requires FAST (fast-as-exchange.ts). Without it, or for users of
   * another realm, such a logon fails with ERR_HTTPAUTH_KDC_FAST_REQUIRED.
   */
  readonly armorTgt?: (servicePrincipal: string) => Promise<ClientTicket>;
  readonly now: () => number;
}

const AES_FIRST: readonly number[] = SUPPORTED_ENCTYPES.filter((e) => e !== EncType.RC4_HMAC);

/** Enctypes offered: AES-SHA2 and AES-SHA1; RC4 last, and only when allowed. */
export function offeredEnctypes(allowRc4: boolean): readonly number[] {
  return allowRc4 ? [...AES_FIRST, EncType.RC4_HMAC] : AES_FIRST;
}

function isFastRequired(error: unknown): boolean {
  return error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_KDC_FAST_REQUIRED';
}

/**
 * The service's own TGT for FAST armor. Its AS-REP not decrypting with the keytab key is not the
 * user's wrong password: that KDC does not know the service's key (spoofed, or a stale keytab).
 */
async function serviceArmor(
  armorTgt: (servicePrincipal: string) => Promise<ClientTicket>,
  servicePrincipal: string,
): Promise<ClientTicket> {
  try {
    return await armorTgt(servicePrincipal);
  } catch (error) {
    if (error instanceof HttpAuthError && error.code === 'ERR_HTTPAUTH_BAD_CREDENTIALS') {
      throw unverified(
        `the KDC does not know ${servicePrincipal}'s keytab key (FAST armor)`,
        error,
      );
    }
    throw error;
  }
}

function unverified(reason: string, cause?: unknown): HttpAuthError {
  return new HttpAuthError('ERR_HTTPAUTH_KDC_UNVERIFIED', {
    reason,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The client name and realm for a Basic user-id: 'alice' (the service's realm) or
 * 'alice@REALM' for the service's realm or one of `trustedRealms`. Names with several components
 * ('HTTP/host') or of any other realm are refused as bad credentials without asking a KDC: a
 * Basic form is for users, and service keys are random anyway.
 */
export function userPrincipalName(
  user: string,
  realm: string,
  trustedRealms: readonly string[] = [],
): { readonly cname: PrincipalName; readonly realm: string } | undefined {
  if (user === '' || user.length > 256) return undefined;
  const parsed = parsePrincipal(user);
  // Users type their UPN suffix in lower case ('alice@example.test'): a configured realm is
  // recognised in any ASCII case, and the configured spelling is what the KDC is sent.
  let userRealm = realm;
  if (parsed.realm !== undefined) {
    const typed = parsed.realm.toUpperCase();
    const known = [realm, ...trustedRealms].find((r) => r.toUpperCase() === typed);
    if (known === undefined) return undefined;
    userRealm = known;
  }
  if (parsed.components.length !== 1 || parsed.components[0] === '') return undefined;
  return {
    cname: { nameType: NameType.PRINCIPAL, components: parsed.components },
    realm: userRealm,
  };
}

function serviceName(params: PasswordVerifierParams, keytab: Keytab): PrincipalName {
  let principal = params.servicePrincipal;
  if (principal === undefined) {
    principal = keytab.principals().find((p) => keytab.entriesFor(p)[0]?.realm === params.realm);
  }
  if (principal === undefined) throw unverified(`the keytab has no key of realm ${params.realm}`);
  const parsed = parsePrincipal(principal);
  return { nameType: NameType.SRV_HST, components: parsed.components };
}

/** Step 3: the service ticket under the keytab key, and its agreement with the TGS-REP. */
function verifyServiceTicket(
  serviceTicket: ClientTicket,
  keytab: Keytab,
  realm: string,
  cname: PrincipalName,
): EncTicketPart {
  const { ticket } = serviceTicket;
  const principal = unparsePrincipal(ticket.sname, ticket.realm);
  const key = keytab.find(principal, ticket.encPart.etype, ticket.encPart.kvno);
  if (key === undefined) {
    throw unverified(
      `no keytab key for ${principal} enctype ${ticket.encPart.etype} kvno ${ticket.encPart.kvno ?? '-'}`,
    );
  }
  const profile = encryptionProfile(key.enctype);
  if (profile === undefined) throw unverified('unsupported service ticket enctype');
  let part: EncTicketPart;
  try {
    part = decodeEncTicketPart(
      profile.decrypt(key, KeyUsage.KDC_REP_TICKET, ticket.encPart.cipher),
    );
  } catch (error) {
    throw unverified('the service ticket does not decrypt with the keytab', error);
  }
  const announced = serviceTicket.part.key;
  if (
    part.key.keytype !== announced.keytype ||
    !bytesEqual(part.key.keyvalue, announced.keyvalue) ||
    part.crealm !== realm ||
    !sameComponents(part.cname.components, cname.components)
  ) {
    throw unverified('the service ticket does not match the TGS-REP');
  }
  return part;
}

/**
 * Verifies `password` for `user`. Resolves with the user's principal; rejects with an
 * HttpAuthError (ERR_HTTPAUTH_BAD_CREDENTIALS for an unknown user or a wrong password alike).
 */
export async function verifyKerberosPassword(
  params: PasswordVerifierParams,
  user: string,
  password: string,
): Promise<VerifiedKerberosUser> {
  const name = userPrincipalName(user, params.realm, params.trustedRealms);
  if (name === undefined || password === '') {
    throw new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS', {
      reason: name === undefined ? 'not a user name of the realm' : 'empty password',
    });
  }
  const { cname, realm: userRealm } = name;
  // Read the keytab first: without a key to verify with, the KDC must not even be asked.
  const keytab =
    params.keytab instanceof Keytab ? params.keytab : params.keytab.current(params.now());
  const sname = serviceName(params, keytab);
  const etypes = offeredEnctypes(params.allowRc4);
  const asParams = {
    realm: userRealm,
    cname,
    key: passwordKeys(password),
    etypes,
    send: (request: Buffer) => params.sendTo(userRealm, request),
    now: params.now,
    lifetimeMs: 10 * 60_000,
  };
  let tgt: ClientTicket;
  try {
    tgt = await requestInitialTicket(asParams);
  } catch (error) {
    // RFC 6113: a KDC that takes the password only in a FAST tunnel; armor with our own TGT.
    const { armorTgt } = params;
    if (!isFastRequired(error) || armorTgt === undefined || userRealm !== params.realm) {
      throw error;
    }
    tgt = await requestInitialTicketArmored({
      ...asParams,
      armorTgt: await serviceArmor(armorTgt, unparsePrincipal(sname, params.realm)),
    });
  }
  // A user of a trusted realm reaches this service's realm over the trust (RFC 4120 §3.3.1).
  const serviceTicket = await requestServiceTicketAcrossRealms({
    tgt,
    serviceRealm: params.realm,
    sname,
    etypes,
    sendTo: params.sendTo,
    now: params.now,
  });
  verifyServiceTicket(serviceTicket, keytab, userRealm, cname);
  return {
    principal: unparsePrincipal(cname, userRealm),
    user: cname.components[0] as string,
    realm: userRealm,
    endtime: tgt.part.endtime,
  };
}
