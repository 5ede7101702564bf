/**
 * trustedProxies: forwarding headers are believed only from listed peers (addresses and CIDRs,
 * IPv4 and IPv6), and the client is the last hop not in the trusted set, never a value the
 * client wrote itself (RFC 7239 §5.2 for Forwarded, the de-facto X-Forwarded-* alike).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { validateConfig } from '../src/config.js';
import { isAddressOrCidr } from '../src/config-store.js';
import { forwardingHeaders } from '../src/forwarded.js';
import { hopAddress, parseForwarded, ProxyTrust } from '../src/proxy-trust.js';

function request(peer: string, headers: Record<string, string>, encrypted = false) {
  return { headers, socket: { remoteAddress: peer, encrypted } } as unknown as IncomingMessage;
}

const trust = new ProxyTrust(false, ['10.0.0.0/8', '192.0.2.10', 'fd00::/8', '::1']);
const spoof = {
  'x-forwarded-for': '1.1.1.1',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'evil.example',
  forwarded: 'for=1.1.1.1;proto=https;host=evil.example',
  host: 'gw.example',
};

describe('trusted front proxies', () => {
  it('an untrusted peer: every forwarding claim ignored, the socket is the client', () => {
    for (const peer of ['203.0.113.9', '2001:db8::5', '192.0.2.11']) {
      const view = trust.view(request(peer, spoof));
      assert.deepEqual(view, {
        address: peer,
        proto: 'http',
        host: 'gw.example',
        chain: [peer],
        viaProxy: false,
      });
    }
  });

  it('a trusted peer (address or CIDR, v4 or v6, v4-mapped): its last hop is the client', () => {
    for (const peer of ['10.1.2.3', '192.0.2.10', 'fd12::1', '::1', '::ffff:10.9.9.9']) {
      const view = trust.view(
        request(peer, { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' }),
      );
      assert.equal(view.address, '198.51.100.7', peer);
      assert.equal(view.proto, 'https');
      assert.equal(view.viaProxy, true);
    }
  });

  it('an IPv6 range never covers an IPv4 address (nor the reverse)', () => {
    const v6only = new ProxyTrust(false, ['::/64']);
    assert.equal(v6only.trustsPeer('::1'), true);
    assert.equal(v6only.trustsPeer('6.6.6.6'), false);
    assert.equal(v6only.trustsPeer('0.0.0.1'), false);
    const v4only = new ProxyTrust(false, ['0.0.0.0/0']);
    assert.equal(v4only.trustsPeer('::1'), false);
    assert.equal(v4only.trustsPeer('::ffff:192.0.2.1'), true, 'v4-mapped is IPv4');
  });

  it('skips trusted hops from the right; what the client wrote before its hop is dropped', () => {
    const view = trust.view(
      request('10.0.0.1', {
        'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.0.0.2',
        'x-forwarded-proto': 'http, https, http',
      }),
    );
    assert.equal(view.address, '198.51.100.7');
    assert.equal(view.proto, 'https', 'the scheme the edge proxy saw for that hop');
    assert.deepEqual(view.chain, ['198.51.100.7', '10.0.0.2', '10.0.0.1']);
    const headers = forwardingHeaders(request('10.0.0.1', {}), view);
    assert.equal(headers['x-forwarded-for'], '198.51.100.7, 10.0.0.2, 10.0.0.1');
    assert.doesNotMatch(String(headers['forwarded']), /6\.6\.6\.6/);
  });

  it('reads RFC 7239 Forwarded first: quoted IPv6 with port, proto, host', () => {
    const view = trust.view(
      request('fd00::2', {
        forwarded: 'for=6.6.6.6, for="[2001:db8::9]:4711";proto=https;host="app.example:8443"',
        'x-forwarded-for': '7.7.7.7',
      }),
    );
    assert.equal(view.address, '2001:db8::9');
    assert.equal(view.proto, 'https');
    assert.equal(view.host, 'app.example:8443');
  });

  it('a trusted peer without a usable hop stands for the client itself', () => {
    for (const forwarded of ['for=unknown', 'for=_hidden;proto=https', 'garbage;;==']) {
      const view = trust.view(request('10.0.0.1', { forwarded }));
      assert.equal(view.address, '10.0.0.1', forwarded);
    }
  });

  it('an unsafe host value is not taken; the Host header stays', () => {
    const view = trust.view(
      request('10.0.0.1', {
        'x-forwarded-for': '198.51.100.7',
        'x-forwarded-host': 'a b"\\',
        host: 'gw.example',
      }),
    );
    assert.equal(view.host, 'gw.example');
  });

  it('never throws and never takes a hop it cannot parse as an address', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (f, x) => {
        const view = trust.view(request('10.0.0.1', { forwarded: f, 'x-forwarded-for': x }));
        assert.ok(hopAddress(view.address) !== undefined || view.address === '10.0.0.1');
        parseForwarded(f);
      }),
    );
  });

  it('config: trustedProxies entries must be addresses or CIDRs; env overrides the file', () => {
    for (const good of ['10.0.0.0/8', '::1', 'fd00::/8', '192.0.2.1/32'])
      assert.ok(isAddressOrCidr(good), good);
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.example', '10.0.0.1/8/8', '1.2.3'])
      assert.ok(!isAddressOrCidr(bad), bad);
    const base = { upstream: 'http://127.0.0.1:1', auth: { basic: { htpasswd: '/x' } } };
    assert.throws(
      () => validateConfig({ ...base, trustedProxies: ['10.0.0.0/99'] }),
      /trustedProxies: "10.0.0.0\/99" is not an IPv4\/IPv6 address or CIDR/,
    );
    const config = validateConfig(
      { ...base, trustedProxies: ['10.0.0.1'] },
      { trustedProxies: '::1, 10.0.0.0/8' },
    );
    assert.deepEqual(config.trustedProxies, ['::1', '10.0.0.0/8']);
  });

  it('config: with channelBindingCertificate (TLS ended in front) NTLM requires bindings', () => {
    const base = {
      upstream: 'http://127.0.0.1:1',
      auth: { ntlm: { smbpasswd: '/x', domain: 'D' } },
    };
    assert.equal(validateConfig(base).auth.ntlm?.channelBinding, 'allow');
    const front = validateConfig({ ...base, channelBindingCertificate: '/front.pem' });
    assert.equal(front.channelBindingCertificate, '/front.pem');
    assert.equal(front.auth.ntlm?.channelBinding, 'require');
  });
});
