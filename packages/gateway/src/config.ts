/**
 * Gateway configuration: one JSON or YAML file, overridden by environment variables, overridden
 * by command-line flags. Everything is validated before the gateway starts, and every problem is
 * reported at once with the path of the offending setting, so `--check` is a useful dry run.
 *
 * The file is checked against gateway.schema.json (config-schema.ts), which also gives every
 * default; this module then builds the GatewayConfig and adds the checks a schema cannot make.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canonicalTarget } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';
import { parseAuth } from './config-auth.js';
import { parseClientCertificates } from './config-certificates.js';
import { ConfigReader, isObject } from './config-checks.js';
import type { Json } from './config-checks.js';
import { parseDirectory } from './config-directory.js';
import { parseRoutes } from './config-routes.js';
import { parseStore, parseTrustedProxies, storeWithOverrides } from './config-store.js';
import { schemaAt, schemaProblems } from './config-schema.js';
import { GatewayConfigError } from './config-types.js';
import type { ConfigOverrides, GatewayConfig, RuleConfig } from './config-types.js';

export { ENVIRONMENT, GatewayConfigError } from './config-types.js';
import type { ENVIRONMENT } from './config-types.js';
export type {
  BasicConfig,
  ChannelBindingMode,
  ConfigOverrides,
  DigestConfig,
  GatewayConfig,
  MechanismName,
  NegotiateConfig,
  NtlmConfig,
  RedisStoreConfig,
  RouteConfig,
  RuleConfig,
  StoreConfig,
} from './config-types.js';

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

/** `host:port` or `[v6]:port`: the schema's pattern for `listen` given as a string. */
const LISTEN = new RegExp(schemaAt('listen').anyOf?.[0]?.pattern ?? '^$', 'u');

function parseListen(value: string): { host: string; port: number } | undefined {
  const match = LISTEN.exec(value);
  if (match === null || Number(match[3]) > 65535) return undefined;
  return { host: match[1] ?? (match[2] as string), port: Number(match[3]) };
}

function parseListenSection(
  raw: unknown,
  override: string | undefined,
  read: ConfigReader,
): GatewayConfig['listen'] {
  const l = read.section(raw);
  const fromFile = typeof raw === 'string' ? parseListen(raw) : undefined;
  // A string of the wrong form is the schema's problem; one whose port is too large is ours.
  if (typeof raw === 'string' && LISTEN.test(raw) && fromFile === undefined)
    read.problems.push(`listen "${raw}" is not host:port`);
  let listen: GatewayConfig['listen'] = fromFile ?? {
    host: read.str(l['host'], 'listen.host'),
    port: read.num(l['port'], 'listen.port'),
  };
  if (isObject(l['tls'])) {
    const tls = l['tls'];
    const clientCertificates = parseClientCertificates(tls, read);
    listen = {
      ...listen,
      tls: {
        cert: read.file(tls['cert']),
        key: read.file(tls['key']),
        ...(clientCertificates === undefined ? {} : { clientCertificates }),
      },
    };
  }
  if (override !== undefined) {
    const parsed = parseListen(override);
    if (parsed === undefined) read.problems.push(`listen "${override}" is not host:port`);
    else listen = { ...listen, ...parsed };
  }
  return listen;
}

function parseUpstream(
  raw: unknown,
  override: string | undefined,
  read: ConfigReader,
  label = 'upstream',
) {
  const u = typeof raw === 'string' ? { url: raw } : read.section(raw);
  const given = override ?? read.optionalStr(u['url']);
  // A wrong type for upstream itself is the schema's problem already.
  if (given === undefined && u['url'] === undefined && (raw === undefined || isObject(raw)))
    read.problems.push(`${label}.url is required (the app to protect)`);
  let url = given ?? '';
  if (url !== '') {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
        read.problems.push(`${label}.url must be http: or https:`);
      url = parsed.toString().replace(/\/$/, '');
    } catch {
      read.problems.push(`${label}.url "${url}" is not a URL`);
    }
  }
  return {
    url,
    maxSockets: read.num(u['maxSockets'], 'upstream.maxSockets'),
    timeoutSec: read.num(u['timeoutSec'], 'upstream.timeoutSec'),
  };
}

