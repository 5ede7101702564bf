/**
 * Phase 2 of accepting an AP-REQ: the Authenticator (RFC 4120 §5.5.1, §3.2.3) and the GSS
 * checksum it carries (RFC 4121 §4.1.1): decrypted with the ticket session key (key usage 11),
 * same client as the ticket, within the clock skew, and the channel binding as the mode says.
 */
import { timingSafeEqual } from 'node:crypto';
import { channelBindingHash, type ChannelBindingMode } from '../channel-binding.js';
import { fail, HttpAuthError } from '../errors.js';
import { encryptionProfile, KeyUsage, type KerberosKey } from './crypto/index.js';
import {
  decodeGssChecksum,
  GSS_CHECKSUM_TYPE,
  isZeroBinding,
  type GssChecksum,
} from './gss-checksum.js';
import {
  decodeKerberosAuthenticator,
  type KerberosAuthenticator,
} from './messages/ap-authenticator.js';
import type { ApReq } from './messages/ap-req.js';
import {
  apOptionsFromAuthorizationData,
  KERB_AP_OPTIONS_CBT,
} from './messages/authorization-data.js';
import { TicketFlags, type EncTicketPart } from './messages/enc-ticket-part.js';
import { sameComponents } from './messages/principal-name.js';

/** Decrypt the authenticator with the ticket session key (usage 11), in the ticket's enctype. */
export function decryptAuthenticator(apReq: ApReq, sessionKey: KerberosKey): KerberosAuthenticator {
  if (apReq.authenticator.etype !== sessionKey.enctype) fail('ERR_HTTPAUTH_KRB_MODIFIED');
  const profile = encryptionProfile(sessionKey.enctype);
  if (profile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  return decodeKerberosAuthenticator(
    profile.decrypt(sessionKey, KeyUsage.AP_REQ_AUTHENTICATOR, apReq.authenticator.cipher),
  );
}

/**
 * The authenticator's client is the ticket's client; the authenticator is within the skew of
 * now; the ticket is valid now, allowing for the skew (RFC 4120 §3.2.3).
 */
export function checkAuthenticatorAndTimes(
  authenticator: KerberosAuthenticator,
  encTicket: EncTicketPart,
  now: number,
  skewMs: number,
): void {
  if (
    authenticator.crealm !== encTicket.crealm ||
    !sameComponents(authenticator.cname.components, encTicket.cname.components)
  ) {
    fail('ERR_HTTPAUTH_KRB_BAD_MATCH');
  }
  const authenticatorTime = authenticator.ctime + Math.floor(authenticator.cusec / 1000);
  // The operator's detail: the client's clock minus ours (positive: the client is ahead), the
  // figure to compare with the allowed skew when a whole site's clocks drift.
  const seconds = (ms: number) => Math.round(ms / 1000);
  if (Math.abs(now - authenticatorTime) > skewMs) {
    throw new HttpAuthError('ERR_HTTPAUTH_KRB_SKEW', {
      detail: {
        clockDifferenceSeconds: seconds(authenticatorTime - now),
        allowedSkewSeconds: seconds(skewMs),
      },
    });
  }
  const start = encTicket.starttime ?? encTicket.authtime;
  if (start - skewMs > now || (encTicket.flags & TicketFlags.INVALID) !== 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_KRB_TICKET_NOT_YET_VALID', {
      detail: { secondsUntilValid: seconds(start - now) },
    });
  }
  if (encTicket.endtime + skewMs < now) {
    throw new HttpAuthError('ERR_HTTPAUTH_KRB_TICKET_EXPIRED', {
      detail: { secondsSinceExpiry: seconds(now - encTicket.endtime) },
    });
  }
}

/** The RFC 4121 §4.1.1 checksum (flags, channel binding, delegation), when the client sent one. */
export function gssChecksumOf(authenticator: KerberosAuthenticator): GssChecksum | undefined {
  if (authenticator.cksum === undefined) return undefined;
  if (authenticator.cksum.cksumtype !== GSS_CHECKSUM_TYPE) fail('ERR_HTTPAUTH_GSS_MALFORMED');
  return decodeGssChecksum(authenticator.cksum.checksum);
}

/**
 * Channel bindings, as IIS's Extended Protection: `none` ignores them; `allow` checks a binding
 * the client sent, and refuses a missing one only when the client said it supports them
 * (MS-KILE KERB_AP_OPTIONS_CBT); `require` refuses a missing one. Returns true when bound.
 */
export function checkChannelBinding(
  mode: ChannelBindingMode,
  checksum: GssChecksum | undefined,
  authenticator: KerberosAuthenticator,
  serverBinding: Buffer | undefined,
): boolean {
  if (mode === 'none') return false;
  const sent = checksum !== undefined && !isZeroBinding(checksum.bindings);
  if (!sent) {
    if (mode === 'require') fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    const cbtSupported =
      (apOptionsFromAuthorizationData(authenticator.authorizationData) & KERB_AP_OPTIONS_CBT) !== 0;
    if (cbtSupported && serverBinding !== undefined) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    return false;
  }
  if (serverBinding === undefined) {
    // A binding over a connection we cannot bind (plain HTTP): nothing to compare it with.
    if (mode === 'require') fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
    return false;
  }
  const expected = channelBindingHash(serverBinding);
  if (!timingSafeEqual(expected, checksum.bindings)) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
  return true;
}
