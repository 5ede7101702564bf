/**
 * Reaching the KDCs: krb5.conf parsing, discovery (option, krb5.conf, DNS SRV), and the
 * transport against fake KDCs on loopback: UDP, TCP fallback on KRB_ERR_RESPONSE_TOO_BIG, large
 * requests straight to TCP, timeouts and failover, refused connections, oversized TCP replies.
 */
import * as assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { discoverKdcs } from '../src/kerberos/client/kdc-discovery.js';
import { sendToKdcs, type KdcAddress } from '../src/kerberos/client/kdc-transport.js';
import {
  configuredKdcs,
  dnsLookupKdc,
  parseKdcAddress,
  parseKrb5Conf,
} from '../src/kerberos/client/krb5-conf.js';
import { encodeKrbError } from '../src/kerberos/messages/krb-error.js';

const CONF = `
# comment
[libdefaults]
    default_realm = EXAMPLE.TEST
    dns_lookup_kdc = false

[realms]
    EXAMPLE.TEST = {
        kdc = kdc1.example.test
        kdc = tcp/kdc2.example.test:750
        kdc = [::1]:8888
        kdc = https://proxy.example.test/KdcProxy
        admin_server = kdc1.example.test
        auth_to_local = {
            kdc = not-a-kdc.example.test
        }
    }
    OTHER.TEST = {
        kdc = udp/10.0.0.1:88 *
    }
[domain_realm]
    .example.test = EXAMPLE.TEST
`;

describe('krb5.conf', () => {
  test('kdc entries per realm, in order, with transports and default port', () => {
    const conf = parseKrb5Conf(CONF);
    assert.deepEqual(configuredKdcs(conf, 'EXAMPLE.TEST'), [
      { host: 'kdc1.example.test', port: 88, transport: 'any' },
      { host: 'kdc2.example.test', port: 750, transport: 'tcp' },
      { host: '::1', port: 8888, transport: 'any' },
    ]);
    assert.deepEqual(configuredKdcs(conf, 'OTHER.TEST'), [
      { host: '10.0.0.1', port: 88, transport: 'udp' },
    ]);
    assert.deepEqual(configuredKdcs(conf, 'NONE.TEST'), []);
    assert.equal(dnsLookupKdc(conf, true), false);
    assert.equal(dnsLookupKdc(parseKrb5Conf(''), true), true);
  });

  test('bad kdc values are skipped, not guessed', () => {
    for (const bad of ['host:0', 'host:65536', 'host:port', 'a b', '', '[::1', 'kkdcp://x']) {
      assert.equal(parseKdcAddress(bad), undefined, bad);
    }
  });
});

describe('discovery', () => {
  const srv = async (name: string) => {
    if (name === '_kerberos._udp.EXAMPLE.TEST') {
      return [
        { name: 'b.example.test', port: 88, priority: 10, weight: 0 },
        { name: 'a.example.test', port: 88, priority: 0, weight: 5 },
      ];
    }
    if (name === '_kerberos._tcp.EXAMPLE.TEST') {
      return [
        { name: 'a.example.test', port: 88, priority: 0, weight: 5 },
        { name: 'c.example.test', port: 8888, priority: 0, weight: 0 },
        { name: '.', port: 0, priority: 0, weight: 0 },
      ];
    }
    throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  };

  test('the option wins, then krb5.conf, then DNS SRV by priority and weight', async () => {
    const option: KdcAddress[] = [{ host: 'x', port: 1, transport: 'tcp' }];
    const conf = parseKrb5Conf(CONF);
    assert.deepEqual(await discoverKdcs('EXAMPLE.TEST', { kdcs: option, krb5Conf: conf }), option);
    assert.equal((await discoverKdcs('EXAMPLE.TEST', { krb5Conf: conf })).length, 3);
    assert.deepEqual(
      await discoverKdcs('EXAMPLE.TEST', { krb5Conf: parseKrb5Conf(''), resolveSrv: srv }),
      [
        { host: 'a.example.test', port: 88, transport: 'any' },
        { host: 'b.example.test', port: 88, transport: 'udp' },
        { host: 'c.example.test', port: 8888, transport: 'tcp' },
      ],
    );
  });

  test('dns_lookup_kdc = false and unresolvable names give no KDC', async () => {
    const noDns = parseKrb5Conf('[libdefaults]\n dns_lookup_kdc = false\n');
    assert.deepEqual(await discoverKdcs('EXAMPLE.TEST', { krb5Conf: noDns, resolveSrv: srv }), []);
    assert.deepEqual(await discoverKdcs('NOWHERE.TEST', { resolveSrv: srv }), []);
  });
});

const TOO_BIG = encodeKrbError({
  stime: Date.UTC(2026, 0, 1),
  susec: 0,
  errorCode: 52,
  realm: 'EXAMPLE.TEST',
  sname: { nameType: 2, components: ['krbtgt', 'EXAMPLE.TEST'] },
});
const REPLY = Buffer.from('6b03020105', 'hex');

