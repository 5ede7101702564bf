/**
 * Relay protection for the NTLM acceptor: what binds an AUTHENTICATE to this TLS channel
 * (MsvAvChannelBindings, "Extended Protection") and to this service (MsvAvTargetName, "service
 * binding"), MS-NLMP 3.2.5.1.2 and 3.1.5.1.2.
 *
 * A relay hands us an AUTHENTICATE the victim computed for another server. Both AV pairs are
 * inside the NTProofStr, so the relay cannot change them: the victim's client put its own TLS
 * channel (or none) and the name of the server it meant (`cifs/evil.example`, `HTTP/evil...`)
 * there. The defaults, like IIS with Extended Protection "Required" and an SPN list:
 *  - over TLS the binding must be present and match this connection ('require-over-tls');
 *  - a target name must name this service: one of `targetNames`, or `HTTP/<h>` for each of
 *    `hostNames`; with neither configured, at least the service class must be HTTP (a name for
 *    SMB, LDAP or any other protocol is a cross-protocol relay) and a warning says the host part
 *    is unchecked.
 * Responses with no AV pairs at all (NTLMv1, LM, anonymous) carry neither binding, so they are
 * refused wherever a binding is required.
 */
import { channelBindingHash, type ChannelBindingMode } from '../channel-binding.js';
import { HttpAuthError, fail } from '../errors.js';
import type { AvPair } from './av-pairs.js';
import {
  MsvAvChannelBindings,
  MsvAvTargetName,
  MsvAvTimestamp,
  avPairString,
  findAvPair,
} from './av-pairs.js';
import { bytesEqual } from '../crypto/constant-time.js';

/**
 * 'none': ignore bindings. 'allow': check a binding when one is sent. 'require': the connection
 * must be TLS and carry a matching binding (NTLM is then refused over plain HTTP).
 * 'require-over-tls' (default): 'require' on a connection whose binding data is known (TLS here,
 * or `channelBindingCertificate` behind a proxy), 'allow' elsewhere: IIS's EPA "Required".
 */
export type NtlmChannelBindingMode = ChannelBindingMode | 'require-over-tls';

/**
 * NTLM relay protection, part of `ntlm()`'s and `negotiate({ ntlm })`'s options: the
 * channel-binding mode (MsvAvChannelBindings, MS-NLMP §3.2.5.1.2) and the SPNs accepted as the
 * client's MsvAvTargetName.
 */
export interface NtlmBindingOptions {
  readonly channelBinding?: { readonly mode?: NtlmChannelBindingMode };
  /**
   * The host names clients use to reach this service, as in the URL: `host` or `host:port`. Each
   * makes `HTTP/host` an accepted MsvAvTargetName (the SPN Windows and gss-ntlmssp send), and
   * `host:port` also `HTTP/host:port` (Chromium adds a port other than 80/443). Ignored when
   * `targetNames` is set.
   */
  readonly hostNames?: readonly string[];
  /** The accepted MsvAvTargetName SPNs (case-insensitive), replacing those of `hostNames`. */
  readonly targetNames?: readonly string[];
  /**
   * Accept an NTLMv2 response without MsvAvTargetName while target names are configured
   * (default false; one that is channel-bound to this connection needs no name). For clients
   * that never send one (curl, requests_ntlm over plain HTTP); see docs/ntlm.md.
   */
  readonly allowMissingTargetName?: boolean;
}

/** The Node warning code emitted when NTLM runs bound to neither the channel nor the service. */
export const UNBOUND_WARNING_CODE = 'HTTPAUTH_NTLM_UNBOUND';
/** The service class of an HTTP SPN (RFC 4559 §4; MS-NLMP 3.1.5.1.2 "HTTP/host"). */
const HTTP_SERVICE_CLASS = 'http';

let unboundWarned = false;

/** For tests: forget that the once-per-process warning was emitted. */
export function resetUnboundWarning(): void {
  unboundWarned = false;
}

function isZero(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0) return false;
  return true;
}

function nameList(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  return value.map((item: unknown) => {
    if (typeof item !== 'string' || item.trim() === '' || /\s/.test(item)) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    return item.toLowerCase();
  });
}

/** `host` or `host:port` (an IPv6 literal in brackets) as in a URL. */
const HOST_WITH_PORT = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/;

/** The SPNs a client may name for a host it reached this service by (see `hostNames`). */
function spnsForHost(host: string): string[] {
  const spn = `${HTTP_SERVICE_CLASS}/${host}`;
  const withPort = HOST_WITH_PORT.exec(host);
  return withPort === null ? [spn] : [spn, `${HTTP_SERVICE_CLASS}/${withPort[1]}`];
}

export class NtlmBindingPolicy {
  readonly mode: NtlmChannelBindingMode;
  /** Accepted SPNs, lower-cased; undefined when only the service class is checked. */
  readonly targetNames: ReadonlySet<string> | undefined;
  readonly allowMissingTargetName: boolean;

