/**
 * MIT Kerberos credential cache, file format version 4 (the FILE: ccache type), so that a
 * forwarded TGT can be handed to child processes and used by MIT tools (`klist`, `kvno`) and any
 * GSS-API program through KRB5CCNAME.
 *
 * Layout (MIT krb5 doc "ccache_file_format"; every integer big-endian in version 4):
 *
 *   file        ::= uint16 version (0x0504) | uint16 headerlen | header tags | principal | credential*
 *   header tag  ::= uint16 tag | uint16 length | value        (tag 1 = DeltaTime: int32 s, int32 us)
 *   principal   ::= uint32 name_type | uint32 count | data realm | data component * count
 *   credential  ::= principal client | principal server | keyblock | uint32 authtime, starttime,
 *                   endtime, renew_till | uint8 is_skey | uint32 ticket_flags | addresses |
 *                   authdata | data ticket | data second_ticket
 *   keyblock    ::= uint16 enctype | data key
 *   addresses   ::= uint32 count | (uint16 addrtype | data address) * count
 *   authdata    ::= uint32 count | (uint16 ad_type | data contents) * count
 *   data        ::= uint32 length | bytes
 *
 * Ticket flags are stored as the 32-bit value of the RFC 4120 KerberosFlags bit string (bit 0, the
 * reserved bit, is the most significant bit): forwardable is 0x40000000.
 *
 * The decoder exists to read caches MIT tools wrote (tests, operators); it bounds every length
 * and throws only HttpAuthError.
 */

export const CCACHE_FILE_FORMAT_V4 = 0x0504;
/** Header tag carrying the KDC time offset (DeltaTime). */
export const CCACHE_TAG_DELTA_TIME = 1;

/** RFC 4120 §6.2 name types used here. */
export const KRB_NT_PRINCIPAL = 1;
export const KRB_NT_SRV_INST = 2;

/** RFC 4120 §5.3 TicketFlags as MIT stores them in a ccache. */
export const TICKET_FLAGS = {
  forwardable: 0x40000000,
  forwarded: 0x20000000,
  proxiable: 0x10000000,
  proxy: 0x08000000,
  mayPostdate: 0x04000000,
  postdated: 0x02000000,
  invalid: 0x01000000,
  renewable: 0x00800000,
  initial: 0x00400000,
  preAuthent: 0x00200000,
  hwAuthent: 0x00100000,
  transitedPolicyChecked: 0x00080000,
  okAsDelegate: 0x00040000,
  encPaRep: 0x00010000,
  anonymous: 0x00008000,
} as const;

/**
 * A principal as an MIT credential cache stores it: name type (RFC 4120 §6.2), realm and name
 * components.
 */
export interface CcachePrincipal {
  readonly nameType: number;
  readonly realm: string;
  readonly components: readonly string[];
}

/** A session key as an MIT credential cache stores it: the enctype number and the key bytes. */
export interface CcacheKeyblock {
  readonly enctype: number;
  readonly value: Buffer;
}

/** An address or an authorization-data element: a 16-bit type and opaque contents. */
export interface CcacheTypedData {
  readonly type: number;
  readonly data: Buffer;
}

/**
 * One credential (a ticket with its session key, times and flags) in an MIT credential cache, as
 * `klist` lists it. Flags are RFC 4120 §5.3 TicketFlags as a 32-bit value (see `TICKET_FLAGS`).
 */
export interface CcacheCredential {
  readonly client: CcachePrincipal;
  readonly server: CcachePrincipal;
  readonly key: CcacheKeyblock;
  /** Seconds since the epoch (uint32). `startTime` 0 means "same as authTime". */
  readonly authTime: number;
  readonly startTime: number;
  readonly endTime: number;
  /** 0 when the ticket is not renewable. */
  readonly renewTill: number;
  readonly isSkey: boolean;
  readonly flags: number;
  readonly addresses: readonly CcacheTypedData[];
  readonly authData: readonly CcacheTypedData[];
  /** DER of the Ticket (RFC 4120 §5.3). */
  readonly ticket: Buffer;
  /** DER of the second ticket for user-to-user; empty otherwise. */
  readonly secondTicket: Buffer;
}

/**
 * A decoded MIT `FILE:` credential cache (format version 4): the default principal and its
 * credentials. The engine writes one for a delegated TGT so child processes can use it through
 * `KRB5CCNAME`; the decoder reads caches MIT tools wrote.
 */
export interface Ccache {
  /** KDC time minus local time, when known (header tag 1). */
  readonly kdcOffset?: { readonly seconds: number; readonly microseconds: number };
  readonly defaultPrincipal: CcachePrincipal;
  readonly credentials: readonly CcacheCredential[];
}

/** Bounds for the decoder: a ccache of a few tickets is a few KiB. */
export const MAX_CCACHE_BYTES = 4 * 1024 * 1024;
export const MAX_COMPONENTS = 16;
export const MAX_LIST = 256;
