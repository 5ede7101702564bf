/**
 * gateway.schema.json and validateConfig agree: every example configuration in the repository's
 * documentation passes both; every configuration the config tests refuse is refused by
 * validateConfig with the expected message and, unless only code can see the problem (a URL, a
 * canonical path, two settings that contradict each other), by the schema alone (what an
 * editor reports); every default the schema states is the value validateConfig fills in.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { GatewayConfigError, validateConfig } from '../src/config.js';
import { gatewaySchema, schemaAt, schemaProblems } from '../src/config-schema.js';
import type { SchemaNode } from '../src/config-schema.js';

const repo = new URL('../../../', import.meta.url);
const upstream = 'http://127.0.0.1:3000';
const basic = { basic: { htpasswd: '/x' } };
/** directory.ldap settings that validate (nothing is contacted). */
const ldapGood = {
  url: 'ldaps://dc1.samdom.test',
  bindDn: 'reader@samdom.test',
  passwordFile: '/p',
};
/** A gateway asking for client certificates, with `section` merged into clientCertificates. */
const certificates = (section: Record<string, unknown>) => ({
  upstream,
  listen: {
    tls: {
      cert: '/c',
      key: '/k',
      clientCertificates: { ca: '/ca.pem', crlFiles: ['/ca.crl'], ...section },
    },
  },
});

/** Fenced YAML blocks of a Markdown file, dedented (some sit inside list items). */
function yamlBlocks(file: URL): { where: string; text: string }[] {
  const markdown = readFileSync(file, 'utf8');
  return [...markdown.matchAll(/```ya?ml\n([\s\S]*?)```/g)].map((match) => {
    const lines = (match[1] as string).split('\n');
    const indent = Math.min(
      ...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length),
    );
    const line = markdown.slice(0, match.index).split('\n').length;
    return {
      where: `${file.pathname.split('/').slice(-2).join('/')}:${line}`,
      text: lines.map((l) => l.slice(indent)).join('\n'),
    };
  });
}

/** Example gateway configurations: YAML blocks whose keys are all gateway settings. */
function examples(): { where: string; document: Record<string, unknown> }[] {
  const files = [
    new URL('packages/gateway/README.md', repo),
    ...readdirSync(new URL('docs/', repo))
      .filter((name) => name.endsWith('.md'))
      .map((name) => new URL(`docs/${name}`, repo)),
  ];
  const settings = Object.keys(gatewaySchema.properties ?? {});
  const found: { where: string; document: Record<string, unknown> }[] = [];
  for (const file of files)
    for (const { where, text } of yamlBlocks(file)) {
      let document: unknown;
      try {
        document = parseYaml(text);
      } catch {
        continue; // not YAML a gateway reads (a docker-compose excerpt with placeholders, ...)
      }
      if (typeof document !== 'object' || document === null || Array.isArray(document)) continue;
      const keys = Object.keys(document);
      if (keys.includes('auth') || keys.includes('upstream') || keys.includes('directory'))
        if (keys.every((key) => settings.includes(key)) || keys.includes('upstream'))
          found.push({ where, document: document as Record<string, unknown> });
    }
  return found;
}

function refusal(document: unknown, overrides = {}): string {
  try {
    validateConfig(document, overrides, '/');
  } catch (error) {
    assert.ok(error instanceof GatewayConfigError, String(error));
    return error.problems.join('\n');
  }
  return '';
}