function parseIdentity(raw: unknown, read: ConfigReader): GatewayConfig['identity'] {
  const i = read.section(raw);
  const s = isObject(i['signature']) ? i['signature'] : undefined;
  return {
    userHeader: read.header(i['userHeader'], 'identity.userHeader'),
    groupsHeader: read.header(i['groupsHeader'], 'identity.groupsHeader'),
    mechanismHeader: read.header(i['mechanismHeader'], 'identity.mechanismHeader'),
    ...(read.optionalStr(i['certificateFingerprintHeader']) === undefined
      ? {}
      : {
          certificateFingerprintHeader: (i['certificateFingerprintHeader'] as string).toLowerCase(),
        }),
    userFormat: read.choice<'name' | 'user'>(i['userFormat'], 'identity.userFormat'),
    ...(s === undefined
      ? {}
      : {
          signature: {
            header: read.header(s['header'], 'identity.signature.header'),
            secretFile: read.file(s['secretFile']),
          },
        }),
    forwardAuthorization: read.bool(i['forwardAuthorization'], 'identity.forwardAuthorization'),
  };
}

function parseSessions(raw: unknown, read: ConfigReader): GatewayConfig['sessions'] {
  const s = read.section(raw);
  const keys = Array.isArray(s['keys']) ? s['keys'] : [];
  if (keys.length === 0) return undefined;
  return {
    keys: keys.map((k) => {
      const entry = read.section(k);
      return {
        id: read.str(entry['id'], 'sessions.keys[].id'),
        secretFile: read.file(entry['secretFile']),
      };
    }),
    cookieName: read.str(s['cookieName'], 'sessions.cookieName'),
    maxAgeSec: read.num(s['maxAgeSec'], 'sessions.maxAgeSec'),
  };
}

/** Rules match canonical paths only; a prefix that is not canonical would never match. */
function parseRules(raw: unknown, read: ConfigReader, label = 'rules'): RuleConfig[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((r, n) => {
    const rule = read.section(r);
    const prefix = read.str(rule['prefix'], 'rules[].prefix');
    if (prefix.startsWith('/')) {
      const canonical = canonicalTarget(prefix);
      if (!canonical.ok || canonical.query !== undefined)
        read.problems.push(`${label}[${n}].prefix "${prefix}" is not a plain path`);
      else if (canonical.path !== prefix)
        read.problems.push(
          `${label}[${n}].prefix "${prefix}" is not canonical (use "${canonical.path}")`,
        );
    }
    const groups = read.strings(rule['groups']);
    const users = read.strings(rule['users']);
    const isPublic = read.bool(rule['public'], 'rules[].public');
    if (isPublic && (rule['groups'] !== undefined || rule['users'] !== undefined))
      read.problems.push(`${label}[${n}]: a public rule cannot require groups or users`);
    return {
      prefix,
      public: isPublic,
      ...(groups === undefined ? {} : { groups }),
      ...(users === undefined ? {} : { users }),
    };
  });
}

