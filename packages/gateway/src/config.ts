/**
 * Gateway configuration: one JSON or YAML file, overridden by environment variables, overridden
 * by command-line flags. Everything is validated before the gateway starts, and every problem is
 * reported at once with the path of the offending setting, so `--check` is a useful dry run.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canonicalTarget } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';

export type MechanismName = 'negotiate' | 'ntlm' | 'digest' | 'basic';
export type ChannelBindingMode = 'none' | 'allow' | 'require';

export interface NegotiateConfig {
  readonly keytab?: string;
  readonly principals?: readonly string[];
  readonly kerberosOnly?: boolean;
  readonly allowRc4?: boolean;
  readonly clockSkewSec?: number;
}

export interface NtlmConfig {
  /** Samba smbpasswd file with the users' NT hashes. */
  readonly smbpasswd: string;
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
}

export interface DigestConfig {
  /** httpauth's multi-algorithm Digest file (see docs/digest.md). */
  readonly file?: string;
  /** An Apache htdigest file (MD5 only). */
  readonly htdigest?: string;
  readonly algorithms?: readonly string[];
  readonly nonceLifetimeSec?: number;
  /** Path of a file holding the shared nonce key (for several gateway nodes). */
  readonly nonceKeyFile?: string;
}

export interface BasicConfig {
  readonly htpasswd: string;
  /** Accept Basic over plain HTTP (never do this outside a lab). */
  readonly allowInsecure?: boolean;
}

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

export interface GatewayConfig {
  readonly listen: {
    readonly host: string;
    readonly port: number;
    readonly tls?: { readonly cert: string; readonly key: string };
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
    readonly cookieName?: string;
    readonly maxAgeSec?: number;
  };
  readonly rules: readonly RuleConfig[];
  /** How rule prefixes compare with canonical paths (default 'insensitive'). */
  readonly pathCase: PathCase;
  /**
   * A reverse proxy the operator controls stands in front of every connection: its
   * X-Forwarded-Proto (last value) and X-Forwarded-For chain are believed, and NTLM identities
   * are not persisted on the connection (that connection carries many clients).
   */
  readonly trustProxy: boolean;
  readonly authRequest?: { readonly path: string };
  readonly healthPath: string;
  readonly metricsPath: string;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
  readonly shutdownGraceSec: number;
  readonly maxHeaderBytes: number;
}

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
} as const;

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MECHANISMS: readonly MechanismName[] = ['negotiate', 'ntlm', 'digest', 'basic'];

/** Read a JSON or YAML file (by extension; YAML is a superset, so anything else parses as YAML). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new GatewayConfigError([
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    ]);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new GatewayConfigError([
      `${path} does not parse: ${(error as Error).message.split('\n')[0]}`,
    ]);
  }
}

function parseListen(
  value: string,
  problems: string[],
): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  if (match === null) {
    problems.push(`listen "${value}" is not host:port`);
    return undefined;
  }
  return { host: match[1] ?? (match[2] as string), port: Number(match[3]) };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validate a raw configuration object (after overrides) into a GatewayConfig. Relative file
 * paths are resolved against `baseDir` (the configuration file's folder).
 */
