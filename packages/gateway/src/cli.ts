/**
 * httpauth-gateway: the command line. Options come from a configuration file, the environment
 * and flags (flags win). `--check` validates everything (files included) and exits.
 */
import { parseArgs } from 'node:util';
import { ENVIRONMENT, GatewayConfigError, loadConfig } from './config.js';
import { defaultOf } from './config-schema.js';
import type { ConfigOverrides } from './config.js';
import { createGateway } from './gateway.js';
import { createLogger } from './logger.js';
import { negotiateKeytabReport } from './keytab-check.js';

/** A setting's default, from the schema (the help never restates one). */
const d = (path: string): string => String(defaultOf(path));

/**
 * The text `httpauth-gateway --help` prints: flags, signals, environment variables and the
 * configuration file's keys with their defaults (read from the schema).
 */
export const HELP = `Usage: httpauth-gateway [options]

Puts Negotiate (Kerberos, NTLM fallback), NTLM, Digest and Basic authentication in front of any
HTTP application, and forwards authenticated requests with the identity in headers.

Options:
  -c, --config FILE     Configuration file, JSON or YAML (see below)
  -l, --listen H:P      Address to listen on (default ${d('listen.host')}:${d('listen.port')})
  -u, --upstream URL    The application to protect, e.g. http://127.0.0.1:3000
  -r, --realm NAME      Realm for Digest and Basic (default ${d('auth.realm')})
      --log-level L     debug | info | warn | error | silent (default ${d('log.level')})
      --ntlm-channel-binding MODE
                        NTLM channel bindings: none | allow | require
                        (default: require with listen.tls or channelBindingCertificate,
                        else auth.channelBinding or allow)
      --ntlm-target-names SPNS
                        Comma-separated SPNs NTLM clients must name (MsvAvTargetName)
      --check           Validate the configuration and its files, print a summary, exit
  -h, --help            Show this help

Signals:
  SIGHUP                Reload the configuration and the files it names; running requests
                        finish on the old one; a bad configuration is refused and logged
  SIGTERM, SIGINT       Stop accepting, let running requests finish (shutdownGraceSec), exit

Environment (overridden by flags):
${Object.entries(ENVIRONMENT)
  .map(([name, what]) => `  ${name.padEnd(33)} ${what}`)
  .join('\n')}

Configuration file (every key optional except upstream and one mechanism):
  listen: { host: ${d('listen.host')}, port: ${d('listen.port')}, tls: { cert: FILE, key: FILE } }
  upstream: { url: http://127.0.0.1:3000, maxSockets: ${d('upstream.maxSockets')}, timeoutSec: ${d('upstream.timeoutSec')} }
  auth:
    realm: NAME
    mechanisms: [negotiate, ntlm, digest, basic]   # challenge order; default: those configured
    channelBinding: ${d('auth.channelBinding').padEnd(39)}# none | allow | require (TLS channel bindings)
    negotiate: { keytab: FILE, principals: [HTTP/host@REALM], kerberosOnly: ${d('auth.negotiate.kerberosOnly')}, allowRc4: ${d('auth.negotiate.allowRc4')}, clockSkewSec: ${d('auth.negotiate.clockSkewSec')} }
    ntlm: { smbpasswd: FILE, domain: NETBIOS, dnsDomain: DNS, computerName: NAME,
            channelBinding: require, targetNames: [HTTP/gw.example.com] }   # also Negotiate's NTLM
      # or, checked by Active Directory instead of smbpasswd (exactly one of the two files):
      # domainController: { servers: [dc1, 'dc2:49152'], machineAccount: WEB1$,
      #   machinePasswordFile: FILE | machineNtHashFile: FILE, dnsDomain: DNS, timeoutMs: ${d('auth.ntlm.domainController.timeoutMs')} }
    digest: { file: FILE | htdigest: FILE, algorithms: [SHA-256, MD5], nonceLifetimeSec: ${d('auth.digest.nonceLifetimeSec')}, nonceKeyFile: FILE }
    basic: { htpasswd: FILE, allowInsecure: ${d('auth.basic.allowInsecure')} }
      # or passwords checked by the KDC (exactly one of htpasswd and kerberos):
      # kerberos: { realm: EXAMPLE.COM, trustedRealms: [PARTNER.COM], keytab: FILE, kdcs: [kdc1, 'tcp/kdc2:88'] | krb5Conf: FILE,
      #   servicePrincipal: HTTP/host@REALM, timeoutMs: ${d('auth.basic.kerberos.timeoutMs')}, allowRc4: ${d('auth.basic.kerberos.allowRc4')} }
  identity:
    userHeader: ${d('identity.userHeader').padEnd(21)}# every incoming copy is removed before the gateway sets it
    groupsHeader: ${d('identity.groupsHeader')}
    mechanismHeader: ${d('identity.mechanismHeader')}
    userFormat: ${d('identity.userFormat').padEnd(21)}# name (alice@EXAMPLE.TEST, DOMAIN\\alice) | user (alice)
    signature: { header: ${d('identity.signature.header')}, secretFile: FILE }   # HMAC-SHA256, see README
    forwardAuthorization: ${d('identity.forwardAuthorization')}
  sessions: { keys: [{ id: k1, secretFile: FILE }], cookieName: ${d('sessions.cookieName')}, maxAgeSec: ${d('sessions.maxAgeSec')} }
  directory:                         # names (SAMDOM\\Group) for the group SIDs of domain logons
    ldap: { url: ldaps://dc1, bindDn: reader@samdom.example.com, passwordFile: FILE,
            caFile: FILE, servername: dc1.samdom.example.com, cacheTtlSec: ${d('directory.ldap.cacheTtlSec')} }
  rules:
    - { prefix: /public, public: true }
    - { prefix: /admin, groups: [admins, S-1-5-21-...-512], users: [alice@EXAMPLE.TEST] }
  routes:                            # further upstreams by host and/or prefix, own rules and headers
    - { prefix: /grafana, upstream: http://127.0.0.1:3001, rules: [...],
        identity: { userHeader: X-WEBAUTH-USER, userFormat: user } }
  pathCase: ${d('pathCase').padEnd(24)}# how rules compare paths: insensitive | sensitive
  trustProxy: ${d('trustProxy').padEnd(24)}# one proxy you run is in front of every connection
  trustedProxies: [10.0.0.0/8, 'fd00::/8']  # front proxies whose Forwarded / X-Forwarded-* count
  channelBindingCertificate: FILE    # the front proxy's certificate when TLS ends there
  store:                             # shared state for several instances (fails closed: 503)
    redis: { url: redis://host:6379 | sentinels: [{ host, port }], name: NAME | cluster: [{ host, port }],
             passwordFile: FILE, username: U, tls: ${d('store.redis.tls')}, caFile: FILE, keyPrefix: '${d('store.redis.keyPrefix')}',
             commandTimeoutMs: ${d('store.redis.commandTimeoutMs')}, fallback: ${d('store.redis.fallback')} }
  authRequest: { path: ${d('authRequest.path')} }   # nginx auth_request endpoint
  healthPath: ${d('healthPath')}
  metricsPath: ${d('metricsPath')}
  log: { level: ${d('log.level')} }
  shutdownGraceSec: ${d('shutdownGraceSec')}
  maxHeaderBytes: ${d('maxHeaderBytes')}
`;

