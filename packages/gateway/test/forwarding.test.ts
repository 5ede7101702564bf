import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { clientProto, forwardingHeaders, lastListMember } from '../src/forwarded.js';
import { applyFraming, bodyFraming } from '../src/framing.js';
import type { BodyFraming } from '../src/framing.js';
import { foldHeaderName, RequestHeaderFilter } from '../src/header-filter.js';
import { GatewayMetrics, MAX_SERIES } from '../src/metrics.js';
import { createLogger } from '../src/logger.js';
import { RequestOutcomes } from '../src/outcomes.js';
import { HttpAuthError } from '@httpauth/core';
import type { AuthDecision, ErrorCode } from '@httpauth/core';

function fakeRequest(headers: Record<string, string>, encrypted = false): IncomingMessage {
  return {
    headers,
    socket: { remoteAddress: '10.0.0.5', encrypted },
  } as unknown as IncomingMessage;
}

describe('header filter', () => {
  const filter = new RequestHeaderFilter([
    'x-remote-user',
    'x-remote-groups',
    'x-auth-mechanism',
    'x-httpauth-signature',
  ]);
  const none = new Set<string>();

  it('drops every name with an underscore and every spelling of protected headers', () => {
    for (const name of [
      'x_remote_user',
      'x-remote_user',
      'x_forwarded_for',
      'x_custom_trust',
      'x-remote-user',
      'x-remote-groups',
      'x-httpauth-signature',
      'forwarded',
      'x-forwarded-proto',
      'x-forwarded-anything',
      'x-real-ip',
      'x-original-url',
      'x-rewrite-url',
      'x-original-uri',
      'true-client-ip',
      'content-length',
      'transfer-encoding',
      'connection',
      'upgrade',
      'te',
    ])
      assert.equal(filter.allows(name, none), false, name);
    for (const name of ['accept', 'x-request-id', 'cookie', 'user-agent', 'host'])
      assert.equal(filter.allows(name, none), true, name);
    assert.equal(foldHeaderName('X_Remote-USER'), 'x-remote-user');
  });

  it('drops what Connection lists, but framing is not the client’s to remove', () => {
    const tokens = RequestHeaderFilter.connectionTokens('close, X-Request-Id , content-length');
    assert.equal(filter.allows('x-request-id', tokens), false);
    const headers: Record<string, string> = {};
    applyFraming(headers, { kind: 'length', length: 12 }, 'GET');
    assert.equal(headers['content-length'], '12');
  });

  it('gives the same answers once names and Connection values are remembered', () => {
    // A name judged allowed stays subject to the Connection header of each request.
    assert.equal(filter.allows('x-request-id', none), true);
    const listing = RequestHeaderFilter.connectionTokens('X-Request-Id');
    assert.equal(filter.allows('x-request-id', listing), false);
    assert.equal(
      filter.allows('x-request-id', RequestHeaderFilter.connectionTokens('close')),
      true,
    );
    // The remembered sets are the tokens, for short and long values alike, and past the bound.
    const long = Array.from({ length: 30 }, (_, i) => `X-Custom-${i}`).join(', ');
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(
        [...RequestHeaderFilter.connectionTokens(' Close ,KEEP-alive')],
        ['close', 'keep-alive'],
      );
      assert.equal(RequestHeaderFilter.connectionTokens(long).size, 30);
      assert.ok(RequestHeaderFilter.connectionTokens(long).has('x-custom-29'));
      assert.equal(RequestHeaderFilter.connectionTokens(undefined).size, 0);
      for (let i = 0; i < 200; i++) RequestHeaderFilter.connectionTokens(`x-${i}`);
    }
    // Past the name bound, a forbidden name is still refused and a plain one allowed.
    for (let i = 0; i < 2500; i++) filter.allows(`x-n${i}`, none);
    assert.equal(filter.allows('x_remote_user', none), false);
    assert.equal(filter.allows('x-remote-user', none), false);
    assert.equal(filter.allows('accept', none), true);
  });
});