function parseLogLevel(root: Json, override: string | undefined, read: ConfigReader) {
  const level = 'log.level';
  if (override !== undefined && read.override(override, level, level))
    return read.choice<GatewayConfig['log']['level']>(override, level);
  return read.choice<GatewayConfig['log']['level']>(read.section(root['log'])['level'], level);
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
  const fileRoot: Json = isObject(raw) ? raw : {};
  const fileUrl = isObject(fileRoot['store'])
    ? (fileRoot['store']['redis'] as Json | undefined)?.['url']
    : undefined;
  const root = storeWithOverrides(fileRoot, overrides);
  if (raw !== undefined && raw !== null && !isObject(raw))
    problems.push('the configuration must be an object');
  problems.push(...schemaProblems(root));
  const read = new ConfigReader(problems, baseDir);
  const listen = parseListenSection(root['listen'], overrides.listen, read);
  const sessions = parseSessions(root['sessions'], read);
  const store = parseStore(root, fileUrl, overrides, read);
  const channelBindingCertificate = read.optionalFile(root['channelBindingCertificate']);
  const identity = parseIdentity(root['identity'], read);
  const config: GatewayConfig = {
    listen,
    upstream: parseUpstream(root['upstream'], overrides.upstream, read),
    // TLS ends here, or at a front proxy whose certificate is given: NTLM requires bindings.
    auth: parseAuth(
      root['auth'],
      overrides,
      listen.tls !== undefined || channelBindingCertificate !== undefined,
      read,
      listen.tls?.clientCertificates !== undefined,
    ),
    identity,
    ...(sessions === undefined ? {} : { sessions }),
    ...(root['directory'] === undefined
      ? {}
      : { directory: parseDirectory(root['directory'], read) }),
    ...(store === undefined ? {} : { store }),
    rules: parseRules(root['rules'], read),
    routes: parseRoutes(root['routes'], identity, read, {
      upstream: parseUpstream,
      rules: parseRules,
      identity: parseIdentity,
    }),
    pathCase: read.choice<PathCase>(root['pathCase'], 'pathCase'),
    trustProxy: read.bool(root['trustProxy'], 'trustProxy'),
    trustedProxies: parseTrustedProxies(root['trustedProxies'], overrides.trustedProxies, read),
    ...(channelBindingCertificate === undefined ? {} : { channelBindingCertificate }),
    ...(root['authRequest'] === undefined
      ? {}
      : {
          authRequest: {
            path: read.str(read.section(root['authRequest'])['path'], 'authRequest.path'),
          },
        }),
    healthPath: read.str(root['healthPath'], 'healthPath'),
    metricsPath: read.str(root['metricsPath'], 'metricsPath'),
    log: { level: parseLogLevel(root, overrides.logLevel, read) },
    shutdownGraceSec: read.num(root['shutdownGraceSec'], 'shutdownGraceSec'),
    maxHeaderBytes: read.num(root['maxHeaderBytes'], 'maxHeaderBytes'),
  };
  const directoryRule = config.listen.tls?.clientCertificates?.mapping.findIndex(
    (rule) => rule.type === 'directory',
  );
  if (directoryRule !== undefined && directoryRule >= 0 && config.directory === undefined)
    problems.push(
      `listen.tls.clientCertificates.mapping[${directoryRule}]: a directory rule looks accounts up through directory.ldap; configure it`,
    );
  if (problems.length > 0) throw new GatewayConfigError(problems);
  return config;
}

/** The environment variables that override a setting, and the override each one gives. */
const ENVIRONMENT_OVERRIDES: readonly (readonly [
  keyof typeof ENVIRONMENT,
  keyof ConfigOverrides,
])[] = [
  ['HTTPAUTH_GATEWAY_LISTEN', 'listen'],
  ['HTTPAUTH_GATEWAY_UPSTREAM', 'upstream'],
  ['HTTPAUTH_GATEWAY_REALM', 'realm'],
  ['HTTPAUTH_GATEWAY_LOG_LEVEL', 'logLevel'],
  ['HTTPAUTH_GATEWAY_NTLM_CHANNEL_BINDING', 'ntlmChannelBinding'],
  ['HTTPAUTH_GATEWAY_NTLM_TARGET_NAMES', 'ntlmTargetNames'],
  ['HTTPAUTH_GATEWAY_REDIS_URL', 'redisUrl'],
  ['HTTPAUTH_GATEWAY_REDIS_PASSWORD', 'redisPassword'],
  ['HTTPAUTH_GATEWAY_TRUSTED_PROXIES', 'trustedProxies'],
];

/** Load the configuration from a file (optional), the environment and flags, in that order. */
export function loadConfig(
  path: string | undefined,
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): GatewayConfig {
  const filePath = path ?? env['HTTPAUTH_GATEWAY_CONFIG'];
  const raw = filePath === undefined ? {} : readConfigFile(filePath);
  const fromEnv: ConfigOverrides = Object.fromEntries(
    ENVIRONMENT_OVERRIDES.filter(([name]) => env[name] !== undefined).map(([name, key]) => [
      key,
      env[name],
    ]),
  );
  return validateConfig(
    raw,
    { ...fromEnv, ...overrides },
    filePath === undefined ? process.cwd() : dirname(resolve(filePath)),
  );
}
