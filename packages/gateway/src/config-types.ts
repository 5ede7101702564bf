/**
 * The gateway configuration's shape, its error type, and the environment variables it reads.
 */
import type { ChannelBindingMode } from '@httpauth/core';
import type { PathCase } from './canonical-path.js';

export type { ChannelBindingMode } from '@httpauth/core';
/** A mechanism the gateway can offer, as named in `auth.mechanisms` (challenge order). */
export type MechanismName = 'negotiate' | 'ntlm' | 'digest' | 'basic';

/**
 * `auth.negotiate`: the keytab, the accepted service principals, whether NTLM fallback is off, RC4,
 * and the clock skew for Kerberos (core's `negotiate()` options).
 */
export interface NegotiateConfig {
  readonly keytab?: string;
  readonly principals?: readonly string[];
  readonly kerberosOnly: boolean;
  readonly allowRc4: boolean;
  readonly clockSkewSec: number;
}

/** NTLM pass-through to Active Directory (core's `domainController`, docs/ntlm.md). */
export interface DomainControllerConfig {
  /** `host` or `host:port` (fixed NETLOGON port); absent: DNS SRV lookup in dnsDomain. */
  readonly servers?: readonly string[];
  /** The machine account the gateway was joined with, e.g. `WEB1$`. */
  readonly machineAccount: string;
  /** File holding the machine account's password (exactly one of the two files). */
  readonly machinePasswordFile?: string;
  /** File holding the machine account's NT hash as 32 hex digits. */
  readonly machineNtHashFile?: string;
  /** DNS domain for the SRV lookup (default auth.ntlm.dnsDomain). */
  readonly dnsDomain?: string;
  /** Bound on one logon across every DC tried. */
  readonly timeoutMs: number;
}

/**
 * `auth.ntlm`: where NTLM responses are checked (an smbpasswd file or domain controllers), the
 * domain and computer names, and relay protection (channel binding, target names); it also
 * configures Negotiate's NTLM fallback.
 */
export interface NtlmConfig {
  /** Samba smbpasswd file with the users' NT hashes (exactly one of smbpasswd, domainController). */
  readonly smbpasswd?: string;
  /** The domain controllers that check logons over NETLOGON. */
  readonly domainController?: DomainControllerConfig;
  /** NetBIOS domain name; DNS names default from it. */
  readonly domain: string;
  readonly computerName?: string;
  readonly dnsDomain?: string;
  /**
   * Extended Protection for NTLM, here and in Negotiate's NTLM fallback (MS-NLMP §3.2.5.1.2,
   * MsvAvChannelBindings). Resolved by validateConfig: the setting, else auth.channelBinding
   * when given, else 'require' when the gateway terminates TLS and 'allow' without TLS.
   */
  readonly channelBinding: ChannelBindingMode;
  /** When set, clients must name one of these SPNs in MsvAvTargetName (e.g. HTTP/gw.example.com). */
  readonly targetNames?: readonly string[];
  /**
   * The host names (optionally host:port) clients reach the gateway by: MsvAvTargetName must be
   * HTTP/<one of them> (core's `hostNames`). `targetNames`, when set, replaces them.
   */
  readonly hostNames?: readonly string[];
  /** Accept a response naming no target at all (curl, requests-ntlm): see docs/ntlm.md. */
  readonly allowMissingTargetName: boolean;
}

/**
 * `auth.digest`: the credential file (httpauth's Digest file or an htdigest file), the algorithms,
 * the nonce lifetime and the shared nonce key for several gateway nodes.
 */
export interface DigestConfig {
  /** httpauth's multi-algorithm Digest file (see docs/digest.md). */
  readonly file?: string;
  /** An Apache htdigest file (MD5 only). */
  readonly htdigest?: string;
  readonly algorithms?: readonly string[];
  readonly nonceLifetimeSec: number;
  /** Path of a file holding the shared nonce key (for several gateway nodes). */
  readonly nonceKeyFile?: string;
}

/** `auth.basic.kerberos`: passwords checked by the realm's KDC (core's basic({ kerberos })). */
export interface BasicKerberosConfig {
  readonly realm: string;
  readonly trustedRealms?: readonly string[];
  /** Default: auth.negotiate.keytab, else KRB5_KTNAME. */
  readonly keytab?: string;
  readonly servicePrincipal?: string;
  readonly kdcs?: readonly string[];
  readonly krb5Conf?: string;
  readonly dnsLookupKdc?: boolean;
  readonly timeoutMs: number;
  readonly allowRc4: boolean;
}

/** `auth.basic`: exactly one of `htpasswd` and `kerberos`. */
export interface BasicConfig {
  readonly htpasswd?: string;
  readonly kerberos?: BasicKerberosConfig;
  /** Accept Basic over plain HTTP (never do this outside a lab). */
  readonly allowInsecure: boolean;
}

