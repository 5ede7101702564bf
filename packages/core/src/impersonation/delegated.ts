/**
 * From a delegated credential (the forwarded TGT the Kerberos acceptor decrypted out of the
 * KRB-CRED in the authenticator checksum, RFC 4121 §4.1.1.1) to the ccache that holds it.
 *
 * The acceptor hands it over as `SecurityContextData.delegatedCredential`. Accepted shapes:
 *  - the Kerberos acceptor's `DelegatedCredential` (kerberos/acceptor.ts): `{ client, clientName,
 *    tickets: [{ ticket, key {enctype, bytes}, client, server, flags, authtime, starttime,
 *    endtime, renewTill }] }`, names as {realm, nameType, components}, times in epoch ms;
 *  - `PlainDelegatedTicket` below (names as strings, times as Date or epoch milliseconds);
 *  - the acceptor's own `{ ticket: { der } | Buffer, info: KrbCredInfo }` (RFC 4120 §5.8.1 field
 *    names: key {keytype, keyvalue}, prealm, pname, flags, authtime, starttime, endtime,
 *    renewTill, srealm, sname; times in epoch milliseconds);
 *  - a ready `Ccache`.
 * Anything else is treated as "no delegated credential".
 */
import type { Ccache, CcacheCredential, CcachePrincipal } from '../kerberos/ccache.js';
import {
  KRB_NT_PRINCIPAL,
  KRB_NT_SRV_INST,
  ccacheTime,
  parsePrincipalName,
} from '../kerberos/ccache.js';

/**
 * A delegated Kerberos ticket in plain form (names as strings, times as `Date` or epoch
 * milliseconds), one of the shapes a custom security package may hand over as
 * `SecurityContextData.delegatedCredential` to be written into the user's credential cache.
 */
export interface PlainDelegatedTicket {
  /** `alice@EXAMPLE.TEST` */
  readonly client: string;
  /** `krbtgt/EXAMPLE.TEST@EXAMPLE.TEST` */
  readonly server: string;
  readonly sessionKey: { readonly enctype: number; readonly value: Buffer };
  readonly authTime?: Date | number;
  readonly startTime?: Date | number;
  readonly endTime: Date | number;
  readonly renewTill?: Date | number;
  /** Ticket flags as a 32-bit KerberosFlags value (forwardable = 0x40000000). */
  readonly flags: number;
  /** DER of the Ticket. */
  readonly ticket: Buffer;
}

type Loose = Record<string, unknown>;

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null;
}

function seconds(value: unknown): number | undefined {
  if (value instanceof Date) return ccacheTime(value);
  if (typeof value === 'number' && Number.isFinite(value)) return ccacheTime(new Date(value));
  return undefined;
}

function isPrincipalName(value: unknown): value is { nameType: number; components: string[] } {
  return (
    isObject(value) &&
    typeof value.nameType === 'number' &&
    Array.isArray(value.components) &&
    value.components.every((c) => typeof c === 'string')
  );
}

function fromDelegatedTicket(value: Loose): Ccache | undefined {
  const key = value.sessionKey;
  if (
    typeof value.client !== 'string' ||
    typeof value.server !== 'string' ||
    !isObject(key) ||
    typeof key.enctype !== 'number' ||
    !Buffer.isBuffer(key.value) ||
    !Buffer.isBuffer(value.ticket) ||
    typeof value.flags !== 'number'
  ) {
    return undefined;
  }
  const endTime = seconds(value.endTime);
  if (endTime === undefined) return undefined;
  const client = parsePrincipalName(value.client, KRB_NT_PRINCIPAL);
  const server = parsePrincipalName(value.server, KRB_NT_SRV_INST);
  const authTime = seconds(value.authTime) ?? seconds(value.startTime) ?? 0;
  return single(client, {
    client,
    server,
    key: { enctype: key.enctype, value: key.value },
    authTime,
    startTime: seconds(value.startTime) ?? authTime,
    endTime,
    renewTill: seconds(value.renewTill) ?? 0,
    isSkey: false,
    flags: value.flags >>> 0,
    addresses: [],
    authData: [],
    ticket: value.ticket,
    secondTicket: Buffer.alloc(0),
  });
}