describe('gateway.schema.json and validateConfig agree', () => {
  it('every example configuration in the documentation is valid for both', () => {
    const found = examples();
    assert.ok(found.length >= 6, `only ${found.length} examples found`);
    for (const { where, document } of found) {
      assert.deepEqual(schemaProblems(document), [], where);
      const complete = { ...document, auth: document['auth'] ?? basic };
      assert.equal(
        refusal(complete, document['upstream'] === undefined ? { upstream } : {}),
        '',
        where,
      );
    }
  });

  it('accepts "$schema" (for editors reading gateway.json) and ignores it', () => {
    const document = { $schema: './gateway.schema.json', upstream, auth: basic };
    assert.deepEqual(schemaProblems(document), []);
    assert.equal(refusal(document), '');
    assert.match(refusal({ ...document, $schema: 1 }), /\$schema must be a non-empty string/);
  });

  /** [document, the problem validateConfig reports, whether the schema alone refuses it]. */
  const ntlm = (extra: Record<string, unknown>) => ({
    upstream,
    auth: { ntlm: { smbpasswd: '/x', domain: 'EXAMPLE', ...extra } },
  });
  const dc = (extra: Record<string, unknown>) => ({
    upstream,
    auth: {
      ntlm: {
        domain: 'SAMDOM',
        domainController: {
          servers: ['dc1'],
          machineAccount: 'WEB1$',
          machinePasswordFile: '/p',
          ...extra,
        },
      },
    },
  });
  const refused: readonly [unknown, RegExp, boolean][] = [
    [{ upstream, auth: basic, bogus: 1 }, /unknown setting "bogus"/, true],
    [{ upstream: 5, auth: basic }, /^upstream must be a string or an object$/, true],
    [
      { upstream, auth: basic, listen: 'localhost' },
      /listen must be host:port or \[v6\]:port/,
      true,
    ],
    [
      { upstream, auth: basic, listen: { port: 70000 } },
      /listen\.port must be a number from 0 to 65535/,
      true,
    ],
    [
      { upstream, auth: { ...basic, mechanisms: ['digest', 'kerberos'] } },
      /auth\.mechanisms must list some of/,
      true,
    ],
    [
      { upstream, auth: { ...basic, channelBinding: 'sometimes' } },
      /auth\.channelBinding must be none, allow or require/,
      true,
    ],
    [
      { upstream, auth: basic, identity: { userHeader: 'bad header' } },
      /identity\.userHeader .*header name/,
      true,
    ],
    [
      { upstream, auth: basic, rules: [{ prefix: 'admin' }] },
      /rules\[0\]\.prefix must start with \//,
      true,
    ],
    [
      { upstream, auth: basic, pathCase: 'upper' },
      /pathCase must be insensitive or sensitive/,
      true,
    ],
    [{ upstream, auth: basic, trustProxy: 'yes' }, /trustProxy must be true or false/, true],
    [
      ntlm({ channelBinding: 'sometimes' }),
      /auth\.ntlm\.channelBinding must be none, allow or require/,
      true,
    ],
    [ntlm({ targetNames: 'HTTP/x' }), /auth\.ntlm\.targetNames must be a list of strings/, true],
    [ntlm({ hostNames: 'gw' }), /auth\.ntlm\.hostNames must be a list of strings/, true],
    [ntlm({ hostNames: [] }), /auth\.ntlm\.hostNames must list at least one host name/, true],
    [ntlm({ targetname: ['HTTP/x'] }), /unknown setting "auth\.ntlm\.targetname"/, true],
    [
      ntlm({ domainController: { machineAccount: 'WEB1$', machinePasswordFile: '/p' } }),
      /auth\.ntlm needs exactly one of smbpasswd, domainController/,
      true,
    ],
    [
      { upstream, auth: { ntlm: { domain: 'D' } } },
      /auth\.ntlm needs exactly one of smbpasswd, domainController/,
      true,
    ],
    [
      dc({ machinePasswordFile: undefined }),
      /domainController needs exactly one of machinePasswordFile, machineNtHashFile/,
      true,
    ],
    [
      dc({ machineNtHashFile: '/h' }),
      /needs exactly one of machinePasswordFile, machineNtHashFile/,
      true,
    ],
    [
      dc({ machinePassword: 'inline' }),
      /unknown setting "auth\.ntlm\.domainController\.machinePassword"/,
      true,
    ],
    [dc({ servers: [] }), /servers must list at least one host/, true],
    [dc({ servers: 'dc1' }), /servers must be a list of strings/, true],
    [dc({ machineAccount: 'NOT A NAME' }), /machineAccount must be the computer account/, true],
    [dc({ machineAccount: undefined }), /machineAccount must be a non-empty string/, true],
    [dc({ timeoutMs: 0 }), /timeoutMs must be a number from 100 to 60000/, true],
    [
      {
        upstream,
        auth: basic,
        directory: { ldap: { url: 'http://dc1', cacheTtlSec: 0, bindDN: 'x' } },
      },
      /directory\.ldap\.url must be ldaps:\/\/host/,
      true,
    ],
    [
      { upstream, auth: basic, directory: { ldap: { url: 'ldaps://dc1' } } },
      /directory\.ldap\.bindDn must be a non-empty string/,
      true,
    ],
    [
      { upstream, auth: basic, directory: {} },
      /directory\.ldap\.passwordFile must be a non-empty string/,
      true,
    ],
    [
      { upstream, auth: basic, sessions: { keys: [] } },
      /sessions\.keys must list at least one/,
      true,
    ],
    // Only code can see these: a URL's scheme, canonical paths, settings that depend on others.
    [{ upstream: 'ftp://x', auth: basic }, /upstream\.url must be http: or https:/, false],
    [{}, /upstream\.url is required/, false],
    [{ upstream }, /auth: configure at least one of/, false],
    [
      { upstream, auth: { mechanisms: ['digest'], ...basic } },
      /auth\.digest is listed in auth\.mechanisms but not configured/,
      false,
    ],
    [
      { upstream, auth: basic, rules: [{ prefix: '/a/../b' }] },
      /is not canonical \(use "\/b"\)/,
      false,
    ],
    [{ upstream, auth: basic, rules: [{ prefix: '/x;y' }] }, /is not a plain path/, false],
    [
      { upstream, auth: basic, rules: [{ prefix: '/p', public: true, groups: ['g'] }] },
      /a public rule cannot require/,
      false,
    ],
    [
      certificates({ crlFiles: 'root.crl' }),
      /listen\.tls\.clientCertificates\.crlFiles must be a list of CRL files/,
      true,
    ],
    [
      certificates({ onInvalidCertificate: 'accept' }),
      /listen\.tls\.clientCertificates\.onInvalidCertificate must be refuse or fall-through/,
      true,
    ],
    [
      certificates({ mapping: [{ type: 'upn', pattern: '^x' }] }),
      /a upn rule takes no entries, pattern or name/,
      false,
    ],
    [
      certificates({ mapping: [{ type: 'sid' }, { type: 'thumbprint' }] }),
      /listen\.tls\.clientCertificates\.mapping\[1\]\.type must be sid, explicit, upn, email, subject or directory/,
      true,
    ],
    [certificates({ crlFiles: [] }), /give crlFiles, ocsp or failOpen: true/, false],
    [
      { ...certificates({ mapping: [{ type: 'directory' }] }), directory: { ldap: ldapGood } },
      /mapping\[0\]: a directory rule needs issuers \(the CAs allowed to log on/,
      false,
    ],
    [
      {
        ...certificates({
          mapping: [{ type: 'directory', issuers: ['/ca.pem'], anyIssuer: true }],
        }),
        directory: { ldap: ldapGood },
      },
      /give issuers or anyIssuer, not both/,
      false,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'directory', issuers: 'ntauth', anyIssuer: true }] }),
        directory: { ldap: ldapGood },
      },
      /give issuers or anyIssuer, not both/,
      false,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'directory', issuers: 'all' }] }),
        directory: { ldap: ldapGood },
      },
      /mapping\[0\]\.issuers must be ntauth/,
      true,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'upn', issuers: 'ntauth' }], allowWeakMappings: true }),
      },
      /mapping\[0\]: issuers: ntauth belongs to a directory rule/,
      false,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'directory', issuers: 7 }] }),
        directory: { ldap: ldapGood },
      },
      /mapping\[0\]\.issuers must be a string or a list/,
      true,
    ],
    [
      certificates({ mapping: [{ type: 'directory', issuers: ['/ca.pem'] }] }),
      /mapping\[0\]: a directory rule looks accounts up through directory\.ldap; configure it/,
      false,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'directory', issuers: ['/ca.pem'], byUpn: true }] }),
        directory: { ldap: ldapGood },
      },
      /the directory rule is weak \(KB5014754\); set allowWeakMappings: true/,
      false,
    ],
    [
      certificates({ mapping: [{ type: 'sid', byUpn: true }] }),
      /mapping\[0\]: byUpn belong to a directory rule/,
      false,
    ],
    [
      certificates({ mapping: [{ type: 'sid', issuers: ['/ca.pem'] }] }),
      /mapping\[0\]: issuers belong to a directory or upn rule/,
      false,
    ],
    [
      {
        ...certificates({ mapping: [{ type: 'directory', issuers: [''] }] }),
        directory: { ldap: ldapGood },
      },
      /mapping\[0\]\.issuers must be a list of strings/,
      true,
    ],
    [
      certificates({ mapping: [{ type: 'sid' }, { type: 'email' }] }),
      /the email rule is weak \(KB5014754\); set allowWeakMappings: true/,
      false,
    ],
    [
      certificates({ mapping: [{ type: 'subject', pattern: '^CN=(', name: '$1' }] }),
      /mapping\[0\]\.pattern is not a regular expression/,
      false,
    ],
    [
      certificates({ mapping: [{ type: 'explicit', entries: [] }] }),
      /an explicit rule needs entries/,
      false,
    ],
    [dc({ servers: ['dc1:0'] }), /servers: "dc1:0" is not host or host:port/, false],
    [dc({ servers: undefined }), /needs servers, or dnsDomain/, false],
    [
      { ...dc({}), auth: { ntlm: { ...dc({}).auth.ntlm, computerName: 'OTHER' } } },
      /computerName must be the machine account without \$ \(WEB1\)/,
      false,
    ],
  ];
  for (const [document, message, bySchema] of refused) {
    it(`refuses ${JSON.stringify(document).slice(0, 90)}`, () => {
      assert.match(refusal(document), message);
      const problems = schemaProblems(document);
      if (bySchema)
        assert.ok(
          problems.some((p) => message.test(p)),
          problems.join('\n'),
        );
      else assert.deepEqual(problems, [], 'the schema accepts it; only validateConfig refuses');
    });
  }

  it('fills every default the schema states, and only those', () => {
    const configure = (
      ntlm: Record<string, unknown>,
      basic: Record<string, unknown> = { htpasswd: '/x' },
    ) =>
      validateConfig(
        {
          upstream: { url: upstream },
          listen: {
            tls: {
              cert: '/c',
              key: '/k',
              clientCertificates: {
                ca: '/ca',
                crlFiles: ['/crl'],
                ocsp: {},
                // the rule whose settings have defaults (directory.ldap is configured below)
                mapping: [{ type: 'directory', issuers: ['/issuing.pem'] }],
              },
            },
          },
          auth: {
            negotiate: {},
            ntlm: { domain: 'D', ...ntlm },
            digest: { file: '/d', nonceKeyFile: '/n' },
            basic,
          },
          identity: { signature: { secretFile: '/s' } },
          sessions: { keys: [{ id: 'k', secretFile: '/k' }] },
          store: { redis: { url: 'redis://127.0.0.1:6379' } },
          routes: [
            {
              prefix: '/r',
              upstream: { url: upstream },
              rules: [{ prefix: '/r' }],
              identity: { signature: { secretFile: '/s' } },
            },
          ],
          directory: { ldap: { url: 'ldaps://dc', bindDn: 'r', passwordFile: '/p' } },
          rules: [{ prefix: '/p' }],
          authRequest: {},
          log: {},
        },
        {},
        '/',
      ) as unknown as Record<string, unknown>;
    // NTLM takes exactly one of smbpasswd and domainController, Basic one of htpasswd and
    // kerberos: one configuration each.
    const configs = [
      configure({ smbpasswd: '/x' }),
      configure(
        { domainController: { servers: ['dc'], machineAccount: 'W$', machineNtHashFile: '/h' } },
        { kerberos: { realm: 'R' } },
      ),
    ];
    const defaults: [string, unknown][] = [];
    const walk = (node: SchemaNode, path: string): void => {
      const resolved = node.$ref === undefined ? node : { ...schemaAt(path), ...node };
      if (resolved.default !== undefined) defaults.push([path, resolved.default]);
      for (const branch of resolved.anyOf ?? []) walk(branch, path);
      for (const [name, child] of Object.entries(resolved.properties ?? {}))
        walk(child, path === '' ? name : `${path}.${name}`);
      if (resolved.items !== undefined) walk(resolved.items, `${path}[]`);
    };
    walk(gatewaySchema, '');
    assert.ok(defaults.length >= 30, `${defaults.length} defaults`);
    const at = (config: unknown, path: string): unknown => {
      let value = config;
      for (const step of path.split('.')) {
        value = (value as Record<string, unknown> | undefined)?.[step.replace('[]', '')];
        if (step.endsWith('[]')) value = (value as unknown[] | undefined)?.[0];
      }
      return value;
    };
    for (const [path, value] of defaults) {
      // GatewayConfig.directory is the `directory.ldap` section (LDAP is the only directory).
      const built = path.replace(/^directory\.ldap\./, 'directory.');
      const actual = configs.map((config) => at(config, built)).find((v) => v !== undefined);
      // Header names are sent in lower case, as Node gives them.
      const expected = /Header$|\.header$/.test(path) ? String(value).toLowerCase() : value;
      assert.deepEqual(actual, expected, path);
    }
  });

  it('never throws anything but a GatewayConfigError, whatever the document', () => {
    const keys = fc.constantFrom(
      ...Object.keys(gatewaySchema.properties ?? {}),
      'ntlm',
      'keys',
      'ldap',
      'prefix',
      'domainController',
      'url',
      '__proto__',
      'x',
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(keys, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (document) => {
        try {
          validateConfig(document, {}, '/');
        } catch (error) {
          assert.ok(error instanceof GatewayConfigError, String(error));
          assert.ok(error.problems.every((p) => typeof p === 'string' && p.length < 400));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('listen.tls.clientCertificates', () => {
  it('reads the section with its defaults, and lets certificates stand alone', () => {
    const config = validateConfig(
      {
        ...certificates({ mapping: [{ type: 'sid' }, { type: 'upn' }], allowWeakMappings: true }),
        identity: { certificateFingerprintHeader: 'X-Client-Cert-SHA256' },
      },
      {},
      '/',
    );
    assert.deepEqual(config.listen.tls?.clientCertificates, {
      ca: '/ca.pem',
      crlFiles: ['/ca.crl'],
      crlCheckIntervalSec: 10,
      failOpen: false,
      mapping: [{ type: 'sid' }, { type: 'upn' }],
      allowWeakMappings: true,
      localDomains: [],
      onInvalidCertificate: 'refuse',
    });
    assert.deepEqual(config.auth.mechanisms, []);
    assert.equal(config.identity.certificateFingerprintHeader, 'x-client-cert-sha256');
    assert.deepEqual(
      validateConfig(certificates({}), {}, '/').listen.tls?.clientCertificates?.mapping,
      [{ type: 'sid' }],
    );
  });

  it('reads a directory rule: issuers as PEM files (resolved) or SHA-256 thumbprints', () => {
    const thumbprint = 'AB:'.repeat(31) + 'AB';
    const config = validateConfig(
      {
        ...certificates({
          mapping: [
            { type: 'directory', issuers: ['ca/issuing.pem', thumbprint], cacheTtlSec: 30 },
            { type: 'directory', anyIssuer: true },
            { type: 'directory', issuers: 'ntauth' },
            { type: 'upn', issuers: [thumbprint.replaceAll(':', '')] },
          ],
          allowWeakMappings: true,
        }),
        directory: { ldap: ldapGood },
      },
      {},
      '/etc/gw',
    );
    assert.deepEqual(config.listen.tls?.clientCertificates?.mapping, [
      {
        type: 'directory',
        issuers: [{ file: '/etc/gw/ca/issuing.pem' }, { sha256: thumbprint }],
        anyIssuer: false,
        byUpn: false,
        cacheTtlSec: 30,
      },
      { type: 'directory', issuers: [], anyIssuer: true, byUpn: false },
      { type: 'directory', issuers: 'ntauth', anyIssuer: false, byUpn: false },
      { type: 'upn', issuers: [{ sha256: thumbprint.replaceAll(':', '') }] },
    ]);
  });
});
