/**
 * Client certificates mapped through Active Directory (the Samba AD DC of test/harness/samba-dc.ts):
 * alice's account gets `altSecurityIdentities: X509:<I>…<SR>…` for a certificate of the test PKI
 * (set with ldbmodify, as an administrator would with ADUC's "Name Mappings" or Set-ADUser), and
 * curl presenting that certificate over HTTPS logs on as alice@SAMDOM.TEST with her SID and her
 * groups' SIDs from tokenGroups, which the SID resolver then names over the same LDAP; so do a
 * certificate whose serial has its high bit set (the DER 00 octet kept in X509:<SR>) and one mapped
 * by X509:<SHA1-PUKEY> stored in lower case (AD compares ignoring case). A certificate AD does not
 * map is refused; a second account claiming the same certificate makes the mapping ambiguous
 * (ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS); disabled, expired and locked-out accounts are refused with
 * their own codes. Certificate first, Negotiate second (IIS's "client certificate or Windows
 * authentication"): curl without a certificate falls through to Kerberos with alice's ticket from
 * the DC and lands on the same account. The gateway does the same from its configuration
 * (`mapping: [{ type: directory, issuers }]` over `directory.ldap`): the upstream sees alice and her
 * groups by name. With `issuers: 'ntauth'` the CAs allowed for logon are the DC's own NTAuth store:
 * none until the users CA is published in CN=NTAuthCertificates, none again once it is replaced.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import {
  clientCertificate,
  createAuthenticator,
  createSidResolver,
  negotiate,
} from '@httpauth/core';
import type { AuthInfo } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import { ldapCertificateLookup, ldapSidLookup } from '@httpauth/ldap';
import type { LdapSidLookupOptions } from '@httpauth/ldap';
import type { Gateway } from '@httpauth/gateway';
import express from 'express';

import {
  adIssuerSerial,
  createTestPki,
  type Issued,
} from '../packages/core/test/certificate-pki.js';
import {
  certificateCurl,
  startCertificateGateway,
  startIdentityEcho,
} from './harness/client-certificates.js';
import { listen, type Running } from './harness/listen.js';
import { curlNegotiate } from './harness/negotiate-clients.js';
import { DEFAULT_SAMBA_USERS, startSambaDc, type SambaDc } from './harness/samba-dc.js';

const run = promisify(execFile);
const READER = { name: 'certreader', password: 'R3ader-Passw0rd!' };
const MALLORY = { name: 'mallory', password: 'Mall0ry-Passw0rd!' };
const DORA = { name: 'dora', password: 'D0ra-Passw0rd!', state: 'disabled' as const };
const ED = { name: 'ed', password: 'Ed-Passw0rd!x' };
const LOU = { name: 'lou', password: 'L0u-Passw0rd!' };

const pki = createTestPki();
after(() => pki.remove());
const leaves = {
  highSerial: pki.issueLeaf('e2e-high', '/O=Example/CN=alice-high', { serial: 'C0FFEE0123' }),
  thumbprint: pki.issueLeaf('e2e-thumb', '/O=Example/CN=alice-thumb'),
  dora: pki.issueLeaf('e2e-dora', '/O=Example/CN=dora'),
  ed: pki.issueLeaf('e2e-ed', '/O=Example/CN=ed'),
  lou: pki.issueLeaf('e2e-lou', '/O=Example/CN=lou'),
};

/** FILETIME (100 ns since 1601, MS-DTYP §2.3.3) of a time in ms. */
const filetime = (ms: number) => String(BigInt(ms) * 10_000n + 116_444_736_000_000_000n);

/** Applies an LDIF change to the DC's database (ldbmodify), as an administrator would over LDAP. */
async function changeDirectory(dc: SambaDc, ldif: string): Promise<void> {
  const file = join(dc.dir, `change-${Date.now()}-${Math.random()}.ldif`);
  await writeFile(file, `${ldif}\n`);
  await run('ldbmodify', ['-H', join(dc.dir, 'dc', 'private', 'sam.ldb'), file]);
}

