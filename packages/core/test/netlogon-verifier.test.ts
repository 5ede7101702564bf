/**
 * The domain-controller verifier without a DC: option checks, the CHALLENGE naming the machine
 * account, the NTSTATUS verdicts, and the failure paths that must end in a 503 within the
 * configured timeout (nothing listening, a server that never answers, one that answers garbage),
 * never in a success or a hang. The happy path runs against Samba in test/netlogon-e2e.test.ts.
 */
import * as assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { HttpAuthError } from '../src/errors.js';
import { domainControllerVerifier, srvOrder } from '../src/netlogon/verifier.js';
import { logonVerdict } from '../src/netlogon/logon-status.js';
import { NtlmAcceptor } from '../src/ntlm/acceptor.js';
import { MsvAvNbComputerName, avPairString, findAvPair } from '../src/ntlm/av-pairs.js';
import { decodeChallengeMessage } from '../src/ntlm/challenge-message.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import { negotiate } from './ntlm-client.js';
import { LOGON, web1Verifier } from './netlogon-fixtures.js';

function isCode(code: string, reason?: string | RegExp) {
  return (error: unknown): boolean => {
    if (!(error instanceof HttpAuthError) || error.code !== code) return false;
    if (reason === undefined) return true;
    return typeof reason === 'string' ? error.reason === reason : reason.test(error.reason ?? '');
  };
}

async function tcpServer(
  onConnection: (socket: Socket) => void,
): Promise<Server & { port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

describe('netlogon verifier: options', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'httpauth-netlogon-unit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const base = { domain: 'SAMDOM', servers: ['127.0.0.1'], machineAccount: 'WEB1$' };

  it('needs exactly one machine secret, a valid account and valid servers', async () => {
    const bad = [
      { ...base },
      { ...base, machinePassword: 'x', machinePasswordFile: join(dir, 'none') },
      { ...base, machinePassword: '' },
      { ...base, machinePasswordFile: join(dir, 'missing') },
      { ...base, machinePassword: 'x', machineAccount: 'WAY-TOO-LONG-COMPUTER-NAME$' },
      { ...base, machinePassword: 'x', servers: [] },
      { ...base, machinePassword: 'x', servers: ['dc1:0'] },
      { ...base, machinePassword: 'x', servers: ['dc1:99999'] },
      { ...base, machinePassword: 'x', timeoutMs: 0 },
      { ...base, machinePassword: 'x', servers: undefined }, // no servers and no DNS domain
    ];
    for (const options of bad) {
      assert.throws(
        () => domainControllerVerifier(options as never),
        isCode('ERR_HTTPAUTH_INVALID_OPTIONS'),
        JSON.stringify(options),
      );
    }
  });

  it('reads a password file or an NT hash file; a malformed hash is refused', async () => {
    await writeFile(join(dir, 'pw'), 'Passw0rd!Machine1\n');
    await writeFile(join(dir, 'hash'), '743fa240bc0872c14c0128280fa07620\n');
    await writeFile(join(dir, 'badhash'), 'not-hex\n');
    domainControllerVerifier({ ...base, machinePasswordFile: join(dir, 'pw') }).close();
    domainControllerVerifier({ ...base, machineNtHashFile: join(dir, 'hash') }).close();
    assert.throws(
      () => domainControllerVerifier({ ...base, machineNtHashFile: join(dir, 'badhash') }),
      isCode('ERR_HTTPAUTH_INVALID_OPTIONS'),
    );
  });

  it('the CHALLENGE advertises the machine account as MsvAvNbComputerName', async () => {
    const acceptor = new NtlmAcceptor({
      domain: 'SAMDOM',
      domainController: { servers: ['127.0.0.1'], machineAccount: 'web1', machinePassword: 'x' },
    });
    const first = await acceptor.step(negotiate(), undefined, { now: Date.now() });
    assert.equal(first.type, 'continue');
    const pairs = decodeChallengeMessage(first.token).targetInfoPairs;
    assert.equal(avPairString(findAvPair(pairs, MsvAvNbComputerName) as Buffer), 'WEB1');
  });

  it('refuses credentials together with domainController, or another computer name', () => {
    const domainController = {
      servers: ['127.0.0.1'],
      machineAccount: 'WEB1$',
      machinePassword: 'x',
    };
    assert.throws(
      () => ntlm({ domain: 'SAMDOM', domainController, credentials: () => undefined }),
      isCode('ERR_HTTPAUTH_INVALID_OPTIONS'),
    );
    assert.throws(
      () => ntlm({ domain: 'SAMDOM', domainController, computerName: 'OTHER' }),
      isCode('ERR_HTTPAUTH_INVALID_OPTIONS'),
    );
    assert.equal(
      ntlm({ domain: 'SAMDOM', domainController, computerName: 'web1' }).acceptor.computer.netbios,
      'web1',
    );
  });
});

