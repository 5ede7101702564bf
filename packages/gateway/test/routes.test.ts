/**
 * routes: which site serves a request (a route naming its host before one that does not, then
 * the longest prefix on segment boundaries, under the rules' case policy; else the top level),
 * and the route checks validateConfig makes.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { GatewayConfigError, validateConfig } from '../src/config.js';
import { ProxyTrust } from '../src/proxy-trust.js';
import { SiteMap } from '../src/routes.js';

const base = { upstream: 'http://127.0.0.1:1/top', auth: { basic: { htpasswd: '/x' } } };

function sites(routes: unknown[], extra: object = {}): SiteMap {
  return new SiteMap(validateConfig({ ...base, routes, ...extra }), new ProxyTrust(false));
}

const upstreamOf = (map: SiteMap, host: string | undefined, path: string) =>
  map.pick(host, path).upstream.url.port;

describe('routes', () => {
  const map = sites([
    { prefix: '/app', upstream: 'http://127.0.0.1:2' },
    { prefix: '/app/admin', upstream: 'http://127.0.0.1:3' },
    { host: 'git.example.test', upstream: 'http://127.0.0.1:4' },
    { host: 'git.example.test', prefix: '/api', upstream: 'http://127.0.0.1:5' },
    { host: 'git.example.test:8443', upstream: 'http://127.0.0.1:6' },
  ]);

  it('the longest prefix on segment boundaries; the top level otherwise', () => {
    assert.equal(upstreamOf(map, 'gw', '/app/x'), '2');
    assert.equal(upstreamOf(map, 'gw', '/app'), '2');
    assert.equal(upstreamOf(map, 'gw', '/app/admin/users'), '3');
    assert.equal(upstreamOf(map, 'gw', '/application'), '1');
    assert.equal(upstreamOf(map, undefined, '/'), '1');
  });

  it('a route naming the host wins over a prefix; host with or without port; case-insensitive', () => {
    assert.equal(upstreamOf(map, 'GIT.example.test', '/app/x'), '4');
    assert.equal(upstreamOf(map, 'git.example.test:443', '/'), '4');
    assert.equal(upstreamOf(map, 'git.example.test', '/api/v1'), '5');
    assert.equal(upstreamOf(map, 'git.example.test:8443', '/'), '6', 'the exact host:port');
    assert.equal(upstreamOf(map, 'evil-git.example.test', '/'), '1');
  });

  it('prefixes compare under pathCase, as the rules do', () => {
    assert.equal(upstreamOf(map, 'gw', '/APP/x'), '2');
    const strict = sites([{ prefix: '/app', upstream: 'http://127.0.0.1:2' }], {
      pathCase: 'sensitive',
    });
    assert.equal(upstreamOf(strict, 'gw', '/APP/x'), '1');
  });

  it("each route has its own rules and identity; every route's identity header is dropped", () => {
    const routed = sites([
      {
        prefix: '/grafana',
        upstream: 'http://127.0.0.1:2',
        identity: { userHeader: 'X-WEBAUTH-USER' },
        rules: [{ prefix: '/grafana', users: ['carol'] }],
      },
    ]);
    const req = {
      method: 'GET',
      headers: { 'x-webauth-user': 'admin', 'x-remote-user': 'admin', accept: '*/*' },
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    for (const path of ['/grafana/x', '/other']) {
      const headers = routed.pick('gw', path).exchangeHeaders.request(req, undefined, path);
      assert.equal(headers['x-webauth-user'], undefined, path);
      assert.equal(headers['x-remote-user'], undefined, path);
      assert.equal(headers['accept'], '*/*');
    }
    const subject = { principal: { name: 'dave', mechanism: 'Basic' } } as never;
    assert.equal(routed.pick('gw', '/grafana/x').rules.match('/grafana/x').allows(subject), false);
    assert.equal(routed.pick('gw', '/other').rules.match('/other').allows(subject), true);
  });

  it('config: a route needs a host or a prefix, a canonical prefix, no duplicate', () => {
    const problems = (routes: unknown[]) => {
      try {
        validateConfig({ ...base, routes });
        return '';
      } catch (error) {
        assert.ok(error instanceof GatewayConfigError);
        return error.problems.join('\n');
      }
    };
    assert.match(
      problems([{ upstream: 'http://a' }]),
      /routes\[0\] needs a host, a prefix or both/,
    );
    assert.match(
      problems([{ prefix: '/a/../b', upstream: 'http://a' }]),
      /routes\[0\]\.prefix "\/a\/\.\.\/b" is not a canonical path/,
    );
    assert.match(
      problems([
        { prefix: '/a', upstream: 'http://a' },
        { prefix: '/a', upstream: 'http://b' },
      ]),
      /routes\[1\] serves the same host and prefix as another/,
    );
    assert.match(
      problems([{ prefix: '/a', upstream: 'ftp://a' }]),
      /routes\[0\]\.upstream\.url must be http/,
    );
    assert.match(problems([{ prefix: '/a' }]), /routes\[0\]\.upstream/);
  });
});