/** Changes an account in the DC's database (ldbmodify), as an administrator would over LDAP. */
async function modifyAccount(dc: SambaDc, account: string, change: string): Promise<void> {
  const samLdb = join(dc.dir, 'dc', 'private', 'sam.ldb');
  const { stdout } = await run('ldbsearch', ['-H', samLdb, `(sAMAccountName=${account})`, 'dn']);
  const dn = /^dn: (.+)$/m.exec(stdout)?.[1];
  if (dn === undefined) throw new Error(`no dn for ${account}`);
  const ldif = join(dc.dir, `change-${account}-${Date.now()}.ldif`);
  await writeFile(ldif, `dn: ${dn}\nchangetype: modify\n${change}\n`);
  await run('ldbmodify', ['-H', samLdb, ldif]);
}

/** Adds an altSecurityIdentities value to an account. */
const addAltSecurityIdentity = (dc: SambaDc, account: string, value: string) =>
  modifyAccount(dc, account, `add: altSecurityIdentities\naltSecurityIdentities: ${value}`);

function sha1Thumbprint(cert: Issued): string {
  const text = pki.openssl(['x509', '-in', cert.cert, '-noout', '-fingerprint', '-sha1']);
  return text.trim().replace(/^.*=/, '').replace(/:/g, '');
}

const curl = certificateCurl(join(pki.dir, 'root', 'ca.pem'));