describe('netlogon verifier: DC answers', () => {
  it('maps refusals to 401 reasons and channel statuses to unavailable', () => {
    assert.deepEqual(logonVerdict(0xc000006a), {
      kind: 'refused',
      reason: 'STATUS_WRONG_PASSWORD',
    });
    assert.deepEqual(logonVerdict(0xc0000234), {
      kind: 'refused',
      reason: 'STATUS_ACCOUNT_LOCKED_OUT',
    });
    assert.deepEqual(logonVerdict(0xc000018d), {
      kind: 'refused',
      reason: 'STATUS_TRUSTED_RELATIONSHIP_FAILURE',
    });
    assert.deepEqual(logonVerdict(0xc0001234), { kind: 'refused', reason: 'NTSTATUS_0xC0001234' });
    assert.equal(logonVerdict(0xc000005e).kind, 'unavailable');
    assert.equal(logonVerdict(0xc0000022).kind, 'unavailable');
  });
});

describe('netlogon verifier: no DC answers -> 503 within the timeout', () => {
  async function timed(servers: string[], timeoutMs = 800) {
    const verifier = web1Verifier(servers, { machinePassword: 'x', timeoutMs });
    const t0 = Date.now();
    try {
      await verifier.verify(LOGON);
      assert.fail('a logon without a DC succeeded');
    } catch (error) {
      return { error, ms: Date.now() - t0 };
    } finally {
      verifier.close();
    }
  }

  it('nothing listening: RPC_CONNECTION, at once', async () => {
    const closed = await tcpServer(() => undefined);
    closed.close();
    const { error, ms } = await timed([`127.0.0.1:${closed.port}`]);
    assert.ok(
      isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'RPC_CONNECTION')(error),
      String(error),
    );
    assert.ok(ms < 800, `${ms} ms`);
  });

  it('a server that never answers: 503 after timeoutMs, not later', async () => {
    const sockets: Socket[] = [];
    const silent = await tcpServer((socket) => sockets.push(socket));
    try {
      const { error, ms } = await timed([`127.0.0.1:${silent.port}`], 600);
      assert.ok(
        isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', /TIMEOUT/)(error),
        String(error),
      );
      assert.ok(ms >= 500 && ms < 1500, `${ms} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('a silent first DC leaves time for the second within the same deadline', async () => {
    const sockets: Socket[] = [];
    const silent = await tcpServer((socket) => sockets.push(socket));
    const closed = await tcpServer(() => undefined);
    closed.close();
    try {
      const { error, ms } = await timed(
        [`127.0.0.1:${silent.port}`, `127.0.0.1:${closed.port}`],
        1000,
      );
      // The second server was reached (its refusal is reported), inside the 1000 ms budget.
      assert.ok(
        isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'RPC_CONNECTION')(error),
        String(error),
      );
      assert.ok(ms < 1000, `${ms} ms`);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('a server answering garbage: RPC_MALFORMED; the next server in the list is tried', async () => {
    const garbage = await tcpServer((socket) => {
      socket.on('data', () => socket.end(Buffer.alloc(64, 0x41)));
    });
    const closed = await tcpServer(() => undefined);
    closed.close();
    try {
      const { error } = await timed([`127.0.0.1:${garbage.port}`]);
      assert.ok(
        isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'RPC_MALFORMED')(error),
        String(error),
      );
      // Failover: the first server fails, the second's failure is the one reported.
      const both = await timed([`127.0.0.1:${garbage.port}`, `127.0.0.1:${closed.port}`]);
      assert.ok(
        isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'RPC_CONNECTION')(both.error),
        String(both.error),
      );
    } finally {
      garbage.close();
    }
  });
});

/** A one-zone DNS server on loopback UDP answering SRV queries (RFC 1035 §4.1, RFC 2782). */
async function srvServer(
  records: { priority: number; weight: number; target: string }[] | 'nxdomain',
): Promise<{ address: string; queries: string[]; close(): void }> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  const name = (text: string): Buffer =>
    Buffer.concat([
      ...text
        .split('.')
        .map((label) => Buffer.concat([Buffer.of(label.length), Buffer.from(label)])),
      Buffer.of(0),
    ]);
  socket.on('message', (query, peer) => {
    let pos = 12;
    const labels: string[] = [];
    while (query[pos] !== 0) {
      const length = query[pos] as number;
      labels.push(query.subarray(pos + 1, pos + 1 + length).toString());
      pos += 1 + length;
    }
    queries.push(labels.join('.'));
    const question = query.subarray(12, pos + 5);
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2);
    const answers = records === 'nxdomain' ? [] : records;
    header.writeUInt16BE(records === 'nxdomain' ? 0x8183 : 0x8180, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rrs = answers.map((record) => {
      const target = name(record.target);
      const rr = Buffer.alloc(2 + 2 + 2 + 4 + 2 + 6);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(33, 2); // SRV
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(600, 6);
      rr.writeUInt16BE(6 + target.length, 10);
      rr.writeUInt16BE(record.priority, 12);
      rr.writeUInt16BE(record.weight, 14);
      rr.writeUInt16BE(389, 16);
      return Buffer.concat([rr, target]);
    });
    socket.send(Buffer.concat([header, question, ...rrs]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => socket.close(),
  };
}

describe('netlogon verifier: DCs from DNS SRV (_ldap._tcp.dc._msdcs)', () => {
  const srvVerifier = (dnsServer: string) =>
    domainControllerVerifier({
      domain: 'SAMDOM',
      dnsDomain: 'samdom.test',
      dnsServers: [dnsServer],
      machineAccount: 'WEB1$',
      machinePassword: 'x',
      timeoutMs: 1500,
    });

  it('looks the DCs up once (cached) and answers 503 when none is reachable', async () => {
    const dns = await srvServer([
      { priority: 20, weight: 0, target: 'dc-last.invalid' },
      { priority: 10, weight: 100, target: 'dc-first.invalid' },
    ]);
    const verifier = srvVerifier(dns.address);
    try {
      for (let i = 0; i < 2; i++) {
        await assert.rejects(
          verifier.verify(LOGON),
          isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'RPC_CONNECTION'),
        );
      }
      // One SRV query for both logons: the list is cached.
      assert.deepEqual(dns.queries, ['_ldap._tcp.dc._msdcs.samdom.test']);
    } finally {
      verifier.close();
      dns.close();
    }
  });

  it('orders SRV targets by priority, then weight (RFC 2782)', () => {
    assert.deepEqual(
      srvOrder([
        { name: 'c', priority: 20, weight: 50 },
        { name: 'b', priority: 10, weight: 0 },
        { name: 'a', priority: 10, weight: 100 },
      ]),
      ['a', 'b', 'c'],
    );
  });

  it('no SRV records: 503 with reason DNS_SRV_LOOKUP_FAILED', async () => {
    const dns = await srvServer('nxdomain');
    const verifier = srvVerifier(dns.address);
    try {
      await assert.rejects(
        verifier.verify(LOGON),
        isCode('ERR_HTTPAUTH_DOMAIN_CONTROLLER_UNAVAILABLE', 'DNS_SRV_LOOKUP_FAILED'),
      );
    } finally {
      verifier.close();
      dns.close();
    }
  });
});