export function validateConfig(
  raw: unknown,
  overrides: ConfigOverrides = {},
  baseDir = process.cwd(),
): GatewayConfig {
  const problems: string[] = [];
  const root: Json = isObject(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isObject(raw))
    problems.push('the configuration must be an object');

  const known = new Set([
    'listen',
    'upstream',
    'auth',
    'identity',
    'sessions',
    'rules',
    'pathCase',
    'trustProxy',
    'authRequest',
    'healthPath',
    'metricsPath',
    'log',
    'shutdownGraceSec',
    'maxHeaderBytes',
  ]);
  for (const key of Object.keys(root))
    if (!known.has(key)) problems.push(`unknown setting "${key}"`);

  const str = (value: unknown, path: string, fallback?: string): string => {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) {
      problems.push(`${path} must be a non-empty string`);
      return fallback ?? '';
    }
    return value;
  };
  const num = (
    value: unknown,
    path: string,
    fallback: number,
    min: number,
    max: number,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      problems.push(`${path} must be a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (value: unknown, path: string, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      problems.push(`${path} must be true or false`);
      return fallback;
    }
    return value;
  };
  const file = (value: unknown, path: string): string => {
    const text = str(value, path);
    return text === '' ? text : isAbsolute(text) ? text : resolve(baseDir, text);
  };
  const strings = (value: unknown, path: string): string[] | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
      problems.push(`${path} must be a list of strings`);
      return undefined;
    }
    return value as string[];
  };
  const header = (value: unknown, path: string, fallback: string): string => {
    const text = str(value, path, fallback);
    if (!HEADER_NAME.test(text)) problems.push(`${path} "${text}" is not a valid header name`);
    return text.toLowerCase();
  };
  /** An object setting; with `keys`, every other key is reported (a typo must not pass silently). */
  const section = (value: unknown, path: string, keys?: readonly string[]): Json => {
    if (value === undefined) return {};
    if (!isObject(value)) {
      problems.push(`${path} must be an object`);
      return {};
    }
    if (keys !== undefined)
      for (const key of Object.keys(value))
        if (!keys.includes(key)) problems.push(`unknown setting "${path}.${key}"`);
    return value;
  };

  // listen
  const listenRaw = root['listen'];
  let listen: GatewayConfig['listen'] = { host: '127.0.0.1', port: 8080 };
  if (typeof listenRaw === 'string') {
    listen = parseListen(listenRaw, problems) ?? listen;
  } else {
    const l = section(listenRaw, 'listen', ['host', 'port', 'tls']);
    listen = {
      host: str(l['host'], 'listen.host', '127.0.0.1'),
      port: num(l['port'], 'listen.port', 8080, 0, 65535),
    };
    if (l['tls'] !== undefined) {
      const tls = section(l['tls'], 'listen.tls', ['cert', 'key']);
      listen = {
        ...listen,
        tls: {
          cert: file(tls['cert'], 'listen.tls.cert'),
          key: file(tls['key'], 'listen.tls.key'),
        },
      };
    }
  }
  if (overrides.listen !== undefined) {
    const parsed = parseListen(overrides.listen, problems);
    if (parsed !== undefined) listen = { ...listen, ...parsed };
  }

  // upstream
  const upstreamRaw = root['upstream'];
  const u =
    typeof upstreamRaw === 'string'
      ? { url: upstreamRaw }
      : section(upstreamRaw, 'upstream', ['url', 'maxSockets', 'timeoutSec']);
  const upstreamUrl = overrides.upstream ?? (u['url'] as unknown);
  if (upstreamUrl === undefined) problems.push('upstream.url is required (the app to protect)');
  let url = typeof upstreamUrl === 'string' ? upstreamUrl : '';
  if (url !== '') {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        problems.push('upstream.url must be http: or https:');
      url = parsed.toString().replace(/\/$/, '');
    } catch {
      problems.push(`upstream.url "${url}" is not a URL`);
    }
  }
  const upstream = {
    url,
    maxSockets: num(u['maxSockets'], 'upstream.maxSockets', 256, 1, 65536),
    timeoutSec: num(u['timeoutSec'], 'upstream.timeoutSec', 60, 1, 3600),
  };

  // auth
  const a = section(root['auth'], 'auth', ['realm', 'mechanisms', 'channelBinding', ...MECHANISMS]);
  const realm = overrides.realm ?? str(a['realm'], 'auth.realm', 'httpauth-gateway');
  const mechanismsRaw = a['mechanisms'];
  let mechanisms: MechanismName[] = [];
  if (mechanismsRaw === undefined) {
    mechanisms = MECHANISMS.filter((m) => a[m] !== undefined);
  } else if (
    !Array.isArray(mechanismsRaw) ||
    !mechanismsRaw.every((m) => MECHANISMS.includes(m as MechanismName))
  ) {
    problems.push(`auth.mechanisms must list some of ${MECHANISMS.join(', ')}`);
  } else {
    mechanisms = mechanismsRaw as MechanismName[];
  }
  if (mechanisms.length === 0)
    problems.push('auth: configure at least one of negotiate, ntlm, digest, basic');
  for (const m of mechanisms)
    if (a[m] === undefined)
      problems.push(`auth.${m} is listed in auth.mechanisms but not configured`);
  const bindingMode = (value: unknown, path: string): ChannelBindingMode | undefined => {
    if (value === undefined) return undefined;
    if (value === 'none' || value === 'allow' || value === 'require') return value;
    problems.push(`${path} must be none, allow or require`);
    return undefined;
  };
  const explicitBinding = bindingMode(a['channelBinding'], 'auth.channelBinding');
  const channelBinding = explicitBinding ?? 'allow';

  let negotiate: NegotiateConfig | undefined;
  if (a['negotiate'] !== undefined) {
    const n = section(a['negotiate'], 'auth.negotiate', [
      'keytab',
      'principals',
      'kerberosOnly',
      'allowRc4',
      'clockSkewSec',
    ]);
    const principals = strings(n['principals'], 'auth.negotiate.principals');
    negotiate = {
      ...(n['keytab'] === undefined ? {} : { keytab: file(n['keytab'], 'auth.negotiate.keytab') }),
      ...(principals === undefined ? {} : { principals }),
      kerberosOnly: bool(n['kerberosOnly'], 'auth.negotiate.kerberosOnly', false),
      allowRc4: bool(n['allowRc4'], 'auth.negotiate.allowRc4', false),
      clockSkewSec: num(n['clockSkewSec'], 'auth.negotiate.clockSkewSec', 300, 1, 3600),
    };
  }
  let ntlm: NtlmConfig | undefined;
  if (a['ntlm'] !== undefined) {
    const n = section(a['ntlm'], 'auth.ntlm', [
      'smbpasswd',
      'domain',
      'computerName',
      'dnsDomain',
      'channelBinding',
      'targetNames',
    ]);
    const ntlmBinding =
      bindingMode(overrides.ntlmChannelBinding, 'NTLM channel binding override') ??
      bindingMode(n['channelBinding'], 'auth.ntlm.channelBinding') ??
      explicitBinding ??
      (listen.tls === undefined ? 'allow' : 'require');
    const targetNames =
      overrides.ntlmTargetNames === undefined
        ? strings(n['targetNames'], 'auth.ntlm.targetNames')
        : overrides.ntlmTargetNames
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== '');
    if (targetNames !== undefined && targetNames.length === 0)
      problems.push('auth.ntlm.targetNames must list at least one SPN when given');
    ntlm = {
      channelBinding: ntlmBinding,
      ...(targetNames === undefined || targetNames.length === 0 ? {} : { targetNames }),
      smbpasswd: file(n['smbpasswd'], 'auth.ntlm.smbpasswd'),
      domain: str(n['domain'], 'auth.ntlm.domain'),
      ...(n['computerName'] === undefined
        ? {}
        : { computerName: str(n['computerName'], 'auth.ntlm.computerName') }),
      ...(n['dnsDomain'] === undefined
        ? {}
        : { dnsDomain: str(n['dnsDomain'], 'auth.ntlm.dnsDomain') }),
    };
  }
  let digest: DigestConfig | undefined;
  if (a['digest'] !== undefined) {
    const d = section(a['digest'], 'auth.digest', [
      'file',
      'htdigest',
      'algorithms',
      'nonceLifetimeSec',
      'nonceKeyFile',
    ]);
    if ((d['file'] === undefined) === (d['htdigest'] === undefined))
      problems.push('auth.digest needs exactly one of file, htdigest');
    const algorithms = strings(d['algorithms'], 'auth.digest.algorithms');
    digest = {
      ...(d['file'] === undefined ? {} : { file: file(d['file'], 'auth.digest.file') }),
      ...(d['htdigest'] === undefined
        ? {}
        : { htdigest: file(d['htdigest'], 'auth.digest.htdigest') }),
      ...(algorithms === undefined ? {} : { algorithms }),
      nonceLifetimeSec: num(d['nonceLifetimeSec'], 'auth.digest.nonceLifetimeSec', 300, 1, 86400),
      ...(d['nonceKeyFile'] === undefined
        ? {}
        : { nonceKeyFile: file(d['nonceKeyFile'], 'auth.digest.nonceKeyFile') }),
    };
  }
  let basic: BasicConfig | undefined;
  if (a['basic'] !== undefined) {
    const b = section(a['basic'], 'auth.basic', ['htpasswd', 'allowInsecure']);
    basic = {
      htpasswd: file(b['htpasswd'], 'auth.basic.htpasswd'),
      allowInsecure: bool(b['allowInsecure'], 'auth.basic.allowInsecure', false),
    };
  }

  // identity
  const i = section(root['identity'], 'identity', [
    'userHeader',
    'groupsHeader',
    'mechanismHeader',
    'userFormat',
    'signature',
    'forwardAuthorization',
  ]);
  const userFormat = (i['userFormat'] ?? 'name') as 'name' | 'user';
  if (userFormat !== 'name' && userFormat !== 'user')
    problems.push('identity.userFormat must be name or user');
  let signature: GatewayConfig['identity']['signature'];
  if (i['signature'] !== undefined) {
    const s = section(i['signature'], 'identity.signature', ['header', 'secretFile']);
    signature = {
      header: header(s['header'], 'identity.signature.header', 'X-HttpAuth-Signature'),
      secretFile: file(s['secretFile'], 'identity.signature.secretFile'),
    };
  }
  const identity = {
    userHeader: header(i['userHeader'], 'identity.userHeader', 'X-Remote-User'),
    groupsHeader: header(i['groupsHeader'], 'identity.groupsHeader', 'X-Remote-Groups'),
    mechanismHeader: header(i['mechanismHeader'], 'identity.mechanismHeader', 'X-Auth-Mechanism'),
    userFormat,
    ...(signature === undefined ? {} : { signature }),
    forwardAuthorization: bool(i['forwardAuthorization'], 'identity.forwardAuthorization', false),
  };

  // sessions
  let sessions: GatewayConfig['sessions'];
  if (root['sessions'] !== undefined) {
    const s = section(root['sessions'], 'sessions', ['keys', 'cookieName', 'maxAgeSec']);
    const keys = s['keys'];
    if (!Array.isArray(keys) || keys.length === 0) {
      problems.push('sessions.keys must list at least one { id, secretFile }');
    } else {
      sessions = {
        keys: keys.map((k, n) => {
          const entry = section(k, `sessions.keys[${n}]`, ['id', 'secretFile']);
          return {
            id: str(entry['id'], `sessions.keys[${n}].id`),
            secretFile: file(entry['secretFile'], `sessions.keys[${n}].secretFile`),
          };
        }),
        ...(s['cookieName'] === undefined
          ? {}
          : { cookieName: str(s['cookieName'], 'sessions.cookieName') }),
        maxAgeSec: num(s['maxAgeSec'], 'sessions.maxAgeSec', 3600, 1, 7 * 86400),
      };
    }
  }

  // rules
  const rules: RuleConfig[] = [];
  if (root['rules'] !== undefined) {
    if (!Array.isArray(root['rules'])) problems.push('rules must be a list');
    else
      root['rules'].forEach((r, n) => {
        const rule = section(r, `rules[${n}]`, ['prefix', 'public', 'groups', 'users']);
        const prefix = str(rule['prefix'], `rules[${n}].prefix`);
        if (prefix !== '' && !prefix.startsWith('/'))
          problems.push(`rules[${n}].prefix must start with /`);
        else if (prefix !== '') {
          // Rules match canonical paths only; a prefix that is not canonical would never match.
          const canonical = canonicalTarget(prefix);
          if (!canonical.ok || canonical.query !== undefined)
            problems.push(`rules[${n}].prefix "${prefix}" is not a plain path`);
          else if (canonical.path !== prefix)
            problems.push(
              `rules[${n}].prefix "${prefix}" is not canonical (use "${canonical.path}")`,
            );
        }
        const groups = strings(rule['groups'], `rules[${n}].groups`);
        const users = strings(rule['users'], `rules[${n}].users`);
        const isPublic = bool(rule['public'], `rules[${n}].public`, false);
        if (isPublic && (groups !== undefined || users !== undefined))
          problems.push(`rules[${n}]: a public rule cannot require groups or users`);
        rules.push({
          prefix,
          public: isPublic,
          ...(groups === undefined ? {} : { groups }),
          ...(users === undefined ? {} : { users }),
        });
      });
  }

  const pathCase = (root['pathCase'] ?? 'insensitive') as PathCase;
  if (pathCase !== 'insensitive' && pathCase !== 'sensitive')
    problems.push('pathCase must be insensitive or sensitive');

  let authRequest: GatewayConfig['authRequest'];
  if (root['authRequest'] !== undefined) {
    const r = section(root['authRequest'], 'authRequest', ['path']);
    authRequest = { path: str(r['path'], 'authRequest.path', '/_httpauth/auth') };
  }

  const logRaw = section(root['log'], 'log', ['level']);
  const level = (overrides.logLevel ?? logRaw['level'] ?? 'info') as GatewayConfig['log']['level'];
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(level))
    problems.push('log.level must be debug, info, warn, error or silent');

  const config: GatewayConfig = {
    listen,
    upstream,
    auth: {
      realm,
      mechanisms,
      channelBinding,
      ...(negotiate === undefined ? {} : { negotiate }),
      ...(ntlm === undefined ? {} : { ntlm }),
      ...(digest === undefined ? {} : { digest }),
      ...(basic === undefined ? {} : { basic }),
    },
    identity,
    ...(sessions === undefined ? {} : { sessions }),
    rules,
    pathCase,
    trustProxy: bool(root['trustProxy'], 'trustProxy', false),
    ...(authRequest === undefined ? {} : { authRequest }),
    healthPath: str(root['healthPath'], 'healthPath', '/_httpauth/health'),
    metricsPath: str(root['metricsPath'], 'metricsPath', '/_httpauth/metrics'),
    log: { level },
    shutdownGraceSec: num(root['shutdownGraceSec'], 'shutdownGraceSec', 10, 0, 3600),
    maxHeaderBytes: num(root['maxHeaderBytes'], 'maxHeaderBytes', 64 * 1024, 8 * 1024, 1024 * 1024),
  };
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}

/** Load the configuration from a file (optional), the environment and flags, in that order. */
export function loadConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  const filePath = path ?? env['HTTPAUTH_GATEWAY_CONFIG'];
  const raw = filePath === undefined ? {} : readConfigFile(filePath);
  const fromEnv: ConfigOverrides = {
    ...(env['HTTPAUTH_GATEWAY_LISTEN'] === undefined
      ? {}
      : { listen: env['HTTPAUTH_GATEWAY_LISTEN'] }),
    ...(env['HTTPAUTH_GATEWAY_UPSTREAM'] === undefined
      ? {}
      : { upstream: env['HTTPAUTH_GATEWAY_UPSTREAM'] }),
    ...(env['HTTPAUTH_GATEWAY_REALM'] === undefined
      ? {}
      : { realm: env['HTTPAUTH_GATEWAY_REALM'] }),
    ...(env['HTTPAUTH_GATEWAY_LOG_LEVEL'] === undefined
      ? {}
      : { logLevel: env['HTTPAUTH_GATEWAY_LOG_LEVEL'] }),
    ...(env['HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING'] === undefined
      ? {}
      : { ntlmChannelBinding: env['HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING'] }),
    ...(env['HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES'] === undefined
      ? {}
      : { ntlmTargetNames: env['HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES'] }),
  };
  return validateConfig(
    raw,
    { ...fromEnv, ...overrides },
    filePath === undefined ? process.cwd() : dirname(resolve(filePath)),
  );
}
