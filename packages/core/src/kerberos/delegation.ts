/**
 * Delegated credentials (RFC 4121 §4.1.1, DlgOpt 1): the KRB-CRED a delegating client puts in
 * its GSS checksum, decrypted into what an MIT ccache needs.
 */
import { fail, isHttpAuthError } from '../errors.js';
import { encryptionProfile, KeyUsage, makeKey, type KerberosKey } from './crypto/index.js';
import type { KerberosAuthenticator } from './messages/ap-authenticator.js';
import type { EncTicketPart } from './messages/enc-ticket-part.js';
import { decodeEncKrbCredPart, decodeKrbCred, type KrbCredInfo } from './messages/krb-cred.js';
import { unparsePrincipal } from './messages/principal-name.js';

/** A principal as the ccache format stores it. */
export interface KerberosPrincipalName {
  readonly realm: string;
  readonly nameType: number;
  readonly components: readonly string[];
}

/** One forwarded ticket and what KrbCredInfo says about it. */
export interface DelegatedTicket {
  /** The Ticket DER exactly as forwarded. */
  readonly ticket: Buffer;
  readonly key: KerberosKey;
  readonly client: KerberosPrincipalName;
  readonly server: KerberosPrincipalName;
  /** TicketFlags (RFC 4120 §5.3) as a 32-bit word, bit 0 the most significant. */
  readonly flags: number;
  readonly authtime: number | undefined;
  readonly starttime: number | undefined;
  readonly endtime: number | undefined;
  readonly renewTill: number | undefined;
}

/** The decrypted KRB-CRED of a delegating client: enough to write an MIT ccache. */
export interface DelegatedCredential {
  /** The client as 'user@REALM'. */
  readonly client: string;
  readonly clientName: KerberosPrincipalName;
  readonly tickets: readonly DelegatedTicket[];
}

/**
 * The KRB-CRED of RFC 4121 §4.1.1 (DlgOpt 1): EncKrbCredPart encrypted in the ticket session key
 * with usage 14 (MIT and Windows), or carried unencrypted with etype 0 (RFC 6448, which MIT
 * accepts and some initiators send).
 */
export function decodeDelegation(
  der: Buffer,
  sessionKey: KerberosKey,
  authenticator: KerberosAuthenticator,
  encTicket: EncTicketPart,
): DelegatedCredential {
  try {
    const cred = decodeKrbCred(der);
    let plain: Buffer;
    if (cred.encPart.etype === 0) {
      plain = cred.encPart.cipher;
    } else {
      const keys: KerberosKey[] = [sessionKey];
      if (authenticator.subkey !== undefined) {
        keys.push(makeKey(authenticator.subkey.keytype, authenticator.subkey.keyvalue));
      }
      const key = keys.find((k) => k.enctype === cred.encPart.etype);
      const profile = key === undefined ? undefined : encryptionProfile(key.enctype);
      if (key === undefined || profile === undefined) fail('ERR_HTTPAUTH_KRB_DELEGATION_INVALID');
      plain = profile.decrypt(key, KeyUsage.KRB_CRED_ENCPART, cred.encPart.cipher);
    }
    const part = decodeEncKrbCredPart(plain);
    if (part.ticketInfo.length !== cred.tickets.length || cred.tickets.length === 0) {
      fail('ERR_HTTPAUTH_KRB_DELEGATION_INVALID');
    }
    const clientName: KerberosPrincipalName = {
      realm: encTicket.crealm,
      nameType: encTicket.cname.nameType,
      components: encTicket.cname.components,
    };
    const tickets = cred.tickets.map((forwarded, i) => {
      const info = part.ticketInfo[i] as KrbCredInfo;
      return {
        ticket: Buffer.from(forwarded.der),
        key: makeKey(info.key.keytype, info.key.keyvalue),
        client: {
          realm: info.prealm ?? clientName.realm,
          nameType: info.pname?.nameType ?? clientName.nameType,
          components: info.pname?.components ?? clientName.components,
        },
        server: {
          realm: info.srealm ?? forwarded.realm,
          nameType: info.sname?.nameType ?? forwarded.sname.nameType,
          components: info.sname?.components ?? forwarded.sname.components,
        },
        flags: info.flags ?? 0,
        authtime: info.authtime,
        starttime: info.starttime,
        endtime: info.endtime,
        renewTill: info.renewTill,
      };
    });
    return {
      client: unparsePrincipal(encTicket.cname, encTicket.crealm),
      clientName,
      tickets,
    };
  } catch (error) {
    if (isHttpAuthError(error)) fail('ERR_HTTPAUTH_KRB_DELEGATION_INVALID');
    throw error;
  }
}