const closers: (() => void)[] = [];
after(() => closers.forEach((close) => close()));

interface FakeKdc {
  readonly port: number;
  readonly udpRequests: Buffer[];
  readonly tcpRequests: Buffer[];
}

/** A fake KDC on one port: `udp` and `tcp` decide what each transport answers. */
async function fakeKdc(behaviour: {
  udp: 'reply' | 'too-big' | 'silent' | 'none';
  tcp: 'reply' | 'oversized' | 'silent' | 'none';
}): Promise<FakeKdc> {
  const udpRequests: Buffer[] = [];
  const tcpRequests: Buffer[] = [];
  const tcp: Server = createServer((socket) => {
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 4 || data.length < 4 + data.readUInt32BE(0)) return;
      tcpRequests.push(data.subarray(4));
      if (behaviour.tcp === 'reply') {
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(REPLY.length);
        socket.end(Buffer.concat([prefix, REPLY]));
      } else if (behaviour.tcp === 'oversized') {
        socket.write(Buffer.from('7fffffff', 'hex'));
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  const port = (tcp.address() as AddressInfo).port;
  if (behaviour.tcp === 'none') await new Promise((resolve) => tcp.close(resolve));
  else closers.push(() => tcp.close());
  if (behaviour.udp !== 'none') {
    const udp: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(port, '127.0.0.1', resolve));
    udp.on('message', (message, from) => {
      udpRequests.push(message);
      if (behaviour.udp === 'reply') udp.send(REPLY, from.port, from.address);
      if (behaviour.udp === 'too-big') udp.send(TOO_BIG, from.port, from.address);
    });
    closers.push(() => udp.close());
  }
  return { port, udpRequests, tcpRequests };
}

const options = { timeoutMs: 300, udpPreferenceLimit: 1465 };
const at = (kdc: FakeKdc, transport: KdcAddress['transport'] = 'any'): KdcAddress => ({
  host: '127.0.0.1',
  port: kdc.port,
  transport,
});

describe('transport', () => {
  test('UDP first; KRB_ERR_RESPONSE_TOO_BIG sends the same request again by TCP', async () => {
    const direct = await fakeKdc({ udp: 'reply', tcp: 'none' });
    const request = Buffer.from('request-1');
    assert.deepEqual(await sendToKdcs([at(direct)], request, options), REPLY);
    assert.deepEqual(direct.udpRequests, [request]);
    const big = await fakeKdc({ udp: 'too-big', tcp: 'reply' });
    assert.deepEqual(await sendToKdcs([at(big)], request, options), REPLY);
    assert.deepEqual(big.udpRequests, [request]);
    assert.deepEqual(big.tcpRequests, [request]);
  });

  test('large requests and tcp/ entries go straight to TCP', async () => {
    const kdc = await fakeKdc({ udp: 'reply', tcp: 'reply' });
    await sendToKdcs([at(kdc)], Buffer.alloc(2000, 1), options);
    await sendToKdcs([at(kdc, 'tcp')], Buffer.from('small'), options);
    assert.equal(kdc.udpRequests.length, 0);
    assert.equal(kdc.tcpRequests.length, 2);
  });

  test('a silent KDC times out and the next one answers; a refused one fails fast', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'silent' });
    const dead = await fakeKdc({ udp: 'none', tcp: 'none' });
    const good = await fakeKdc({ udp: 'reply', tcp: 'reply' });
    const started = Date.now();
    const reply = await sendToKdcs(
      [at(silent), at(dead, 'tcp'), at(good)],
      Buffer.from('r'),
      options,
    );
    assert.deepEqual(reply, REPLY);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 290 && elapsed < 2000, `${elapsed} ms`);
    assert.equal(silent.udpRequests.length, 1);
  });

  test('no KDC answering is ERR_HTTPAUTH_KDC_UNAVAILABLE with every failure as the reason', async () => {
    const silent = await fakeKdc({ udp: 'silent', tcp: 'silent' });
    const dead = await fakeKdc({ udp: 'none', tcp: 'none' });
    await assert.rejects(
      sendToKdcs([at(silent), at(dead, 'tcp')], Buffer.from('r'), options),
      (error: unknown) => {
        const e = error as { code: string; reason: string };
        assert.equal(e.code, 'ERR_HTTPAUTH_KDC_UNAVAILABLE');
        assert.match(e.reason, /timeout/);
        assert.match(e.reason, /ECONNREFUSED/);
        return true;
      },
    );
    await assert.rejects(sendToKdcs([], Buffer.from('r'), options), {
      code: 'ERR_HTTPAUTH_KDC_UNAVAILABLE',
    });
  });

  test('a TCP reply announcing more than the DER cap is dropped at once', async () => {
    const huge = await fakeKdc({ udp: 'none', tcp: 'oversized' });
    const started = Date.now();
    await assert.rejects(
      sendToKdcs([at(huge, 'tcp')], Buffer.from('r'), { ...options, timeoutMs: 5000 }),
      (error: unknown) => {
        assert.match((error as { reason: string }).reason, /too large/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 2000);
  });
});
