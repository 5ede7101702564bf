/**
 * Issue 18: constrained delegation. S4U2Proxy tickets per second against a Samba AD DC
 * (test/harness/samba-dc.ts, on this host), with the cache cold (every ticket is a fresh
 * S4U2Self + S4U2Proxy pair of TGS exchanges, the service's TGT already held) and warm (the
 * in-memory ticket cache of createImpersonation({ constrainedDelegation }) answers).
 *
 * The peer: MIT's `kvno -U alice -P HTTP/backend` (S4U2Self then S4U2Proxy from a ccache holding
 * the service's TGT), one process per ticket as a shell script would run it: its figure includes
 * a process start, so the ratio says what an in-process client saves, not whose KDC code is faster.
 */
import { execFile } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { ConstrainedDelegation } from '../../packages/core/src/impersonation/constrained-delegation.js';
import { kdcSender } from '../../packages/core/src/kerberos/client/kdc-sender.js';
import { offeredEnctypes } from '../../packages/core/src/kerberos/client/password-verifier.js';
import { requestS4u2Proxy } from '../../packages/core/src/kerberos/client/s4u2proxy.js';
import { requestS4u2Self } from '../../packages/core/src/kerberos/client/s4u2self.js';
import { ServiceTgt } from '../../packages/core/src/kerberos/client/service-tgt.js';
import { KeytabFile } from '../../packages/core/src/kerberos/keytab.js';
import { NameType } from '../../packages/core/src/kerberos/messages/principal-name.js';
import { startSambaDc } from '../../test/harness/samba-dc.js';
import { sambaDelegation } from '../../test/harness/samba-delegation.js';
import { emit, quick, type Row } from '../lib/suite.js';

const run = promisify(execFile);
const BACKEND = 'HTTP/backend.samdom.test';
const rounds = quick ? 1 : 3;
const perRound = quick
  ? { cold: 100, warm: 20_000, kvno: 30 }
  : { cold: 500, warm: 200_000, kvno: 100 };

const dc = await startSambaDc();
try {
  const setup = sambaDelegation(dc);
  await setup.addBackend('backsvc', BACKEND);
  await setup.tool('delegation', 'for-any-protocol', 'websvc', 'on');
  await setup.tool('delegation', 'add-service', 'websvc', BACKEND);

  const principal = `HTTP/localhost@${dc.realm}`;
  const keytab = new KeytabFile(dc.keytabPath).current();
  const etypes = offeredEnctypes(false);
  const sendTo = kdcSender({ realm: dc.realm, krb5Conf: dc.krb5Conf });
  const send = (request: Buffer) => sendTo(dc.realm, request);
  const tgts = new ServiceTgt({
    realm: dc.realm,
    servicePrincipal: principal,
    accountName: 'websvc',
    keytab,
    etypes,
    send,
    now: Date.now,
  });
  const user = { nameType: NameType.PRINCIPAL, components: ['alice'] };
  const target = { nameType: NameType.SRV_INST, components: BACKEND.split('/') };
  /** One cold ticket: S4U2Self then S4U2Proxy, nothing cached but the service's TGT. */
  const coldTicket = async (): Promise<void> => {
    const serviceTgt = await tgts.get();
    const evidence = await requestS4u2Self(
      {
        serviceTgt,
        user,
        userRealm: dc.realm,
        etypes,
        send,
        now: Date.now,
        keyPrincipal: principal,
      },
      keytab,
    );
    await requestS4u2Proxy({
      serviceTgt,
      evidence: {
        ticket: evidence.ticket,
        forwardable: evidence.forwardable,
        cname: evidence.encTicket.cname,
        crealm: evidence.encTicket.crealm,
      },
      target,
      etypes,
      send,
      now: Date.now,
    });
  };
  const delegation = new ConstrainedDelegation({
    realm: dc.realm,
    keytab: dc.keytabPath,
    servicePrincipal: principal,
    accountName: 'websvc',
    krb5Conf: dc.krb5Conf,
    allowedServices: [BACKEND],
  });
  const alice = { name: `alice@${dc.realm}`, user: 'alice', mechanism: 'NTLM' } as const;
  await delegation.ticketFor(alice, BACKEND);

  // The peer's ccache: the service's TGT from a keytab of the account name (AD gives TGTs to
  // accounts, not SPNs), as kvno -U needs it.
  const accountKeytab = join(dc.dir, 'websvc.keytab');
  await setup.tool('domain', 'exportkeytab', accountKeytab, '--principal=websvc');
  const tgtOnly = join(dc.dir, 'ccache-websvc');
  const ccache = `FILE:${join(dc.dir, 'ccache-websvc-run')}`;
  const env = { ...dc.env, KRB5CCNAME: ccache };
  await run(
    'kinit',
    ['-f', '-k', '-t', accountKeytab, '-c', `FILE:${tgtOnly}`, `websvc@${dc.realm}`],
    {
      env,
    },
  );
  // kvno keeps what it gets in the ccache: each ticket starts from the TGT alone, as cold as ours.
  const freshCcache = (): void => copyFileSync(tgtOnly, ccache.slice('FILE:'.length));
  freshCcache();
  await coldTicket();
  await run('kvno', ['-c', ccache, '-k', accountKeytab, '-U', 'alice', '-P', BACKEND], { env });

  const samples = { cold: [] as number[], warm: [] as number[], kvno: [] as number[] };
  const rate = async (count: number, one: () => Promise<unknown>): Promise<number> => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await one();
    return count / ((performance.now() - t0) / 1000);
  };
  for (let round = 0; round < rounds; round++) {
    samples.kvno.push(
      await rate(perRound.kvno, () => {
        freshCcache();
        return run(
          'kvno',
          ['-q', '-c', ccache, '-k', accountKeytab, '-U', 'alice', '-P', BACKEND],
          {
            env,
          },
        );
      }),
    );
    samples.cold.push(await rate(perRound.cold, coldTicket));
    samples.warm.push(await rate(perRound.warm, () => delegation.ticketFor(alice, BACKEND)));
  }
  const peer = 'MIT kvno -U alice -P (S4U2Self + S4U2Proxy, one process per ticket)';
  const rows: Row[] = [
    { label: peer, unit: 'tickets/s', samples: samples.kvno },
    {
      label: 'httpauth S4U2Self + S4U2Proxy, cache cold (service TGT held)',
      unit: 'tickets/s',
      samples: samples.cold,
      ratioTo: peer,
      target: { min: 1, text: '>= 1x kvno (no process start)' },
    },
    {
      label: 'httpauth constrained delegation, cache warm',
      unit: 'tickets/s',
      samples: samples.warm,
      ratioTo: 'httpauth S4U2Self + S4U2Proxy, cache cold (service TGT held)',
      target: { min: 100, text: '>= 100x cold: no KDC request' },
    },
  ];
  emit([
    {
      id: 's4u',
      title: 'Constrained delegation: S4U2Proxy tickets per second (Samba AD DC on this host)',
      note:
        'One ticket at a time for alice to HTTP/backend.samdom.test. Cold: two TGS exchanges ' +
        '(S4U2Self, S4U2Proxy) with the KDC; warm: the in-memory cache. The DC shares the cores.',
      rows,
    },
  ]);
} finally {
  await dc.stop();
}