/**
 * The `httpauth-gateway` command: reads the configuration from the file, the environment and `argv`
 * (flags win); with `--check` validates it and its files and exits; otherwise serves until SIGTERM
 * or SIGINT, reloading on SIGHUP. Resolves with the exit code: 0, 1 for a bad configuration or a
 * failed listen, 2 for bad flags.
 */
export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        listen: { type: 'string', short: 'l' },
        upstream: { type: 'string', short: 'u' },
        realm: { type: 'string', short: 'r' },
        'log-level': { type: 'string' },
        'ntlm-channel-binding': { type: 'string' },
        'ntlm-target-names': { type: 'string' },
        check: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`httpauth-gateway: ${(error as Error).message}\nTry --help.\n`);
    return 2;
  }
  if (values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const overrides: ConfigOverrides = {
    ...(typeof values['listen'] === 'string' ? { listen: values['listen'] } : {}),
    ...(typeof values['upstream'] === 'string' ? { upstream: values['upstream'] } : {}),
    ...(typeof values['realm'] === 'string' ? { realm: values['realm'] } : {}),
    ...(typeof values['log-level'] === 'string' ? { logLevel: values['log-level'] } : {}),
    ...(typeof values['ntlm-channel-binding'] === 'string'
      ? { ntlmChannelBinding: values['ntlm-channel-binding'] }
      : {}),
    ...(typeof values['ntlm-target-names'] === 'string'
      ? { ntlmTargetNames: values['ntlm-target-names'] }
      : {}),
  };
  let gateway: ReturnType<typeof createGateway>;
  const configPath = typeof values['config'] === 'string' ? values['config'] : undefined;
  let logger = createLogger('info');
  try {
    const config = loadConfig(configPath, overrides, env);
    logger = createLogger(config.log.level);
    gateway = createGateway(config);
    if (values['check'] === true) {
      // The keytab is read at the first logon; --check reads it now, with the doctor's check.
      const keytab =
        config.auth.negotiate === undefined
          ? undefined
          : negotiateKeytabReport(config.auth.negotiate, env);
      await gateway.authenticator.close();
      if (keytab !== undefined && keytab.problems.length > 0) {
        for (const problem of keytab.problems)
          process.stderr.write(`httpauth-gateway: auth.negotiate: ${problem}\n`);
        return 1;
      }
      process.stdout.write(
        `configuration OK: listen ${config.listen.tls === undefined ? 'http' : 'https'}://${config.listen.host}:${config.listen.port}, ` +
          `upstream ${config.upstream.url}, mechanisms ${[
            ...(config.listen.tls?.clientCertificates === undefined ? [] : ['client certificate']),
            ...config.auth.mechanisms,
          ].join(', ')}\n`,
      );
      for (const line of keytab?.lines ?? []) process.stdout.write(`${line}\n`);
      return 0;
    }
  } catch (error) {
    if (error instanceof GatewayConfigError) {
      process.stderr.write(`httpauth-gateway: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  try {
    await gateway.listen();
  } catch (error) {
    process.stderr.write(
      `httpauth-gateway: cannot listen: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`,
    );
    return 1;
  }
  // SIGHUP: read the configuration and its files again; a bad one is refused and logged.
  const refused = (error: unknown) => {
    const problems =
      error instanceof GatewayConfigError ? error.problems : [String((error as Error).message)];
    logger.log('error', 'reload refused, the previous configuration stays', { problems });
  };
  const reload = () => {
    try {
      const next = loadConfig(configPath, overrides, env);
      gateway.reload(next).then(() => {
        logger = createLogger(next.log.level);
      }, refused);
    } catch (error) {
      refused(error);
    }
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.off('SIGHUP', reload);
      void gateway.close().then(resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