  constructor(options: NtlmBindingOptions) {
    const mode = options.channelBinding?.mode ?? 'require-over-tls';
    if (!['none', 'allow', 'require', 'require-over-tls'].includes(mode)) {
      throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    }
    this.mode = mode;
    if (options.targetNames !== undefined) {
      this.targetNames = new Set(nameList(options.targetNames));
    } else if (options.hostNames !== undefined) {
      const hosts = nameList(options.hostNames);
      if (hosts.some((host) => host.includes('/'))) {
        throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
      }
      this.targetNames = new Set(hosts.flatMap(spnsForHost));
    }
    const allowMissing = options.allowMissingTargetName ?? false;
    if (typeof allowMissing !== 'boolean') throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    this.allowMissingTargetName = allowMissing;
  }

  /**
   * True when some AUTHENTICATE could be accepted bound to neither this TLS channel nor this
   * service: the target name is unchecked (or may be missing) and bindings are not always required.
   */
  get unbound(): boolean {
    const serviceUnpinned = this.targetNames === undefined || this.allowMissingTargetName;
    return serviceUnpinned && this.mode !== 'require';
  }

  /** Start-up warning, once per process, through Node's warning mechanism (`process.on('warning')`). */
  warnIfUnbound(): void {
    if (!this.unbound || unboundWarned) return;
    unboundWarned = true;
    process.emitWarning(
      'NTLM accepts authentications bound to neither this TLS channel nor this service: a relayed ' +
        'NTLM authentication can succeed over plain HTTP' +
        (this.mode === 'require-over-tls' ? '' : ' and over TLS') +
        '. Set hostNames (or targetNames) and serve NTLM over TLS; see docs/ntlm.md.',
      { type: 'HttpAuthWarning', code: UNBOUND_WARNING_CODE },
    );
  }

  #requiresBinding(applicationData: Buffer | undefined): boolean {
    if (this.mode === 'require') return true;
    return this.mode === 'require-over-tls' && applicationData !== undefined;
  }

  /**
   * MsvAvChannelBindings (MS-NLMP 3.2.5.1.2): the MD5 of the gss_channel_bindings_struct over
   * this connection's RFC 5929 tls-server-end-point data. Returns true when bound.
   */
  checkChannelBinding(pairs: readonly AvPair[], applicationData: Buffer | undefined): boolean {
    if (this.mode === 'none') return false;
    const sent = findAvPair(pairs, MsvAvChannelBindings);
    const absent = sent === undefined || isZero(sent);
    if (this.#requiresBinding(applicationData)) {
      // A client that echoes no MsvAvTimestamp predates channel bindings (MS-NLMP 3.1.5.1.2).
      if (findAvPair(pairs, MsvAvTimestamp) === undefined) {
        fail('ERR_HTTPAUTH_NTLM_TIMESTAMP_MISSING');
      }
      if (applicationData === undefined || absent) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    } else if (absent) {
      return false;
    }
    // Over plain HTTP there is nothing a non-zero binding could match: it was made for another channel.
    if (applicationData === undefined) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
    if (!bytesEqual(channelBindingHash(applicationData), sent as Buffer)) {
      fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISMATCH');
    }
    return true;
  }

  /**
   * MsvAvTargetName (MS-NLMP 2.2.2.1): the SPN the client meant to authenticate to. A response
   * bound to this TLS connection may omit it: the binding already names this endpoint (IIS
   * checks the SPN list only where it cannot check the channel binding).
   */
  checkTargetName(pairs: readonly AvPair[], channelBound: boolean): void {
    const raw = findAvPair(pairs, MsvAvTargetName);
    const name = raw === undefined ? '' : avPairString(raw).toLowerCase();
    if (name === '') {
      if (this.targetNames !== undefined && !this.allowMissingTargetName && !channelBound) {
        fail('ERR_HTTPAUTH_NTLM_TARGET_NAME');
      }
      return;
    }
    if (this.targetNames !== undefined) {
      if (!this.targetNames.has(name)) fail('ERR_HTTPAUTH_NTLM_TARGET_NAME');
      return;
    }
    // Unpinned: the host is unchecked, but a name for another protocol is a cross-protocol relay.
    const slash = name.indexOf('/');
    if (slash === -1 || name.slice(0, slash) !== HTTP_SERVICE_CLASS) {
      fail('ERR_HTTPAUTH_NTLM_TARGET_NAME');
    }
  }

  /**
   * NTLMv1, LM and anonymous responses carry no AV pairs (MS-NLMP 3.3.1): nothing binds them to
   * a channel or a service, so they pass only where neither binding is required.
   */
  checkResponseWithoutAvPairs(applicationData: Buffer | undefined): void {
    if (this.#requiresBinding(applicationData)) fail('ERR_HTTPAUTH_CHANNEL_BINDING_MISSING');
    if (this.targetNames !== undefined && !this.allowMissingTargetName) {
      fail('ERR_HTTPAUTH_NTLM_TARGET_NAME');
    }
  }
}
