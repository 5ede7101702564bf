/**
 * The service's own TGT from its keytab and S4U2Self (MS-SFU) against MIT krb5's KDC (a
 * throwaway realm, test/harness/mit-kdc.ts). MIT honours S4U2Self for any service; the ticket is
 * FORWARDABLE (usable for S4U2Proxy) unless the user may not be delegated (MIT -allow_forwardable,
 * AD's "account is sensitive and cannot be delegated") or the service has classic constrained
 * delegation targets without ok_to_auth_as_delegate (MS-SFU §3.2.5.1.2; MIT's DB2 back end has no
 * such targets: test/delegation-mit-ldap-e2e.test.ts covers that case with the LDAP back end).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startMitKdc, type MitKdc } from '../../../test/harness/mit-kdc.js';
import { offeredEnctypes } from '../src/kerberos/client/password-verifier.js';
import { PaDataType } from '../src/kerberos/client/pa-data.js';
import { requestS4u2Proxy } from '../src/kerberos/client/s4u2proxy.js';
import { requestS4u2Self } from '../src/kerberos/client/s4u2self.js';
import { ServiceTgt } from '../src/kerberos/client/service-tgt.js';
import { sendToKdcs } from '../src/kerberos/client/kdc-transport.js';
import type { Keytab } from '../src/kerberos/keytab.js';
import { KeytabFile } from '../src/kerberos/keytab.js';
import { NameType } from '../src/kerberos/messages/principal-name.js';
import { TicketFlags } from '../src/kerberos/messages/enc-ticket-part.js';

let kdc: MitKdc;
let keytab: Keytab;
let kdcRequests = 0;

before(async () => {
  kdc = await startMitKdc({
    principals: [
      { name: 'alice', password: 'alice-pw-1', options: ['+requires_preauth'] },
      // A user whose tickets may never be forwardable: no delegation for them.
      { name: 'sensitive', password: 'sensitive-pw-1', options: ['-allow_forwardable'] },
      // Pre-authentication with a keytab key (ETYPE-INFO2 picks the keytab's enctype).
      { name: 'HTTP/localhost', options: ['+requires_preauth', '+ok_to_auth_as_delegate'] },
      { name: 'HTTP/plain.test' },
    ],
  });
  keytab = new KeytabFile(kdc.keytabPath).current();
});

after(async () => {
  await kdc?.stop();
});

const etypes = offeredEnctypes(false);
const send = (request: Buffer): Promise<Buffer> => {
  kdcRequests += 1;
  return sendToKdcs([{ host: '127.0.0.1', port: kdc.port, transport: 'any' }], request, {
    timeoutMs: 3000,
    udpPreferenceLimit: 1465,
  });
};

function serviceTgt(principal: string, refreshBeforeMs?: number): ServiceTgt {
  return new ServiceTgt({
    realm: kdc.realm,
    servicePrincipal: principal,
    keytab,
    etypes,
    send,
    now: Date.now,
    ...(refreshBeforeMs === undefined ? {} : { refreshBeforeMs }),
  });
}

const alice = { nameType: NameType.PRINCIPAL, components: ['alice'] };

describe('the service TGT from the keytab', () => {
  test('is obtained with the keytab key (pre-authenticated) and reused until near its end', async () => {
    const tgts = serviceTgt('HTTP/localhost');
    const before = kdcRequests;
    const [first, concurrent] = await Promise.all([tgts.get(), tgts.get()]);
    assert.equal(first, concurrent);
    assert.equal(kdcRequests - before, 2, 'PREAUTH_REQUIRED, then PA-ENC-TIMESTAMP: one exchange');
    assert.deepEqual(first.cname.components, ['HTTP', 'localhost']);
    assert.deepEqual(first.ticket.sname.components, ['krbtgt', kdc.realm]);
    assert.equal(await tgts.get(), first);
    assert.equal((first.part.flags & TicketFlags.FORWARDABLE) !== 0, true);
    // Less time left than the refresh margin: a new TGT is fetched.
    const late = serviceTgt('HTTP/localhost', 2 * 86_400_000);
    const renewed = await late.get();
    assert.notEqual(await late.get(), renewed);
  });

  test('a principal without keytab keys is refused before any request', async () => {
    const before = kdcRequests;
    await assert.rejects(serviceTgt('HTTP/absent.test').get(), { code: 'ERR_HTTPAUTH_KDC_ERROR' });
    assert.equal(kdcRequests, before);
  });
});

describe('S4U2Self', () => {
  test('ok_to_auth_as_delegate: a FORWARDABLE ticket to ourselves for alice, opened with our keytab', async () => {
    const serviceTicket = await requestS4u2Self(
      {
        serviceTgt: await serviceTgt('HTTP/localhost').get(),
        user: alice,
        userRealm: kdc.realm,
        etypes,
        send,
        now: Date.now,
      },
      keytab,
    );
    assert.deepEqual(serviceTicket.cname.components, ['alice']);
    assert.deepEqual(serviceTicket.encTicket.cname.components, ['alice']);
    assert.equal(serviceTicket.encTicket.crealm, kdc.realm);
    assert.deepEqual(serviceTicket.ticket.sname.components, ['HTTP', 'localhost']);
    assert.equal(serviceTicket.forwardable, true);
    // MIT echoes PA-S4U-X509-USER (MS-SFU §3.2.5.1.2); requestS4u2Self verified its checksum.
    assert.ok(serviceTicket.replyPadata.some((pa) => pa.type === PaDataType.S4U_X509_USER));
    assert.equal((serviceTicket.encTicket.flags & TicketFlags.FORWARDABLE) !== 0, true);
    // The session key in the ticket is the one the KDC announced to us.
    assert.deepEqual(serviceTicket.encTicket.key.keyvalue, serviceTicket.part.key.keyvalue);
  });

  test('a user who may not be delegated: the ticket is issued but not forwardable', async () => {
    const tgt = await serviceTgt('HTTP/localhost').get();
    const serviceTicket = await requestS4u2Self(
      {
        serviceTgt: tgt,
        user: { nameType: NameType.PRINCIPAL, components: ['sensitive'] },
        userRealm: kdc.realm,
        etypes,
        send,
        now: Date.now,
      },
      keytab,
    );
    assert.deepEqual(serviceTicket.encTicket.cname.components, ['sensitive']);
    assert.equal(serviceTicket.forwardable, false);
  });

  test('another service (no ok_to_auth_as_delegate, no delegation targets) gets its own ticket', async () => {
    const serviceTicket = await requestS4u2Self(
      {
        serviceTgt: await serviceTgt('HTTP/plain.test').get(),
        user: alice,
        userRealm: kdc.realm,
        etypes,
        send,
        now: Date.now,
      },
      keytab,
    );
    assert.deepEqual(serviceTicket.ticket.sname.components, ['HTTP', 'plain.test']);
    assert.deepEqual(serviceTicket.encTicket.cname.components, ['alice']);
  });

  test('PA-FOR-USER alone (HMAC-MD5 checksum keyed with the AES session key) is accepted too', async () => {
    const serviceTicket = await requestS4u2Self(
      {
        serviceTgt: await serviceTgt('HTTP/localhost').get(),
        user: alice,
        userRealm: kdc.realm,
        etypes,
        send,
        now: Date.now,
        paData: 'pa-for-user',
      },
      keytab,
    );
    assert.deepEqual(serviceTicket.encTicket.cname.components, ['alice']);
    assert.equal(
      serviceTicket.replyPadata.some((pa) => pa.type === PaDataType.S4U_X509_USER),
      false,
    );
  });

  test('an unknown user: the KDC refuses, with its error as the reason', async () => {
    await assert.rejects(
      requestS4u2Self(
        {
          serviceTgt: await serviceTgt('HTTP/localhost').get(),
          user: { nameType: NameType.PRINCIPAL, components: ['nobody'] },
          userRealm: kdc.realm,
          etypes,
          send,
          now: Date.now,
        },
        keytab,
      ),
      (error: unknown) => {
        const e = error as { code: string; reason: string };
        assert.equal(e.code, 'ERR_HTTPAUTH_KDC_ERROR');
        assert.match(e.reason, /C_PRINCIPAL_UNKNOWN/);
        return true;
      },
    );
  });
});

describe('S4U2Proxy against MIT (DB2 back end: no delegation targets)', () => {
  async function evidenceFor(user: string) {
    const serviceTicket = await requestS4u2Self(
      {
        serviceTgt: await serviceTgt('HTTP/localhost').get(),
        user: { nameType: NameType.PRINCIPAL, components: [user] },
        userRealm: kdc.realm,
        etypes,
        send,
        now: Date.now,
      },
      keytab,
    );
    return {
      ticket: serviceTicket.ticket,
      forwardable: serviceTicket.forwardable,
      cname: serviceTicket.encTicket.cname,
      crealm: serviceTicket.encTicket.crealm,
    };
  }

  test('the KDC refuses: MIT keeps allowed targets only in LDAP or a KDB module', async () => {
    await assert.rejects(
      requestS4u2Proxy({
        serviceTgt: await serviceTgt('HTTP/localhost').get(),
        evidence: await evidenceFor('alice'),
        target: { nameType: NameType.SRV_HST, components: ['HTTP', 'plain.test'] },
        etypes,
        send,
        now: Date.now,
      }),
      (error: unknown) => {
        const e = error as { code: string; reason: string };
        assert.equal(e.code, 'ERR_HTTPAUTH_DELEGATION_REFUSED');
        assert.match(e.reason, /alice@.* to HTTP\/plain\.test@.*: KDC_ERR_(BADOPTION|POLICY)/);
        return true;
      },
    );
  });

  test('a user who may not be delegated: refused before the KDC is asked', async () => {
    const evidence = await evidenceFor('sensitive');
    const tgt = await serviceTgt('HTTP/localhost').get();
    const before = kdcRequests;
    await assert.rejects(
      requestS4u2Proxy({
        serviceTgt: tgt,
        evidence,
        target: { nameType: NameType.SRV_HST, components: ['HTTP', 'plain.test'] },
        etypes,
        send,
        now: Date.now,
      }),
      { code: 'ERR_HTTPAUTH_DELEGATION_NOT_FORWARDABLE' },
    );
    assert.equal(kdcRequests, before);
  });
});
