/**
 * Names for the PAC's group SIDs from the Samba AD DC's LDAP (test/harness/samba-dc.ts):
 * a Kerberos logon through Express shows `SAMDOM\...` names for alice's groups, including the
 * group she is in only through another group (the PAC carries the nested SID; LDAP names it),
 * over LDAPS and over StartTLS, trusting the DC's self-signed CA explicitly. With LDAP down the
 * same logon succeeds with SIDs only and an httpauth:warning event.
 *
 * The same DC also serves the winbind backend: a Samba AD DC runs winbindd, and its ntlm_auth
 * helper answers as on a joined member, so curl --ntlm goes through ntlm({ winbind }) to the
 * DC's winbindd, and wbinfo gives the SIDs (nested groups included) that LDAP then names.
 * Then a real member (test/harness/samba-member.ts) joins the DC, and the same logon goes
 * through the member's winbindd, which checks it with the DC over its NETLOGON secure channel.
 */
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';

import { CHANNEL_WARNING, createSidResolver, negotiate, ntlm, requireGroup } from '@httpauth/core';
import type { AuthInfo, PrincipalDirectory, SecurityPackage, WarningEvent } from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import { ldapSidLookup } from '@httpauth/ldap';
import type { LdapSidLookupOptions } from '@httpauth/ldap';
import express from 'express';

import { curlNegotiate } from './harness/negotiate-clients.js';
import { curlNtlm } from './harness/ntlm-clients.js';
import { DEFAULT_SAMBA_USERS, startSambaDc } from './harness/samba-dc.js';
import { joinSambaMember } from './harness/samba-member.js';
import type { SambaDc } from './harness/samba-dc.js';
import { listen, type Running } from './harness/listen.js';

const READER = { name: 'ldapreader', password: 'R3ader-Passw0rd!' };
const GROUPS = [
  { name: 'webusers', members: ['alice'] },
  // alice is in webadmins only through webusers: a nested group.
  { name: 'webadmins', members: ['webusers'] },
];

interface Who {
  name: string;
  mechanism?: string;
  userSid?: string;
  groups?: string[];
  groupSids?: string[];
}

