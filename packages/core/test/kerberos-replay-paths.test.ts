/**
 * The replay cache (RFC 4120 §3.2.3) on both of its paths through the engine: the in-process
 * MemoryStore answered at once (no promise between the header and the decision) and any other
 * store (Redis, shared by several nodes; a MemoryStore subclass) asked through its async `add`.
 * Both must refuse a replayed authenticator, and a store that has not answered yet must hold the
 * AP-REP back.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { authenticateNow } from '../src/loop/authenticator.js';
import type { AuthRequest } from '../src/security-package.js';
import { KerberosAcceptor } from '../src/kerberos/acceptor.js';
import { Keytab, encodeKeytab } from '../src/kerberos/keytab.js';
import { encodeNegTokenInit } from '../src/negotiate/neg-token-init.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import { KRB5_OID } from '../src/negotiate/oids.js';
import { addWithoutWaiting, MemoryStore } from '../src/store/memory.js';
import type { KeyValueStore } from '../src/store/types.js';
import { forgeApReq, randomKey, reuseTicket } from './fixtures/kerberos/forge.js';

const HOUR = 3600_000;
const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab([
    { realm: 'EXAMPLE.TEST', components: ['HTTP', 'localhost'], kvno: 2, key: serviceKey },
  ]),
);

function forge(now: number): Buffer {
  return forgeApReq({
    serviceKey,
    kvno: 2,
    authtime: now - HOUR,
    endtime: now + HOUR,
    ctime: now,
    cusec: Math.floor(Math.random() * 999_999),
    gssFlags: 0x02, // GSS_C_MUTUAL_FLAG: the AP-REP is built
  }).token;
}

/** A store that answers each add only when the test releases it (as Redis answers later). */
class DeferredStore implements KeyValueStore {
  readonly inner = new MemoryStore();
  readonly pending: (() => void)[] = [];
  add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push(() => this.inner.add(key, value, ttlMs, owner).then(resolve, reject));
    });
  }
  get(key: string) {
    return this.inner.get(key);
  }
  compareAndSet(k: string, e: string | undefined, v: string, t: number) {
    return this.inner.compareAndSet(k, e, v, t);
  }
  advance(k: string, v: number, t: number) {
    return this.inner.advance(k, v, t);
  }
  delete(k: string) {
    return this.inner.delete(k);
  }
  release(): void {
    for (const answer = this.pending.splice(0); answer.length > 0;) answer.shift()!();
  }
}

describe('addWithoutWaiting', () => {
  it('answers at once for a MemoryStore, and only once per key', () => {
    const store = new MemoryStore();
    assert.equal(addWithoutWaiting(store, 'k', '1', 60_000, 'o'), true);
    assert.equal(addWithoutWaiting(store, 'k', '1', 60_000, 'o'), false);
  });

  it('leaves any other store, and a MemoryStore whose add is overridden, to their add', () => {
    const calls: string[] = [];
    class Recording extends MemoryStore {
      override async add(key: string, value: string, ttlMs: number, owner?: string) {
        calls.push(key);
        return super.add(key, value, ttlMs, owner);
      }
    }
    assert.equal(addWithoutWaiting(new Recording(), 'k', '1', 60_000, 'o'), undefined);
    assert.equal(addWithoutWaiting(new DeferredStore(), 'k', '1', 60_000, 'o'), undefined);
    assert.deepEqual(calls, []);
  });

  it('throws the store errors add would reject with (quota)', () => {
    const store = new MemoryStore({ maxEntriesPerOwner: 1 });
    addWithoutWaiting(store, 'a', '1', 60_000, 'o');
    assert.throws(() => addWithoutWaiting(store, 'b', '1', 60_000, 'o'), {
      code: 'ERR_HTTPAUTH_STORE_QUOTA',
    });
  });
});

