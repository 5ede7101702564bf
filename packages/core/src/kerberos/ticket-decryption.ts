/**
 * Phase 1 of accepting an AP-REQ (RFC 4120 §3.2.3): decrypt the ticket with the service key
 * (key usage 2), check it is sane, and verify its PAC (MS-PAC §2.8) with the same key. What comes
 * out is cached per ticket (ticket-cache.ts), so it keeps only what later checks read.
 */
import { attemptedName, fail, rethrowWithDetail } from '../errors.js';
import { encryptionProfile, KeyUsage, makeKey, type KerberosKey } from './crypto/index.js';
import { checkTicketSanity, verifyPac, type PacFacts } from './client-identity.js';
import type { ApReq } from './messages/ap-req.js';
import { decodeEncTicketPart, type EncTicketPart } from './messages/enc-ticket-part.js';

/** A ticket that decrypted and whose PAC verified. */
export interface DecryptedTicket {
  readonly encTicket: EncTicketPart;
  readonly sessionKey: KerberosKey;
  readonly pac: PacFacts | undefined;
}

/**
 * Decrypt and decode the ticket, refuse a session key of an enctype we do not accept
 * (`checkEnctype` throws ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED), check its times and transited path,
 * and verify its PAC with the service key.
 */
export function decryptTicket(
  apReq: ApReq,
  serviceKey: KerberosKey,
  checkEnctype: (enctype: number) => void,
  transitedRealms: ReadonlySet<string>,
): DecryptedTicket {
  const ticketProfile = encryptionProfile(serviceKey.enctype);
  if (ticketProfile === undefined) fail('ERR_HTTPAUTH_KRB_ENCTYPE_REFUSED');
  const encTicket = decodeEncTicketPart(
    ticketProfile.decrypt(serviceKey, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher),
  );
  let sessionKey: KerberosKey;
  let pac: PacFacts | undefined;
  try {
    checkEnctype(encTicket.key.keytype);
    sessionKey = makeKey(encTicket.key.keytype, encTicket.key.keyvalue);
    checkTicketSanity(encTicket, transitedRealms);
    pac = verifyPac(encTicket, serviceKey);
  } catch (error) {
    // The ticket decrypted, so its client realm is known: the operator's first question about
    // a refused cross-realm ticket (transited path, PAC from another domain).
    rethrowWithDetail(error, { clientRealm: attemptedName(encTicket.crealm) });
  }
  // Keep only what later checks read: the authorization data, the addresses and the key are views
  // into the decrypted ticket (a large AD PAC is tens of KiB; a small ticket is a slice of Node's
  // shared 8 KiB pool), which a cache entry must not pin. The key's bytes are the session key's
  // own copy (makeKey).
  const slim: EncTicketPart = {
    ...encTicket,
    key: { keytype: encTicket.key.keytype, keyvalue: sessionKey.bytes },
    transited: { trType: encTicket.transited.trType, contents: Buffer.alloc(0) },
    caddr: undefined,
    authorizationData: [],
  };
  return { encTicket: slim, sessionKey, pac };
}