async function start(
  keytab: string,
  directory: PrincipalDirectory,
  packages: SecurityPackage[] = [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
): Promise<Running> {
  const app = express();
  app.use(httpAuth({ packages, directory }));
  app.get('/whoami', (req, res) => {
    const p = (req.auth as AuthInfo).principal;
    res.json({
      name: p.name,
      mechanism: p.mechanism,
      userSid: p.userSid,
      groups: p.groups,
      groupSids: p.groupSids,
    });
  });
  app.get('/admins', (req, res) => {
    res.status(requireGroup('SAMDOM\\webadmins').test(req.auth) ? 200 : 403).end();
  });
  return listen(createServer(app));
}

/** winbindd starts after the KDC: wait until it answers a ping. */
async function winbindReady(): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) =>
      execFile('wbinfo', ['-p'], { timeout: 10_000 }, (error) => resolve(error === null)),
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error('winbindd did not answer');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('SID names from the Samba AD DC over LDAP, and NTLM through its winbind', () => {
  let dc: SambaDc;
  let dir: string;
  let aliceEnv: NodeJS.ProcessEnv;
  let tls: LdapSidLookupOptions['tls'];
  let bind: LdapSidLookupOptions['bind'];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-samba-directory-'));
    dc = await startSambaDc({ users: [...DEFAULT_SAMBA_USERS, READER], groups: GROUPS });
    const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
    const ccache = await dc.kinit(alice.name, alice.password, join(dir, 'alice.ccache'));
    aliceEnv = { ...dc.env, KRB5CCNAME: `FILE:${ccache}` };
    // Samba made a self-signed CA at first start (private/tls): trust exactly it, and check the
    // certificate against the DC's DNS name although we connect to the loopback address.
    tls = {
      ca: await readFile(join(dc.dir, 'dc', 'private', 'tls', 'ca.pem')),
      servername: `dc1.${dc.realm.toLowerCase()}`,
    };
    bind = { dn: `${READER.name}@${dc.realm.toLowerCase()}`, password: READER.password };
  });

  after(async () => {
    await dc?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  for (const url of ['ldaps://127.0.0.1:636', 'ldap://127.0.0.1:389']) {
    it(`${url}${url.startsWith('ldap:') ? ' with StartTLS' : ''}: a Kerberos logon shows SAMDOM\\ names, nested groups included`, async () => {
      const lookup = ldapSidLookup({ url, tls, bind });
      // Straight to the lookup first, so a failure shows its cause rather than a missing name.
      const direct = await lookup.lookupSids(
        [dc.sids.get('webusers') as string, 'S-1-5-32-545', 'S-1-5-21-1-2-3-4'],
        new AbortController().signal,
      );
      assert.deepEqual(
        [...direct.entries()].sort(),
        [
          ['S-1-5-32-545', 'BUILTIN\\Users'],
          [dc.sids.get('webusers') as string, 'SAMDOM\\webusers'],
        ].sort(),
      );
      const directory = createSidResolver({ lookup });
      const server = await start(dc.keytabPath, directory);
      try {
        const result = await curlNegotiate(`http://localhost:${server.port}/whoami`, aliceEnv);
        assert.equal(result.status, 200, result.body + result.stderr);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.name, 'alice@SAMDOM.TEST');
        const groups = body.groups ?? [];
        for (const name of ['SAMDOM\\webusers', 'SAMDOM\\webadmins', 'SAMDOM\\Domain Users']) {
          assert.ok(groups.includes(name), `${name} in ${groups.join(', ')}`);
        }
        const sids = body.groupSids ?? [];
        assert.ok(sids.includes(dc.sids.get('webadmins') as string), 'the nested group SID');
        assert.ok(sids.includes(dc.sids.get('webusers') as string));
        const admins = await curlNegotiate(`http://localhost:${server.port}/admins`, aliceEnv);
        assert.equal(admins.status, 200, 'requireGroup by name through the nested group');
      } finally {
        await server.close();
        await directory.close();
      }
    });
  }

  it('LDAP down: the logon still succeeds with SIDs, and a warning event says why', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const directory = createSidResolver({
      lookup: ldapSidLookup({ url: `ldaps://127.0.0.1:${port}`, tls, bind }),
    });
    const events: WarningEvent[] = [];
    const listener = (event: unknown) => events.push(event as WarningEvent);
    subscribe(CHANNEL_WARNING, listener);
    const server = await start(dc.keytabPath, directory);
    try {
      const result = await curlNegotiate(`http://localhost:${server.port}/whoami`, aliceEnv);
      assert.equal(result.status, 200, result.body + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.name, 'alice@SAMDOM.TEST');
      assert.ok(body.groupSids?.includes(dc.sids.get('webadmins') as string));
      assert.ok(!(body.groups ?? []).some((g) => g.startsWith('SAMDOM\\')), 'no domain names');
      assert.equal(events.length, 1);
      assert.equal(events[0]?.code, 'ERR_HTTPAUTH_DIRECTORY_UNAVAILABLE');
      assert.ok((events[0]?.unresolved ?? 0) >= 3);
    } finally {
      unsubscribe(CHANNEL_WARNING, listener);
      await server.close();
      await directory.close();
    }
  });

  it('the demo with KRB5_KTNAME and HTTPAUTH_LDAP_*: /whoami shows group names and SIDs', async () => {
    const passwordFile = join(dir, 'ldap-password');
    const caFile = join(dir, 'ldap-ca.pem');
    await writeFile(passwordFile, `${bind.password}\n`, { mode: 0o600 });
    await writeFile(caFile, tls?.ca as Buffer);
    const demo = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/intranet-api/src/server.ts'],
      {
        env: {
          ...process.env,
          PORT: '0',
          KRB5_KTNAME: `FILE:${dc.keytabPath}`,
          HTTPAUTH_LDAP_URL: 'ldaps://127.0.0.1:636',
          HTTPAUTH_LDAP_BIND_DN: bind.dn,
          HTTPAUTH_LDAP_PASSWORD_FILE: passwordFile,
          HTTPAUTH_LDAP_CA: caFile,
          HTTPAUTH_LDAP_SERVERNAME: tls?.servername as string,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let stderr = '';
        demo.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const lines = createInterface({ input: demo.stdout as NodeJS.ReadableStream });
        lines.on('line', (line) => {
          const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
          if (match !== null) resolve(Number(match[1]));
        });
        demo.once('exit', (code) => reject(new Error(`demo exited with ${code}: ${stderr}`)));
      });
      const result = await curlNegotiate(`http://localhost:${port}/whoami`, aliceEnv);
      assert.equal(result.status, 200, result.body + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.equal(body.name, 'alice@SAMDOM.TEST');
      assert.ok(body.groups?.includes('SAMDOM\\webadmins'), JSON.stringify(body.groups));
      assert.ok(body.groupSids?.includes(dc.sids.get('webadmins') as string));
    } finally {
      demo.kill('SIGTERM');
    }
  });

  it('a wrong bind password degrades the same way (the logon is not refused)', async () => {
    const directory = createSidResolver({
      lookup: ldapSidLookup({
        url: 'ldaps://127.0.0.1:636',
        tls,
        bind: { dn: bind.dn, password: 'wrong-password' },
      }),
    });
    const server = await start(dc.keytabPath, directory);
    try {
      const result = await curlNegotiate(`http://localhost:${server.port}/whoami`, aliceEnv);
      assert.equal(result.status, 200, result.body + result.stderr);
      const body = JSON.parse(result.body) as Who;
      assert.ok(!(body.groups ?? []).some((g) => g.startsWith('SAMDOM\\')));
      assert.ok(body.groupSids?.includes(dc.sids.get('webusers') as string));
    } finally {
      await server.close();
      await directory.close();
    }
  });

  for (const where of ['the DC', 'a joined member'] as const) {
    it(`ntlm({ winbind }) on ${where}: curl --ntlm logs on through ntlm_auth, wbinfo gives the SIDs, LDAP names them`, async () => {
      await winbindReady();
      const member = where === 'the DC' ? undefined : await joinSambaMember(dc);
      const conf = member?.smbConf ?? join(dc.dir, 'dc', 'etc', 'smb.conf');
      const winbind = ntlm({
        domain: 'SAMDOM',
        // Through a member's secure channel the DC checks the NTLMv2 blob's computer name
        // against the member's: the CHALLENGE must name MEMBER1 (docs/active-directory.md).
        ...(member === undefined ? {} : { computerName: 'MEMBER1' }),
        winbind: {
          ntlmAuthArgs: [`--configfile=${conf}`],
          ...(member === undefined
            ? {}
            : { ntlmAuthPath: member.ntlmAuthPath, wbinfoPath: member.wbinfoPath }),
        },
      });
      const directory = createSidResolver({
        lookup: ldapSidLookup({ url: 'ldaps://127.0.0.1:636', tls, bind }),
      });
      const server = await start(dc.keytabPath, directory, [winbind]);
      try {
        const alice = DEFAULT_SAMBA_USERS[0] as { name: string; password: string };
        const url = `http://127.0.0.1:${server.port}/whoami`;
        const result = await curlNtlm(url, `SAMDOM\\${alice.name}`, alice.password);
        assert.equal(result.status, 200, result.body);
        const body = JSON.parse(result.body) as Who;
        assert.equal(body.mechanism, 'NTLM');
        assert.equal(body.name, 'SAMDOM\\alice');
        assert.equal(body.userSid, dc.sids.get('alice'));
        const sids = body.groupSids ?? [];
        assert.ok(sids.includes(dc.sids.get('webadmins') as string), 'the nested group');
        assert.ok(sids.includes(`${dc.domainSid}-513`));
        const groups = body.groups ?? [];
        for (const name of ['SAMDOM\\webusers', 'SAMDOM\\webadmins']) {
          assert.ok(groups.includes(name), `${name} in ${groups.join(', ')}`);
        }
        const wrong = await curlNtlm(url, `SAMDOM\\${alice.name}`, 'not-her-password');
        assert.equal(wrong.status, 401, 'a wrong password is a refusal, not an outage');
        if (member !== undefined) {
          // The logons above went through the member: without its winbindd they cannot.
          await member.stop();
          const down = await curlNtlm(url, `SAMDOM\\${alice.name}`, alice.password);
          assert.equal(down.status, 503, down.body);
          assert.match(down.body, /ERR_HTTPAUTH_WINBIND_UNAVAILABLE/);
        }
      } finally {
        await server.close();
        await directory.close();
        await member?.stop();
      }
    });
  }
});