describe('body framing', () => {
  const cases: [Record<string, string>, BodyFraming['kind']][] = [
    [{}, 'none'],
    [{ 'content-length': '0' }, 'none'],
    [{ 'content-length': '5' }, 'length'],
    [{ 'transfer-encoding': 'chunked' }, 'chunked'],
    [{ 'transfer-encoding': 'Chunked ' }, 'chunked'],
    [{ 'transfer-encoding': 'gzip, chunked' }, 'refused'],
    [{ 'transfer-encoding': 'chunked', 'content-length': '5' }, 'refused'],
    [{ 'content-length': '5, 5' }, 'refused'],
    [{ 'content-length': '-1' }, 'refused'],
  ];
  it('decides one framing per request, for every method', () => {
    for (const [headers, kind] of cases)
      assert.equal(bodyFraming(fakeRequest(headers)).kind, kind, JSON.stringify(headers));
  });

  it('frames bodies explicitly whatever the method', () => {
    for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS', 'POST']) {
      const chunked: Record<string, string> = { 'content-length': '3' };
      applyFraming(chunked, { kind: 'chunked' }, method);
      assert.deepEqual(chunked, { 'transfer-encoding': 'chunked' });
      const empty: Record<string, string> = { 'transfer-encoding': 'chunked' };
      applyFraming(empty, { kind: 'none' }, method);
      assert.deepEqual(empty, method === 'POST' ? { 'content-length': '0' } : {});
    }
  });
});

describe('forwarding headers', () => {
  it('without trustProxy: describe the socket, ignore what the client says', () => {
    const req = fakeRequest({
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '1.2.3.4',
      host: 'gw',
    });
    const headers = forwardingHeaders(req, false);
    assert.equal(headers['x-forwarded-for'], '10.0.0.5');
    assert.equal(headers['x-forwarded-proto'], 'http');
  });

  it('with trustProxy: the last X-Forwarded-Proto (the proxy’s), the address chain appended', () => {
    const req = fakeRequest({
      'x-forwarded-proto': 'https, http',
      'x-forwarded-for': '6.6.6.6, 192.0.2.7',
    });
    assert.equal(clientProto(req, true), 'http', 'the client-written first value is not believed');
    assert.equal(clientProto(fakeRequest({ 'x-forwarded-proto': 'http, https' }), true), 'https');
    const headers = forwardingHeaders(req, true);
    // The proxy's hop and the proxy; what the client wrote before them (6.6.6.6) is not passed on.
    assert.equal(headers['x-forwarded-for'], '192.0.2.7, 10.0.0.5');
    assert.equal(
      forwardingHeaders(fakeRequest({ 'x-forwarded-for': 'evil\r\nx: y' }), true)[
        'x-forwarded-for'
      ],
      '10.0.0.5',
    );
    assert.equal(lastListMember(['a, b', 'c']), 'c');
    assert.equal(lastListMember(' , '), undefined);
  });
});

