import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isHttpAuthError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import { CcacheDirectory } from '../src/impersonation/ccache-store.js';
import { actingContext, identifyContext } from '../src/impersonation/context.js';
import type { ImpersonationContext } from '../src/impersonation/context.js';
import { delegatedCcache } from '../src/impersonation/delegated.js';
import { createImpersonation } from '../src/impersonation/policy.js';
import type { ImpersonationPolicy } from '../src/impersonation/policy.js';
import type { PosixIdentity, UserDatabase } from '../src/impersonation/posix.js';
import { decodeCcache, formatPrincipalName, TICKET_FLAGS } from '../src/kerberos/ccache.js';
import type { Principal } from '../src/principal.js';

const root = mkdtempSync(join(tmpdir(), 'httpauth-impersonation-policy-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirCounter = 0;
const freshDir = (): string => join(root, `cc${++dirCounter}`);

const users: Record<string, PosixIdentity> = {
  alice: {
    user: 'alice',
    uid: 1500,
    gid: 1500,
    groups: [1500, 2000],
    groupNames: ['alice', 'staff'],
    home: '/home/alice',
    shell: '/bin/sh',
  },
  bob: {
    user: 'bob',
    uid: 1501,
    gid: 1501,
    groups: [1501],
    groupNames: ['bob'],
    home: '/home/bob',
    shell: '/bin/sh',
  },
  daemon: {
    user: 'daemon',
    uid: 1,
    gid: 1,
    groups: [1],
    groupNames: ['daemon'],
    home: '/',
    shell: '/bin/false',
  },
  root: {
    user: 'root',
    uid: 0,
    gid: 0,
    groups: [0],
    groupNames: ['root'],
    home: '/root',
    shell: '/bin/sh',
  },
  rootgroup: {
    user: 'rootgroup',
    uid: 1600,
    gid: 1600,
    groups: [1600, 0],
    groupNames: ['rootgroup', 'root'],
    home: '/',
    shell: '/bin/sh',
  },
  nobody: {
    user: 'nobody',
    uid: 65534,
    gid: 65534,
    groups: [65534],
    groupNames: ['nogroup'],
    home: '/',
    shell: '/bin/false',
  },
};

function fakeDatabase(): UserDatabase & { calls: string[]; failWith?: Error } {
  const db = {
    calls: [] as string[],
    failWith: undefined as Error | undefined,
    async lookup(name: string) {
      db.calls.push(name);
      if (db.failWith !== undefined) throw db.failWith;
      return users[name];
    },
  };
  return db;
}

const kerberos = (user: string, extra: Partial<Principal> = {}): Principal => ({
  name: `${user}@EXAMPLE.TEST`,
  user,
  realm: 'EXAMPLE.TEST',
  localRealm: true,
  mechanism: 'Kerberos',
  ...extra,
});

function policy(extra: Partial<ImpersonationPolicy> = {}): ImpersonationPolicy {
  return {
    allow: { anyUser: true },
    userDatabase: fakeDatabase(),
    ccacheDirectory: freshDir(),
    ...extra,
  };
}

function codeOf(error: unknown): ErrorCode | undefined {
  return isHttpAuthError(error) ? error.code : undefined;
}

async function refusal(context: ImpersonationContext): Promise<ErrorCode[]> {
  const acting = actingContext(context);
  const codes: (ErrorCode | undefined)[] = [];
  try {
    acting.spawn('true');
  } catch (error) {
    codes.push(codeOf(error));
  }
  codes.push(codeOf(await acting.execFile('true').catch((e: unknown) => e)));
  codes.push(codeOf(await acting.access('/').catch((e: unknown) => e)));
  try {
    acting.credentialCache();
  } catch (error) {
    codes.push(codeOf(error));
  }
  assert.equal(codes.length, 4, 'every acting member refuses');
  return codes as ErrorCode[];
}

/** A delegated TGT in the DelegatedTicket shape (its ticket bytes are never decrypted here). */
function delegatedTicket(client = 'alice@EXAMPLE.TEST') {
  const now = Date.now();
  return {
    client,
    server: 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST',
    sessionKey: { enctype: 18, value: randomBytes(32) },
    authTime: new Date(now),
    startTime: new Date(now),
    endTime: new Date(now + 3_600_000),
    renewTill: now + 7_200_000,
    flags: TICKET_FLAGS.forwardable | TICKET_FLAGS.forwarded,
    ticket: Buffer.from('6103020100', 'hex'),
  };
}

describe('impersonation levels', () => {
  it('is identify without an allowlist, and acting refuses with DENIED', async () => {
    const factory = createImpersonation({ userDatabase: fakeDatabase() });
    const context = await factory(kerberos('alice'), undefined);
    assert.equal(context.level, 'identify');
    assert.equal(context.reason, 'not-allowed');
    assert.equal(context.posix, undefined);
    assert.deepEqual(await refusal(context), Array(4).fill('ERR_HTTPAUTH_IMPERSONATION_DENIED'));
  });

  it('grants impersonate to an allowlisted, mapped, non-system user', async () => {
    const factory = createImpersonation(policy({ allow: { principals: ['alice@EXAMPLE.TEST'] } }));
    const alice = await factory(kerberos('alice'), undefined);
    assert.equal(alice.level, 'impersonate');
    assert.equal(alice.posix?.uid, 1500);
    assert.deepEqual(alice.toJSON(), {
      level: 'impersonate',
      user: 'alice',
      uid: 1500,
      gid: 1500,
      groups: [1500, 2000],
      groupNames: ['alice', 'staff'],
      delegated: false,
    });
    const bob = await factory(kerberos('bob'), undefined);
    assert.equal(bob.level, 'identify', 'bob is not on the list');
    assert.equal(bob.reason, 'not-allowed');
  });

  it('allows by group name (local or credential source) and by group SID', async () => {
    const byLocalGroup = createImpersonation(policy({ allow: { groups: ['STAFF'] } }));
    assert.equal((await byLocalGroup(kerberos('alice'), undefined)).level, 'impersonate');
    assert.equal((await byLocalGroup(kerberos('bob'), undefined)).level, 'identify');
    const bySid = createImpersonation(policy({ allow: { groups: ['S-1-5-21-9-9-9-1111'] } }));
    const withSid = kerberos('bob', { groupSids: ['S-1-5-21-9-9-9-513', 'S-1-5-21-9-9-9-1111'] });
    assert.equal((await bySid(withSid, undefined)).level, 'impersonate');
    assert.equal((await bySid(kerberos('bob'), undefined)).level, 'identify');
    const byUserSid = createImpersonation(
      policy({ allow: { principals: ['S-1-5-21-9-9-9-1104'] } }),
    );
    assert.equal(
      (await byUserSid(kerberos('bob', { userSid: 'S-1-5-21-9-9-9-1104' }), undefined)).level,
      'impersonate',
    );
  });

  it('never impersonates root, the root group, nobody or system accounts', async () => {
    const factory = createImpersonation(
      policy({ mapping: { map: { 'admin@EXAMPLE.TEST': 'root' } } }),
    );
    for (const name of ['root', 'admin', 'rootgroup', 'nobody', 'daemon']) {
      const context = await factory(kerberos(name), undefined);
      assert.equal(context.level, 'identify', name);
      assert.equal(context.reason, 'system-account', name);
      assert.deepEqual(await refusal(context), Array(4).fill('ERR_HTTPAUTH_IMPERSONATION_DENIED'));
    }
    const explicit = createImpersonation(policy({ allowSystemUsers: ['daemon'] }));
    assert.equal((await explicit(kerberos('daemon'), undefined)).level, 'impersonate');
    assert.throws(
      () => createImpersonation(policy({ allowSystemUsers: ['root'] })),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
    const lowered = createImpersonation(policy({ minUid: 1501 }));
    assert.equal((await lowered(kerberos('alice'), undefined)).reason, 'system-account');
    assert.equal((await lowered(kerberos('bob'), undefined)).level, 'impersonate');
    const denied = createImpersonation(policy({ deniedUsers: ['bob'], deniedGroups: ['staff'] }));
    assert.equal((await denied(kerberos('alice'), undefined)).reason, 'system-account');
    assert.equal((await denied(kerberos('bob'), undefined)).reason, 'system-account');
    const byGid = createImpersonation(policy({ deniedGroups: [2000] }));
    assert.equal((await byGid(kerberos('alice'), undefined)).level, 'identify');
  });

  it('reports unmapped principals only when acting', async () => {
    const factory = createImpersonation(policy());
    const unknown = await factory(kerberos('mallory'), undefined);
    assert.equal(unknown.level, 'identify');
    assert.equal(unknown.reason, 'unmapped');
    assert.equal(unknown.principal.name, 'mallory@EXAMPLE.TEST');
    assert.deepEqual(await refusal(unknown), Array(4).fill('ERR_HTTPAUTH_IMPERSONATION_UNMAPPED'));
    const service = await factory(kerberos('HTTP/web'), undefined);
    assert.equal(service.reason, 'unmapped');
  });

  it('turns a failing user database into identify with USER_LOOKUP_FAILED, not a failed request', async () => {
    const db = fakeDatabase();
    db.failWith = new Error('nss down');
    const factory = createImpersonation(policy({ userDatabase: db }));
    const context = await factory(kerberos('alice'), undefined);
    assert.equal(context.level, 'identify');
    assert.equal(context.reason, 'lookup-failed');
    assert.deepEqual(await refusal(context), Array(4).fill('ERR_HTTPAUTH_USER_LOOKUP_FAILED'));
  });

  it('caps the level at maxLevel and at what the client granted', async () => {
    const identifyOnly = createImpersonation(policy({ maxLevel: 'identify' }));
    const db = fakeDatabase();
    const off = createImpersonation(policy({ maxLevel: 'identify', userDatabase: db }));
    assert.equal((await identifyOnly(kerberos('alice'), undefined)).level, 'identify');
    await off(kerberos('alice'), undefined);
    assert.deepEqual(db.calls, [], 'identify-only policy never looks users up');

    const impersonateOnly = createImpersonation(policy());
    const withTgt = await impersonateOnly(kerberos('alice'), {
      delegatedCredential: delegatedTicket(),
    });
    assert.equal(withTgt.level, 'impersonate');
    assert.equal(withTgt.reason, 'delegation-disabled');
    assert.equal(withTgt.delegated, false);

    const delegating = createImpersonation(policy({ maxLevel: 'delegate' }));
    const withoutTgt = await delegating(kerberos('alice'), undefined);
    assert.equal(withoutTgt.level, 'impersonate');
    assert.equal(withoutTgt.reason, 'no-delegated-credential');
    assert.throws(
      () => actingContext(withoutTgt).credentialCache(),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
    );
    await delegating.close();
  });

  it('refuses validation errors in the policy at creation', () => {
    for (const bad of [
      { maxLevel: 'root' },
      { minUid: 0 },
      { minUid: 1.5 },
      { allow: { principals: 'alice' } },
      { deniedUsers: [1] },
    ]) {
      assert.throws(
        () => createImpersonation(bad as unknown as ImpersonationPolicy),
        (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_INVALID_OPTIONS',
        JSON.stringify(bad),
      );
    }
  });
});

describe('delegated credentials', () => {
  it('writes the TGT to a private ccache for the user and removes it on dispose (idempotent)', async () => {
    const dir = freshDir();
    const factory = createImpersonation(policy({ maxLevel: 'delegate', ccacheDirectory: dir }));
    assert.equal(statSync(dir).mode & 0o777, 0o711);
    const ticket = delegatedTicket();
    const context = await factory(kerberos('alice', { delegated: true }), {
      delegatedCredential: ticket,
    });
    assert.equal(context.level, 'delegate');
    assert.equal(context.delegated, true);
    assert.equal(context.toJSON().delegated, true);
    const path = actingContext(context).credentialCache();
    assert.ok(path.startsWith(dir + '/krb5cc_httpauth_'));
    const stat = statSync(path);
    assert.equal(stat.mode & 0o777, 0o600);
    if (process.getuid?.() === 0) {
      assert.equal(stat.uid, 1500, 'owned by the user the children run as');
      assert.equal(stat.gid, 1500);
    }
    const cache = decodeCcache(readFileSync(path));
    assert.equal(formatPrincipalName(cache.defaultPrincipal), 'alice@EXAMPLE.TEST');
    const [credential] = cache.credentials;
    assert.equal(formatPrincipalName(credential!.server), 'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST');
    assert.deepEqual(credential!.key.value, ticket.sessionKey.value);
    assert.equal(credential!.endTime, Math.floor(ticket.endTime.getTime() / 1000));
    assert.equal(credential!.renewTill, Math.floor(ticket.renewTill / 1000));
    assert.equal(factory.liveCredentialCaches, 1);

    await context.dispose();
    assert.equal(existsSync(path), false);
    assert.equal(factory.liveCredentialCaches, 0);
    await context.dispose();
    assert.throws(() => actingContext(context).credentialCache(), isHttpAuthError);
    assert.throws(() => actingContext(context).spawn('true'), isHttpAuthError);
    await factory.close();
  });

  it('gives each context its own file', async () => {
    const factory = createImpersonation(policy({ maxLevel: 'delegate' }));
    const a = await factory(kerberos('alice'), { delegatedCredential: delegatedTicket() });
    const b = await factory(kerberos('alice'), { delegatedCredential: delegatedTicket() });
    assert.notEqual(actingContext(a).credentialCache(), actingContext(b).credentialCache());
    await factory.close();
    assert.equal(existsSync(actingContext(a).credentialCache()), false, 'close removes every file');
  });

  it("ignores a TGT that is not the authenticated client's, and non-Kerberos principals", async () => {
    const factory = createImpersonation(policy({ maxLevel: 'delegate' }));
    const other = await factory(kerberos('alice'), {
      delegatedCredential: delegatedTicket('mallory@EXAMPLE.TEST'),
    });
    assert.equal(other.level, 'impersonate');
    const ntlm = await factory(
      {
        name: 'EXAMPLE\\alice',
        user: 'alice',
        realm: 'EXAMPLE',
        localRealm: true,
        mechanism: 'NTLM',
      },
      { delegatedCredential: delegatedTicket() },
    );
    assert.equal(ntlm.level, 'impersonate');
    assert.equal(factory.liveCredentialCaches, 0);
    await factory.close();
  });

  it('falls back to impersonate when the ccache cannot be written, leaving nothing behind', async () => {
    const dir = freshDir();
    const factory = createImpersonation(policy({ maxLevel: 'delegate', ccacheDirectory: dir }));
    // Replace the directory by a plain file: creating a ccache in it fails even for root (ENOTDIR).
    rmSync(dir, { recursive: true });
    writeFileSync(dir, '');
    const context = await factory(kerberos('alice'), { delegatedCredential: delegatedTicket() });
    assert.equal(context.level, 'impersonate');
    assert.equal(context.reason, 'ccache-failed');
    assert.equal(context.delegated, false);
    assert.throws(
      () => actingContext(context).credentialCache(),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_IMPERSONATION_FAILED',
    );
    assert.equal(factory.liveCredentialCaches, 0);
    await context.dispose();
    await factory.close();
  });

  it("writes the Kerberos acceptor's DelegatedCredential (every forwarded ticket)", async () => {
    const now = Date.now();
    const clientName = { realm: 'EXAMPLE.TEST', nameType: 1, components: ['alice'] };
    const tgt = {
      ticket: Buffer.from('6103020101', 'hex'),
      key: { enctype: 18, bytes: randomBytes(32) },
      client: clientName,
      server: { realm: 'EXAMPLE.TEST', nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
      flags: TICKET_FLAGS.forwardable | TICKET_FLAGS.forwarded,
      authtime: now - 1000,
      starttime: undefined,
      endtime: now + 3_600_000,
      renewTill: undefined,
    };
    const factory = createImpersonation(policy({ maxLevel: 'delegate' }));
    const context = await factory(kerberos('alice'), {
      delegatedCredential: { client: 'alice@EXAMPLE.TEST', clientName, tickets: [tgt] },
    });
    assert.equal(context.level, 'delegate');
    const cache = decodeCcache(readFileSync(actingContext(context).credentialCache()));
    assert.equal(formatPrincipalName(cache.defaultPrincipal), 'alice@EXAMPLE.TEST');
    assert.equal(cache.credentials.length, 1);
    const written = cache.credentials[0]!;
    assert.deepEqual(written.key.value, tgt.key.bytes);
    assert.equal(written.server.nameType, 2);
    assert.equal(written.authTime, Math.floor((now - 1000) / 1000));
    assert.equal(written.startTime, written.authTime, 'a missing starttime is the authtime');
    assert.equal(written.renewTill, 0);
    assert.deepEqual(written.ticket, tgt.ticket);
    await context.dispose();
    await factory.close();
    assert.equal(delegatedCcache({ client: 'a', clientName, tickets: [] }), undefined);
    assert.equal(
      delegatedCcache({ client: 'a', clientName, tickets: [{ ...tgt, key: {} }] }),
      undefined,
    );
  });

  it("accepts the acceptor's KrbCredInfo shape", () => {
    const now = Date.now();
    const cache = delegatedCcache({
      ticket: { der: Buffer.from('6100', 'hex') },
      info: {
        key: { keytype: 17, keyvalue: randomBytes(16) },
        prealm: 'EXAMPLE.TEST',
        pname: { nameType: 1, components: ['alice'] },
        flags: TICKET_FLAGS.forwarded,
        authtime: now,
        endtime: now + 1000_000,
        srealm: 'EXAMPLE.TEST',
        sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
      },
    });
    assert.ok(cache !== undefined);
    assert.equal(
      formatPrincipalName(cache.credentials[0]!.server),
      'krbtgt/EXAMPLE.TEST@EXAMPLE.TEST',
    );
    assert.equal(cache.credentials[0]!.key.enctype, 17);
    assert.equal(cache.credentials[0]!.startTime, Math.floor(now / 1000));
    for (const junk of [undefined, null, 1, 'x', {}, { info: {} }, { client: 'a', server: 'b' }]) {
      assert.equal(delegatedCcache(junk), undefined);
    }
  });
});

describe('ccache directory', () => {
  it('removes stale files of dead processes at start-up and keeps live ones', () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o711 });
    const hex = (): string => randomBytes(16).toString('hex');
    // pid 2^22 + 1 is above Linux's pid_max limit: never alive.
    const stale = join(dir, `krb5cc_httpauth_4194305_${hex()}`);
    const live = join(dir, `krb5cc_httpauth_1_${hex()}`);
    const unrelated = join(dir, 'notes.txt');
    for (const file of [stale, live, unrelated]) writeFileSync(file, '');
    const directory = new CcacheDirectory(dir);
    assert.equal(existsSync(stale), false);
    assert.equal(existsSync(live), true, 'pid 1 is alive');
    assert.equal(existsSync(unrelated), true);
    void directory.close();
  });

  it('removes the files still open when the process exits', () => {
    const dir = freshDir();
    const script = join(root, 'exit-script.mts');
    const source = new URL('../src/impersonation/ccache-store.ts', import.meta.url).pathname;
    writeFileSync(
      script,
      `import { CcacheDirectory } from ${JSON.stringify(source)};
const directory = new CcacheDirectory(${JSON.stringify(dir)});
const principal = { nameType: 1, realm: 'R', components: ['u'] };
const path = await directory.write({ defaultPrincipal: principal, credentials: [] }, undefined);
console.log(path);
process.exit(0);
`,
    );
    const result = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const written = result.stdout.trim();
    assert.ok(written.startsWith(dir + '/krb5cc_httpauth_'));
    assert.equal(existsSync(written), false);
  });

  it('refuses a directory others can read or write, or a symlink', () => {
    const open = freshDir();
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    assert.throws(
      () => new CcacheDirectory(open),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
    const target = freshDir();
    mkdirSync(target, { mode: 0o700 });
    const link = freshDir();
    symlinkSync(target, link);
    assert.throws(
      () => new CcacheDirectory(link),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_INVALID_OPTIONS',
    );
  });
});

describe('identify contexts', () => {
  it('identifyContext refuses to act and carries the SIDs', async () => {
    const context = identifyContext(
      kerberos('alice', { userSid: 'S-1-5-21-1', groupSids: ['S-1-5-21-2'] }),
    );
    assert.equal(context.level, 'identify');
    assert.deepEqual(context.groupSids, ['S-1-5-21-2']);
    assert.deepEqual(await refusal(context), Array(4).fill('ERR_HTTPAUTH_IMPERSONATION_DENIED'));
    assert.throws(
      () =>
        actingContext({
          level: 'identify',
          principal: kerberos('a'),
          dispose: async () => {},
          toJSON: () => ({}),
        }),
      (e: unknown) => codeOf(e) === 'ERR_HTTPAUTH_IMPERSONATION_DENIED',
    );
  });
});
