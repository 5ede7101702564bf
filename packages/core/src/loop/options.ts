/**
 * The authenticator's options, checked once at creation (a bad option is
 * ERR_HTTPAUTH_INVALID_OPTIONS then, never a surprise on a request) and resolved into the state
 * the phases of the loop share.
 */
import type { ConnectionSecurityPackage } from '../certificate/client-certificate.js';
import { ChannelBindingCache, tlsServerEndPoint } from '../channel-binding.js';
import type { PrincipalDirectory } from '../directory/resolver.js';
import { HttpAuthError } from '../errors.js';
import { DEFAULT_MAX_HEADER_BYTES } from '../grammar/http-auth.js';
import { identifyContext } from '../impersonation/context.js';
import type { AuthRequest, SecurityPackage } from '../security-package.js';
import { MemoryStore } from '../store/memory.js';
import type { KeyValueStore } from '../store/types.js';
import { ChallengeResponder, challengeHeaders } from './challenge.js';
import { ConnectionPhase } from './connection-phase.js';
import type { ConnectionLimits, KeptCertificate } from './connections.js';
import { ConnectionRegistry } from './connections.js';
import type { AuthenticatorSessionOptions } from './session-phase.js';
import { SessionPhase } from './session-phase.js';
import type { ImpersonationFactory } from './success.js';

/**
 * Options of {@link createAuthenticator}, which every adapter also accepts inline: the security
 * packages in challenge order, the store, proxy mode, connection limits, sessions, impersonation,
 * the directory for group names and the client-certificate package.
 */
export interface AuthenticatorOptions {
  /**
   * The security packages, in the order their challenges are offered. May be empty when
   * `certificate` stands alone.
   */
  readonly packages: readonly SecurityPackage[];
  /**
   * The client-certificate package (`clientCertificate()`): asked first, about the TLS
   * connection's certificate, before Authorization is read; without a certificate the packages
   * run. The listener must request certificates (`requestCert: true, rejectUnauthorized: false`).
   */
  readonly certificate?: ConnectionSecurityPackage;
  /** Act as a proxy: Proxy-Authorization in, 407 and Proxy-Authenticate out. */
  readonly proxy?: boolean;
  /** Nonce counts and replay cache; defaults to a bounded in-memory store. */
  readonly store?: KeyValueStore;
  /** Largest credentials header accepted (default 64 KiB, enough for large AD PACs). */
  readonly maxHeaderBytes?: number;
  readonly connections?: ConnectionLimits;
  /**
   * Behind a TLS-terminating proxy: the certificate the proxy presents to clients (DER or PEM),
   * so packages can verify channel bindings against it.
   */
  readonly channelBindingCertificate?: Buffer | string;
  readonly impersonation?: ImpersonationFactory;
  /**
   * Names for the group SIDs a logon proved (`createSidResolver`): runs once per successful
   * handshake, before the connection or a session keeps the principal. A directory that cannot
   * answer leaves the SIDs alone; it never refuses the logon.
   */
  readonly directory?: PrincipalDirectory;
  /**
   * Authentication sessions (like mod_auth_gssapi's GssapiUseSessions): an encrypted cookie that
   * carries the principal so later requests skip the handshake. Off unless configured.
   */
  readonly sessions?: AuthenticatorSessionOptions;
  /** Clock in milliseconds, for tests. */
  readonly now?: () => number;
}

/** What every phase of the loop reads, resolved from the options. */
export interface LoopState {
  readonly packages: readonly SecurityPackage[];
  readonly certificate: ConnectionSecurityPackage | undefined;
  /** Packages by lower-cased auth-scheme (schemes compare case-insensitively, RFC 9110 §11.1). */
  readonly byScheme: ReadonlyMap<string, SecurityPackage>;
  readonly proxy: boolean;
  readonly store: KeyValueStore;
  readonly maxHeaderBytes: number;
  readonly clock: () => number;
  readonly responder: ChallengeResponder;
  readonly connections: ConnectionPhase;
  readonly sessions: SessionPhase | undefined;
  readonly makeImpersonation: ImpersonationFactory;
  readonly directory: PrincipalDirectory | undefined;
  /** Completed certificate logons by TLS handshake (certificate-phase.ts). */
  readonly keptCertificates: WeakMap<object, KeptCertificate>;
  /** The RFC 5929 tls-server-end-point channel binding for the request's connection, if known. */
  channelBindingFor(request: AuthRequest): Buffer | undefined;
}

function channelBindings(certificate: Buffer | string | undefined) {
  const fixed = certificate === undefined ? undefined : tlsServerEndPoint(certificate);
  const cache = new ChannelBindingCache();
  return (request: AuthRequest): Buffer | undefined => {
    if (fixed !== undefined) return fixed;
    if (request.localCertificate === undefined || request.localCertificate.length === 0) {
      return undefined;
    }
    try {
      return cache.applicationData(request.localCertificate);
    } catch {
      return undefined;
    }
  };
}

/** The certificate package, if any: an object with `authenticateConnection` and its name. */
function checkCertificate(certificate: unknown): ConnectionSecurityPackage | undefined {
  if (certificate === undefined) return undefined;
  const candidate = certificate as Partial<ConnectionSecurityPackage> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    candidate.name !== 'Certificate' ||
    typeof candidate.authenticateConnection !== 'function'
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS', {
      reason: 'certificate must be clientCertificate({...})',
    });
  }
  return candidate as ConnectionSecurityPackage;
}

export function resolveOptions(options: AuthenticatorOptions): LoopState {
  const certificate = checkCertificate(options.certificate);
  if (
    !Array.isArray(options.packages) ||
    (options.packages.length === 0 && certificate === undefined)
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const packages = [...options.packages];
  const byScheme = new Map<string, SecurityPackage>();
  for (const pkg of packages) {
    const key = pkg.scheme.toLowerCase();
    if (byScheme.has(key)) throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
    byScheme.set(key, pkg);
  }
  const directory = options.directory;
  if (
    directory !== undefined &&
    (directory === null || typeof directory.resolvePrincipal !== 'function')
  ) {
    throw new HttpAuthError('ERR_HTTPAUTH_INVALID_OPTIONS');
  }
  const proxy = options.proxy === true;
  const store = options.store ?? new MemoryStore();
  return {
    packages,
    certificate,
    byScheme,
    proxy,
    store,
    maxHeaderBytes: options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    clock: options.now ?? Date.now,
    responder: new ChallengeResponder(packages, challengeHeaders(proxy)),
    connections: new ConnectionPhase(new ConnectionRegistry(options.connections)),
    sessions:
      options.sessions === undefined ? undefined : new SessionPhase(options.sessions, store),
    makeImpersonation: options.impersonation ?? identifyContext,
    directory,
    keptCertificates: new WeakMap(),
    channelBindingFor: channelBindings(options.channelBindingCertificate),
  };
}