describe('metrics labels', () => {
  it('label only configured schemes and known codes; every counter is bounded', () => {
    const metrics = new GatewayMetrics(['digest']);
    metrics.auth('failure', 'evil-scheme', 'ERR_MADE_UP');
    metrics.auth('failure', 'negotiate', 'ERR_HTTPAUTH_HEADER_MALFORMED');
    metrics.auth('challenge', 'digest', 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
    metrics.upstreamError('EWHATEVER');
    metrics.request(9999, 0.01);
    for (let i = 0; i < 5000; i++) metrics.auth('failure', `s${i}`, `ERR_${i}`);
    const text = metrics.render(0, 0);
    assert.doesNotMatch(text, /evil|negotiate|ERR_MADE_UP|EWHATEVER|9999|s4999/);
    assert.match(text, /mechanism="other",reason="other"/);
    assert.match(text, /mechanism="digest",reason="ERR_HTTPAUTH_CREDENTIALS_REQUIRED"/);
    const series = text.split('\n').filter((l) => l.startsWith('httpauth_gateway_auth_total{'));
    assert.ok(series.length <= MAX_SERIES + 1);
  });

  it('caps a counter even when each label value is allowed', () => {
    const metrics = new GatewayMetrics();
    for (let status = 100; status < 600; status++) metrics.request(status, 0);
    for (let status = 100; status < 600; status++) metrics.request(status, 0);
    const series = metrics
      .render(0, 0)
      .split('\n')
      .filter((l) => l.startsWith('httpauth_gateway_requests_total{'));
    assert.ok(series.length <= MAX_SERIES + 1, String(series.length));
  });

  it('label a decision with the scheme core names, never one read from the request', () => {
    const metrics = new GatewayMetrics(['negotiate', 'basic']);
    const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
    const outcomes = new RequestOutcomes(
      { log: (level, msg, fields = {}) => lines.push({ level, msg, fields }) },
      metrics,
    );
    const request = {
      method: 'GET',
      target: '/app/x?secret=1',
      headers: {},
      httpVersionMajor: 1,
      secure: false,
      clientAddress: '192.0.2.7',
    };
    const started = process.hrtime.bigint();
    const refused = (scheme: string | undefined, code: ErrorCode) =>
      ({
        type: 'respond',
        scheme,
        status: 401,
        headers: [],
        error: new HttpAuthError(code),
      }) as AuthDecision;
    outcomes.recordDecision(
      refused('Negotiate', 'ERR_HTTPAUTH_NTLM_TARGET_NAME'),
      request,
      started,
    );
    outcomes.recordDecision(
      refused(undefined, 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED'),
      request,
      started,
    );
    outcomes.recordDecision(refused('Evil', 'ERR_HTTPAUTH_NTLM_TARGET_NAME'), request, started);
    // The same log line as every adapter's `logger` writes: failures at warn, no challenge line.
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields.scheme, l.fields.code, l.fields.path]),
      [
        ['warn', 'Negotiate', 'ERR_HTTPAUTH_NTLM_TARGET_NAME', '/app/x'],
        ['warn', 'Evil', 'ERR_HTTPAUTH_NTLM_TARGET_NAME', '/app/x'],
      ],
    );
    assert.equal(lines[0]!.fields.clientAddress, '192.0.2.7');
    assert.equal(lines[0]!.fields.method, 'GET');
    assert.equal(typeof lines[0]!.fields.durationMs, 'number');
    const text = metrics.render(0, 0);
    assert.match(
      text,
      /outcome="failure",mechanism="negotiate",reason="ERR_HTTPAUTH_NTLM_TARGET_NAME"\} 1/,
    );
    assert.match(
      text,
      /outcome="challenge",mechanism="none",reason="ERR_HTTPAUTH_CREDENTIALS_REQUIRED"\} 1/,
    );
    assert.match(
      text,
      /outcome="failure",mechanism="other",reason="ERR_HTTPAUTH_NTLM_TARGET_NAME"\} 1/,
    );
  });
});

describe('request outcomes and the log level', () => {
  const request = {
    method: 'GET',
    target: '/app',
    headers: {},
    httpVersionMajor: 1,
    secure: false,
  };
  const principal = { name: 'alice', user: 'alice', mechanism: 'NTLM' as const };
  const success = {
    type: 'authenticated',
    scheme: 'NTLM',
    reused: true,
    headers: [],
    auth: { principal, impersonation: {}, context: undefined },
  } as unknown as AuthDecision;
  const failure = {
    type: 'respond',
    scheme: 'NTLM',
    status: 401,
    headers: [],
    error: new HttpAuthError('ERR_HTTPAUTH_BAD_CREDENTIALS'),
  } as AuthDecision;

  for (const [level, expected] of [
    [
      'debug',
      ['info httpauth: authenticated', 'warn httpauth: authentication refused', 'info request'],
    ],
    [
      'info',
      ['info httpauth: authenticated', 'warn httpauth: authentication refused', 'info request'],
    ],
    ['warn', ['warn httpauth: authentication refused']],
    ['silent', []],
  ] as const) {
    it(`at ${level}, writes exactly the lines of that level and above (and counts every event)`, () => {
      const lines: string[] = [];
      const metrics = new GatewayMetrics(['ntlm']);
      const outcomes = new RequestOutcomes(
        createLogger(level, (line) => {
          const entry = JSON.parse(line) as { level: string; msg: string };
          lines.push(`${entry.level} ${entry.msg}`);
        }),
        metrics,
      );
      const started = process.hrtime.bigint();
      outcomes.recordDecision(success, request, started);
      outcomes.recordDecision(failure, request, started);
      outcomes.finish(fakeRequest({}), '/app', undefined, 200, started);
      assert.deepEqual(lines, expected);
      const text = metrics.render(0, 0);
      assert.match(text, /outcome="success",mechanism="NTLM",reason="ok"\} 1/);
      assert.match(text, /reason="ERR_HTTPAUTH_BAD_CREDENTIALS"\} 1/);
      assert.match(text, /httpauth_gateway_requests_total\{code="200"\} 1/);
    });
  }
});