describe('client certificates mapped by altSecurityIdentities in the Samba AD DC', () => {
  let dc: SambaDc;
  let dir: string;
  let server: Running;
  let lookups: { close(): Promise<void> }[] = [];
  let ldapOptions: LdapSidLookupOptions;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-cert-directory-'));
    dc = await startSambaDc({ users: [...DEFAULT_SAMBA_USERS, READER, MALLORY, DORA, ED, LOU] });
    await addAltSecurityIdentity(dc, 'alice', adIssuerSerial(pki, pki.certs.subject));
    await addAltSecurityIdentity(dc, 'alice', adIssuerSerial(pki, leaves.highSerial));
    const thumbprint = sha1Thumbprint(leaves.thumbprint).toLowerCase();
    await addAltSecurityIdentity(dc, 'alice', `X509:<SHA1-PUKEY>${thumbprint}`);
    for (const [account, cert] of [
      ['dora', leaves.dora],
      ['ed', leaves.ed],
      ['lou', leaves.lou],
    ] as const) {
      await addAltSecurityIdentity(dc, account, adIssuerSerial(pki, cert));
    }
    await modifyAccount(
      dc,
      'ed',
      `replace: accountExpires\naccountExpires: ${filetime(Date.UTC(2020, 0, 1))}`,
    );
    await modifyAccount(dc, 'lou', `replace: lockoutTime\nlockoutTime: ${filetime(Date.now())}`);
    // The same certificate claimed by two accounts: the mapping names neither.
    await addAltSecurityIdentity(dc, 'alice', adIssuerSerial(pki, pki.certs.email));
    await addAltSecurityIdentity(dc, MALLORY.name, adIssuerSerial(pki, pki.certs.email));
    const ldap: LdapSidLookupOptions = (ldapOptions = {
      url: 'ldaps://127.0.0.1:636',
      tls: {
        ca: await readFile(join(dc.dir, 'dc', 'private', 'tls', 'ca.pem')),
        servername: `dc1.${dc.realm.toLowerCase()}`,
      },
      bind: { dn: `${READER.name}@${dc.realm.toLowerCase()}`, password: READER.password },
    });
    const certificates = ldapCertificateLookup(ldap);
    const names = ldapSidLookup(ldap);
    lookups = [certificates, names];
    const authenticator = createAuthenticator({
      packages: [negotiate({ kerberos: { keytab: dc.keytabPath }, kerberosOnly: true })],
      certificate: clientCertificate({
        ca: pki.rootPem,
        revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
        mapping: [
          {
            type: 'directory',
            lookup: certificates,
            // The users CA is the one CA allowed for logon (NTAuth); the root is only an anchor.
            issuers: [readFileSync(pki.intermediate.cert, 'utf8')],
          },
        ],
      }),
      directory: createSidResolver({ lookup: names }),
    });
    const app = express();
    app.get('/whoami', httpAuth(authenticator), (req, res) => {
      const principal = (req.auth as AuthInfo).principal;
      res.json({
        name: principal.name,
        mechanism: principal.mechanism,
        userSid: principal.userSid,
        groupSids: principal.groupSids,
        groups: principal.groups,
        certificate: principal.certificate,
      });
    });
    server = await listen(
      createServer(
        {
          key: readFileSync(pki.server.key),
          cert: readFileSync(pki.server.cert),
          ca: pki.rootPem,
          requestCert: true,
          rejectUnauthorized: false,
        },
        app,
      ),
      { tls: true },
    );
  });

  after(async () => {
    await server?.close();
    for (const lookup of lookups) await lookup.close();
    await dc?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('curl with the mapped certificate: alice@SAMDOM.TEST, her SID and named groups, strongly', async () => {
    const answer = await curl(`${server.url}/whoami`, pki.certs.subject);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.name, `alice@${dc.realm}`);
    assert.equal(answer.body.mechanism, 'Certificate');
    assert.equal(answer.body.userSid, dc.sids.get('alice'));
    const groupSids = answer.body.groupSids as string[];
    // Domain Users (RID 513), from tokenGroups.
    assert.ok(groupSids.includes(`${dc.domainSid}-513`), JSON.stringify(groupSids));
    assert.ok((answer.body.groups as string[]).includes(`${dc.domain}\\Domain Users`));
    const certificate = answer.body.certificate as Record<string, unknown>;
    assert.deepEqual([certificate.strength, certificate.rule], ['strong', 'altSecurityIdentities']);
  });

  it('the X509:<SR> with a 00 sign octet, and a lower-case X509:<SHA1-PUKEY>, map alice', async () => {
    for (const cert of [leaves.highSerial, leaves.thumbprint]) {
      const answer = await curl(`${server.url}/whoami`, cert);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.name, `alice@${dc.realm}`);
    }
  });

  it('refused: no account, two accounts, a disabled, an expired and a locked-out account', async () => {
    const base = `${server.url}/whoami`;
    for (const [cert, code] of [
      [pki.certs.upn, 'ERR_HTTPAUTH_CERT_UNMAPPED'],
      [pki.certs.email, 'ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS'],
      [leaves.dora, 'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED'],
      [leaves.ed, 'ERR_HTTPAUTH_CERT_ACCOUNT_EXPIRED'],
      [leaves.lou, 'ERR_HTTPAUTH_CERT_ACCOUNT_LOCKED'],
    ] as const) {
      const answer = await curl(base, cert);
      assert.equal(answer.status, 401, JSON.stringify(answer.body));
      assert.equal(answer.body.error, code, cert.cert);
    }
  });

  it("issuers: 'ntauth' reads the CAs allowed for logon from the DC's NTAuthCertificates object", async () => {
    const ntauth = ldapCertificateLookup(ldapOptions);
    lookups.push(ntauth);
    const pkg = clientCertificate({
      ca: pki.rootPem,
      revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
      mapping: [{ type: 'directory', lookup: ntauth, issuers: 'ntauth', cacheTtlMs: 0 }],
    });
    const logon = async () => {
      const result = await pkg.authenticateConnection(pki.chain(pki.certs.subject), Date.now());
      return result.type === 'complete'
        ? result.principal.name
        : result.type === 'reject'
          ? result.error.code
          : result.type;
    };
    // Samba provisions no NTAuth store: no CA is allowed for logon.
    assert.deepEqual(await ntauth.ntAuthCertificates(), []);
    assert.equal(await logon(), 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED');
    // What `certutil -dspublish -f users-ca.crt NTAuthCA` writes: the users CA in cACertificate.
    const usersCa = new X509Certificate(readFileSync(pki.intermediate.cert)).raw;
    const rootCa = new X509Certificate(pki.rootPem).raw;
    const baseDn = dc.realm
      .toLowerCase()
      .split('.')
      .map((label) => `DC=${label}`)
      .join(',');
    const configuration = `CN=Configuration,${baseDn}`;
    const dn = `CN=NTAuthCertificates,CN=Public Key Services,CN=Services,${configuration}`;
    await changeDirectory(
      dc,
      `dn: ${dn}\nchangetype: add\nobjectClass: certificationAuthority\n` +
        `cACertificate:: ${usersCa.toString('base64')}\n` +
        // Mandatory for the class (MS-ADSC §2.16); certutil writes a single zero octet.
        'certificateRevocationList:: AA==\nauthorityRevocationList:: AA==',
    );
    assert.deepEqual(await ntauth.ntAuthCertificates(), [usersCa]);
    assert.equal(await logon(), `alice@${dc.realm}`);
    // Only the root left in the store: the users CA that issued the leaf is no longer allowed.
    await changeDirectory(
      dc,
      `dn: ${dn}\nchangetype: modify\nreplace: cACertificate\n` +
        `cACertificate:: ${rootCa.toString('base64')}`,
    );
    assert.equal(await logon(), 'ERR_HTTPAUTH_CERT_ISSUER_NOT_ALLOWED');
  });

  it('no certificate: curl --negotiate falls through to Kerberos, as the same account', async () => {
    const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
    const ccache = await dc.kinit(alice.name, alice.password, join(dir, 'alice.ccache'));
    const env = {
      ...dc.env,
      KRB5CCNAME: `FILE:${ccache}`,
      CURL_CA_BUNDLE: join(pki.dir, 'root', 'ca.pem'),
    };
    const answer = await curlNegotiate(
      `${server.url.replace('127.0.0.1', 'localhost')}/whoami`,
      env,
    );
    assert.equal(answer.status, 200, answer.body);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(body.name, `alice@${dc.realm}`);
    assert.equal(body.mechanism, 'Kerberos');
    assert.equal(body.userSid, dc.sids.get('alice'));
  });

  describe('through the gateway: listen.tls.clientCertificates with a directory rule', () => {
    let upstream: { url: string; close(): void };
    let gateway: Gateway;
    let url: string;

    before(async () => {
      upstream = await startIdentityEcho({
        user: 'x-remote-user',
        groups: 'x-remote-groups',
        mechanism: 'x-auth-mechanism',
      });
      await writeFile(join(dir, 'reader.password'), `${READER.password}\n`);
      ({ gateway, url } = await startCertificateGateway(
        pki,
        // The users CA alone may log on to accounts (NTAuth); the root is an anchor.
        { mapping: [{ type: 'directory', issuers: [pki.intermediate.cert] }] },
        {
          directory: {
            ldap: {
              url: 'ldaps://127.0.0.1:636',
              bindDn: `${READER.name}@${dc.realm.toLowerCase()}`,
              passwordFile: join(dir, 'reader.password'),
              caFile: join(dc.dir, 'dc', 'private', 'tls', 'ca.pem'),
              servername: `dc1.${dc.realm.toLowerCase()}`,
            },
          },
          upstream: upstream.url,
        },
        dir,
      ));
    });

    after(async () => {
      await gateway?.close();
      upstream?.close();
    });

    it('alice reaches the upstream as alice@SAMDOM.TEST with her groups by name', async () => {
      const answer = await curl(url, pki.certs.subject);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.user, `alice@${dc.realm}`);
      assert.equal(answer.body.mechanism, 'Certificate');
      // Names then SIDs, percent-encoded (identity.ts): Domain Users by name and by RID 513.
      const groups = String(answer.body.groups).split(',').map(decodeURIComponent);
      assert.ok(groups.includes(`${dc.domain}\\Domain Users`), JSON.stringify(answer.body));
      assert.ok(groups.includes(`${dc.domainSid}-513`), JSON.stringify(answer.body));
    });

    it('refused at the gateway: no account, two accounts, a disabled account', async () => {
      for (const [cert, code] of [
        [pki.certs.upn, 'ERR_HTTPAUTH_CERT_UNMAPPED'],
        [pki.certs.email, 'ERR_HTTPAUTH_CERT_MAPPING_AMBIGUOUS'],
        [leaves.dora, 'ERR_HTTPAUTH_CERT_ACCOUNT_DISABLED'],
      ] as const) {
        const answer = await curl(url, cert);
        assert.deepEqual([answer.status, answer.body.error], [403, code], cert.cert);
      }
    });
  });
});