/**
 * An access rule for a path prefix: public, or the groups or users admitted (else any authenticated
 * user).
 */
export interface RuleConfig {
  /** Path prefix the rule applies to; the longest matching prefix wins. */
  readonly prefix: string;
  /** No authentication at all for this prefix. */
  readonly public?: boolean;
  /** Any of these group names or SIDs admits (empty or absent: any authenticated user). */
  readonly groups?: readonly string[];
  /** Any of these principal names (or bare user names) admits. */
  readonly users?: readonly string[];
}

/** `directory.ldap`: names for group SIDs (see config-directory.ts). */
export interface DirectoryConfig {
  readonly url: string;
  readonly bindDn: string;
  readonly passwordFile: string;
  readonly caFile?: string;
  readonly servername?: string;
  readonly cacheTtlSec: number;
}

/** A route: the requests it serves (host, prefix), its upstream, rules and identity headers. */
export interface RouteConfig {
  /** Lower-cased Host (with :port when given); absent: any host. */
  readonly host?: string;
  /** Canonical path prefix; absent: any path. */
  readonly prefix?: string;
  readonly upstream: GatewayConfig['upstream'];
  readonly rules: readonly RuleConfig[];
  /** The route's own identity headers, or the top-level ones. */
  readonly identity: GatewayConfig['identity'];
}

/** One `listen.tls.clientCertificates.mapping` rule (core's MappingRule, with the pattern as text). */
export type CertificateMappingConfig =
  | { readonly type: 'sid' | 'email' }
  | { readonly type: 'upn'; readonly issuers?: readonly CertificateIssuerConfig[] }
  | {
      readonly type: 'explicit';
      readonly entries: readonly {
        readonly sha256?: string;
        readonly issuer?: string;
        readonly serial?: string;
        readonly name: string;
        readonly sid?: string;
      }[];
    }
  | { readonly type: 'subject'; readonly pattern: string; readonly name: string }
  | {
      /** altSecurityIdentities in Active Directory, through `directory.ldap`'s connection. */
      readonly type: 'directory';
      /**
       * The issuing CAs allowed to log on (NTAuth-like): PEM files or SHA-256 thumbprints, or
       * `ntauth`: the directory's own NTAuth store.
       */
      readonly issuers: readonly CertificateIssuerConfig[] | 'ntauth';
      readonly anyIssuer: boolean;
      readonly byUpn: boolean;
      readonly cacheTtlSec?: number;
    };

/** An allowed issuing CA: a PEM file (resolved path) or a SHA-256 thumbprint. */
export type CertificateIssuerConfig = { readonly file: string } | { readonly sha256: string };

/** `listen.tls.clientCertificates`: core's clientCertificate() package (docs/certificates.md). */
export interface ClientCertificatesConfig {
  readonly ca: string;
  readonly intermediates?: string;
  readonly crlFiles: readonly string[];
  readonly crlCheckIntervalSec: number;
  readonly ocsp?: { readonly url?: string; readonly timeoutMs: number };
  readonly failOpen: boolean;
  readonly mapping: readonly CertificateMappingConfig[];
  readonly allowWeakMappings: boolean;
  readonly localDomains: readonly string[];
  readonly onInvalidCertificate: 'refuse' | 'fall-through';
}

/** `store.redis`: @httpauth/redis's RedisStore (standalone, Sentinel or Cluster). */
export interface RedisStoreConfig {
  readonly url?: string;
  readonly sentinels?: readonly { readonly host: string; readonly port: number }[];
  readonly name?: string;
  readonly cluster?: readonly { readonly host: string; readonly port: number }[];
  readonly username?: string;
  readonly passwordFile?: string;
  /** From HTTPAUTH_GATEWAY_REDIS_PASSWORD (never from the file itself). */
  readonly password?: string;
  readonly tls: boolean;
  readonly caFile?: string;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  readonly fallback: 'none' | 'local';
}

/**
 * `store`: the shared state of several gateway instances (Kerberos replay cache, Digest nonce
 * counts, session revocations) in Redis; without it the state is in memory.
 */
export interface StoreConfig {
  readonly redis: RedisStoreConfig;
}

/**
 * The gateway's whole configuration, validated, with defaults applied: what `loadConfig` returns
 * from the file, the environment and the flags, and what `createGateway` and `reload` take. The
 * schema and its defaults are documented in the README and `--help`.
 */