function fromKrbCredInfo(value: Loose): Ccache | undefined {
  const info = isObject(value.info) ? value.info : value.credInfo;
  const ticket = Buffer.isBuffer(value.ticket)
    ? value.ticket
    : isObject(value.ticket) && Buffer.isBuffer(value.ticket.der)
      ? value.ticket.der
      : undefined;
  if (!isObject(info) || ticket === undefined) return undefined;
  const key = info.key;
  if (!isObject(key) || typeof key.keytype !== 'number' || !Buffer.isBuffer(key.keyvalue)) {
    return undefined;
  }
  if (
    typeof info.prealm !== 'string' ||
    typeof info.srealm !== 'string' ||
    !isPrincipalName(info.pname) ||
    !isPrincipalName(info.sname)
  ) {
    return undefined;
  }
  const endTime = seconds(info.endtime);
  if (endTime === undefined) return undefined;
  const client: CcachePrincipal = {
    nameType: info.pname.nameType,
    realm: info.prealm,
    components: info.pname.components,
  };
  const server: CcachePrincipal = {
    nameType: info.sname.nameType,
    realm: info.srealm,
    components: info.sname.components,
  };
  const authTime = seconds(info.authtime) ?? seconds(info.starttime) ?? 0;
  return single(client, {
    client,
    server,
    key: { enctype: key.keytype, value: key.keyvalue },
    authTime,
    startTime: seconds(info.starttime) ?? authTime,
    endTime,
    renewTill: seconds(info.renewTill) ?? 0,
    isSkey: false,
    flags: typeof info.flags === 'number' ? info.flags >>> 0 : 0,
    addresses: [],
    authData: [],
    ticket,
    secondTicket: Buffer.alloc(0),
  });
}

function single(client: CcachePrincipal, credential: CcacheCredential): Ccache {
  return { defaultPrincipal: client, credentials: [credential] };
}

function ccachePrincipal(value: unknown): CcachePrincipal | undefined {
  if (!isPrincipalName(value)) return undefined;
  const realm = (value as unknown as Loose).realm;
  if (typeof realm !== 'string') return undefined;
  return { nameType: value.nameType, realm, components: [...value.components] };
}

function fromAcceptorCredential(value: Loose): Ccache | undefined {
  const defaultPrincipal = ccachePrincipal(value.clientName);
  if (
    defaultPrincipal === undefined ||
    !Array.isArray(value.tickets) ||
    value.tickets.length === 0
  ) {
    return undefined;
  }
  const credentials: CcacheCredential[] = [];
  for (const entry of value.tickets as unknown[]) {
    if (!isObject(entry) || !Buffer.isBuffer(entry.ticket)) return undefined;
    const key = entry.key;
    const client = ccachePrincipal(entry.client);
    const server = ccachePrincipal(entry.server);
    const endTime = seconds(entry.endtime);
    if (
      !isObject(key) ||
      typeof key.enctype !== 'number' ||
      !Buffer.isBuffer(key.bytes) ||
      client === undefined ||
      server === undefined ||
      endTime === undefined
    ) {
      return undefined;
    }
    const authTime = seconds(entry.authtime) ?? seconds(entry.starttime) ?? 0;
    credentials.push({
      client,
      server,
      key: { enctype: key.enctype, value: key.bytes },
      authTime,
      startTime: seconds(entry.starttime) ?? authTime,
      endTime,
      renewTill: seconds(entry.renewTill) ?? 0,
      isSkey: false,
      flags: typeof entry.flags === 'number' ? entry.flags >>> 0 : 0,
      addresses: [],
      authData: [],
      ticket: entry.ticket,
      secondTicket: Buffer.alloc(0),
    });
  }
  return { defaultPrincipal, credentials };
}

/** The ccache for a delegated credential, or undefined when there is none we can use. */
export function delegatedCcache(value: unknown): Ccache | undefined {
  if (!isObject(value)) return undefined;
  try {
    if (isObject(value.defaultPrincipal) && Array.isArray(value.credentials)) {
      return value as unknown as Ccache;
    }
    if (Array.isArray(value.tickets)) return fromAcceptorCredential(value);
    return fromDelegatedTicket(value) ?? fromKrbCredInfo(value);
  } catch {
    // A name that does not parse is no usable credential.
    return undefined;
  }
}
