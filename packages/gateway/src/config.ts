/**
 * Gateway configuration: one JSON or YAML file, overridden by environment variables, overridden
 * by command-line flags. Everything is validated before the gateway starts, and every problem is
 * reported at once with the path of the offending setting, so `--check` is a useful dry run.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canonicalTarget } from './canonical-path.js';
import type { PathCase } from './canonical-path.js';
import { parseAuth } from './config-auth.js';
import { parseDirectory } from './config-directory.js';
import { ConfigChecks, isObject } from './config-checks.js';
import type { Json } from './config-checks.js';
import { GatewayConfigError } from './config-types.js';
import type { ConfigOverrides, GatewayConfig, RuleConfig } from './config-types.js';

export { ENVIRONMENT, GatewayConfigError } from './config-types.js';
export type {
  BasicConfig,
  ChannelBindingMode,
  ConfigOverrides,
  DigestConfig,
  GatewayConfig,
  MechanismName,
  NegotiateConfig,
  NtlmConfig,
  RuleConfig,
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

/**
 * Validate a raw configuration object (after overrides) into a GatewayConfig. Relative file
 * paths are resolved against `baseDir` (the configuration file's folder).
 */
export function validateConfig(
  raw: unknown,
  overrides: ConfigOverrides = {},
  baseDir = process.cwd(),
): GatewayConfig {
  const checks = new ConfigChecks(baseDir);
  const { problems, str, num, bool, file, strings, header, section } = checks;
  const root: Json = isObject(raw) ? raw : {};
  if (raw !== undefined && raw !== null && !isObject(raw))
    problems.push('the configuration must be an object');

  const known = new Set([
    'listen',
    'upstream',
    'auth',
    'identity',
    'sessions',
    'directory',
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

  const auth = parseAuth(root['auth'], overrides, listen.tls !== undefined, checks);

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
        cookieName: str(s['cookieName'], 'sessions.cookieName', 'httpauth_session'),
        maxAgeSec: num(s['maxAgeSec'], 'sessions.maxAgeSec', 3600, 1, 7 * 86400),
      };
    }
  }

  const directory =
    root['directory'] === undefined ? undefined : parseDirectory(root['directory'], checks);

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
    auth,
    identity,
    ...(sessions === undefined ? {} : { sessions }),
    ...(directory === undefined ? {} : { directory }),
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