export interface GatewayConfig {
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly tls?: {
      readonly cert: string;
      readonly key: string;
      readonly clientCertificates?: ClientCertificatesConfig;
    };
  };
  readonly upstream: {
    readonly url: string;
    readonly maxSockets: number;
    readonly timeoutSec: number;
  };
  readonly auth: {
    readonly realm: string;
    readonly mechanisms: readonly MechanismName[];
    readonly negotiate?: NegotiateConfig;
    readonly ntlm?: NtlmConfig;
    readonly digest?: DigestConfig;
    readonly basic?: BasicConfig;
    readonly channelBinding: ChannelBindingMode;
  };
  readonly identity: {
    readonly userHeader: string;
    /** Set: a certificate logon's SHA-256 fingerprint goes upstream in this header. */
    readonly certificateFingerprintHeader?: string;
    readonly groupsHeader: string;
    readonly mechanismHeader: string;
    /** 'name' sends alice@EXAMPLE.TEST / DOMAIN\alice; 'user' sends alice. */
    readonly userFormat: 'name' | 'user';
    readonly signature?: {
      readonly header: string;
      /** File with the HMAC secret (at least 32 bytes). */
      readonly secretFile: string;
    };
    /** Forward the client's Authorization header upstream (off: it may carry a delegated TGT). */
    readonly forwardAuthorization: boolean;
  };
  readonly sessions?: {
    readonly keys: readonly { readonly id: string; readonly secretFile: string }[];
    readonly cookieName: string;
    readonly maxAgeSec: number;
  };
  readonly directory?: DirectoryConfig;
  /** Shared state for several instances (config-store.ts); absent: in memory. */
  readonly store?: StoreConfig;
  readonly rules: readonly RuleConfig[];
  /** Further upstreams by Host and/or path prefix, each with its own rules (routes.ts). */
  readonly routes: readonly RouteConfig[];
  /** How rule prefixes compare with canonical paths (default 'insensitive'). */
  readonly pathCase: PathCase;
  /**
   * A reverse proxy the operator controls stands in front of every connection: its
   * X-Forwarded-Proto (last value) and X-Forwarded-For chain are believed, and NTLM identities
   * are not persisted on the connection (that connection carries many clients).
   */
  readonly trustProxy: boolean;
  /**
   * The front proxies (addresses and CIDRs) whose forwarding headers are believed, and only from
   * them: the client is the last hop not in this set (proxy-trust.ts).
   */
  readonly trustedProxies: readonly string[];
  /** The certificate a TLS-terminating front proxy presents, for channel bindings. */
  readonly channelBindingCertificate?: string;
  readonly authRequest?: { readonly path: string };
  readonly healthPath: string;
  readonly metricsPath: string;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  readonly shutdownGraceSec: number;
  readonly maxHeaderBytes: number;
}

/**
 * Thrown for a configuration that cannot be used, with every problem found (not only the first);
 * `--check` and a refused SIGHUP reload print them.
 */
export class GatewayConfigError extends Error {
  override readonly name = 'GatewayConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid gateway configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Options given as flags or environment, applied over the file. */
export interface ConfigOverrides {
  readonly listen?: string;
  readonly upstream?: string;
  readonly realm?: string;
  readonly logLevel?: string;
  readonly ntlmChannelBinding?: string;
  /** Comma-separated SPNs. */
  readonly ntlmTargetNames?: string;
  /** store.redis.url (may carry a password, unlike the file's). */
  readonly redisUrl?: string;
  readonly redisPassword?: string;
  /** Comma-separated addresses and CIDRs. */
  readonly trustedProxies?: string;
}

/** Environment variables the gateway reads (documented in --help and the README). */
export const ENVIRONMENT = {
  HTTPAUTH_GATEWAY_CONFIG: 'configuration file (JSON or YAML)',
  HTTPAUTH_GATEWAY_LISTEN: 'host:port to listen on',
  HTTPAUTH_GATEWAY_UPSTREAM: 'upstream base URL',
  HTTPAUTH_GATEWAY_REALM: 'realm for Digest and Basic',
  HTTPAUTH_GATEWAY_LOG_LEVEL: 'debug | info | warn | error | silent',
  HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING: 'NTLM channel bindings: none | allow | require',
  HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES: 'NTLM target names (SPNs), comma-separated',
  HTTPAUTH_GATEWAY_REDIS_URL: 'store.redis.url (redis:// or rediss://; may carry the password)',
  HTTPAUTH_GATEWAY_REDIS_PASSWORD: 'the Redis password (instead of store.redis.passwordFile)',
  HTTPAUTH_GATEWAY_TRUSTED_PROXIES: 'trustedProxies: addresses and CIDRs, comma-separated',
} as const;

export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
export const MECHANISMS: readonly MechanismName[] = ['negotiate', 'ntlm', 'digest', 'basic'];