describe('KerberosAcceptor.acceptNow', () => {
  it('with a MemoryStore answers without a promise and refuses the replay', () => {
    const now = Date.now();
    const acceptor = new KerberosAcceptor({ keytab });
    const ctx = { store: new MemoryStore(), now, channelBinding: undefined };
    const token = forge(now);
    const first = acceptor.acceptNow(token, ctx);
    assert.ok(!(first instanceof Promise));
    assert.equal(first.ok, true);
    const again = acceptor.acceptNow(token, ctx);
    assert.ok(!(again instanceof Promise));
    assert.equal(again.ok, false);
    if (!again.ok) assert.equal(again.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });

  it("gives each logon its own copy of the client's ticket: one application's write reaches no other", () => {
    const now = Date.now();
    const acceptor = new KerberosAcceptor({ keytab });
    const ctx = { store: new MemoryStore(), now, channelBinding: undefined };
    const { token, sessionKey } = forgeApReq({
      serviceKey,
      kvno: 2,
      authtime: now - HOUR,
      endtime: now + HOUR,
      ctime: now,
      gssFlags: 0x02,
    });
    const first = acceptor.acceptNow(token, ctx);
    assert.ok(!(first instanceof Promise) && first.ok);
    const original = Buffer.from(first.clientTicket.ticket.der);
    // An application that scribbles on the ticket it was given (the S4U evidence ticket).
    first.clientTicket.ticket.der.fill(0);
    first.clientTicket.ticket.encPart.cipher.fill(0);
    const second = acceptor.acceptNow(
      reuseTicket(token, sessionKey, { ctime: now, cusec: 2 }),
      ctx,
    );
    assert.ok(!(second instanceof Promise));
    assert.equal(second.ok, true, 'the same ticket still logs on');
    if (second.ok) {
      assert.deepEqual(second.clientTicket.ticket.der, original);
      assert.notEqual(second.clientTicket.ticket.der, first.clientTicket.ticket.der);
    }
  });

  it('with a store that answers later waits for it before the AP-REP, and refuses the replay', async () => {
    const now = Date.now();
    const acceptor = new KerberosAcceptor({ keytab });
    const store = new DeferredStore();
    const ctx = { store, now, channelBinding: undefined };
    const token = forge(now);
    const first = acceptor.acceptNow(token, ctx);
    assert.ok(first instanceof Promise);
    let settled = false;
    void first.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'no answer before the replay store answered');
    store.release();
    const accepted = await first;
    assert.equal(accepted.ok, true);
    if (accepted.ok) assert.ok(accepted.responseToken !== undefined);
    const again = acceptor.acceptNow(token, ctx);
    store.release();
    const replay = await again;
    assert.equal(replay.ok, false);
    if (!replay.ok) assert.equal(replay.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });

  it('a store that fails later fails closed', async () => {
    const now = Date.now();
    const store = new DeferredStore();
    store.inner.add = () => Promise.reject(new Error('connection lost'));
    const result = new KerberosAcceptor({ keytab }).acceptNow(forge(now), {
      store,
      now,
      channelBinding: undefined,
    });
    store.release();
    const refused = await result;
    assert.equal(refused.ok, false);
  });
});

function request(token: Buffer): AuthRequest {
  const spnego = encodeNegTokenInit({ mechTypes: [KRB5_OID], mechToken: token });
  return {
    method: 'GET',
    target: '/',
    headers: { host: 'localhost', authorization: `Negotiate ${spnego.toString('base64')}` },
    connection: new EventEmitter(),
    httpVersionMajor: 1,
    secure: false,
    clientAddress: '127.0.0.1',
  } as AuthRequest;
}

describe('the engine path (createAuthenticator + negotiate())', () => {
  it('with the default MemoryStore decides at once, and refuses the replayed header', () => {
    const authenticator = createAuthenticator({
      packages: [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
    });
    const token = forge(Date.now());
    const first = authenticateNow(authenticator, request(token));
    assert.ok(!(first instanceof Promise));
    assert.equal(first.type, 'authenticated');
    const replay = authenticateNow(authenticator, request(token));
    assert.ok(!(replay instanceof Promise));
    assert.notEqual(replay.type, 'authenticated');
    if (replay.type !== 'authenticated')
      assert.equal(replay.error?.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });

  it('with a shared (async) store decides once it answered, and refuses the replay', async () => {
    const store = new DeferredStore();
    const authenticator = createAuthenticator({
      store,
      packages: [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
    });
    const token = forge(Date.now());
    const first = authenticator.authenticate(request(token));
    await new Promise((resolve) => setImmediate(resolve));
    store.release();
    assert.equal((await first).type, 'authenticated');
    const again = authenticator.authenticate(request(token));
    await new Promise((resolve) => setImmediate(resolve));
    store.release();
    const replay = await again;
    assert.notEqual(replay.type, 'authenticated');
    if (replay.type !== 'authenticated')
      assert.equal(replay.error?.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });
});

/**
 * A store whose add answers with a promise of another realm (a store built in a vm context, or
 * on a promise library): a thenable, but not `instanceof Promise` here. It is still an async
 * store: the acceptor must wait for it, and refuse the replay it reports.
 */
class ForeignPromiseStore extends DeferredStore {
  override add(key: string, value: string, ttlMs: number, owner?: string): Promise<boolean> {
    const ForeignPromise = runInNewContext('Promise') as PromiseConstructor;
    return new ForeignPromise<boolean>((resolve, reject) => {
      this.inner.add(key, value, ttlMs, owner).then(resolve, reject);
    });
  }
}

describe('a store whose promises come from another realm', () => {
  it('the acceptor waits for it, and refuses the replay without rejecting', async () => {
    const now = Date.now();
    const acceptor = new KerberosAcceptor({ keytab });
    const ctx = { store: new ForeignPromiseStore(), now, channelBinding: undefined };
    const token = forge(now);
    const first = await acceptor.acceptNow(token, ctx);
    assert.equal(first.ok, true);
    const replay = await acceptor.acceptNow(token, ctx);
    assert.equal(replay.ok, false);
    if (!replay.ok) assert.equal(replay.error.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });

  it('the engine authenticates the first request and refuses the replay', async () => {
    const authenticator = createAuthenticator({
      store: new ForeignPromiseStore(),
      packages: [negotiate({ kerberos: { keytab }, kerberosOnly: true })],
    });
    const token = forge(Date.now());
    const first = await authenticator.authenticate(request(token));
    assert.equal(first.type, 'authenticated');
    const replay = await authenticator.authenticate(request(token));
    assert.notEqual(replay.type, 'authenticated');
    if (replay.type !== 'authenticated')
      assert.equal(replay.error?.code, 'ERR_HTTPAUTH_KRB_REPLAY');
  });
});
