import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { basic } from '../src/basic/index.js';
import { HttpAuthError } from '../src/errors.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { createMetrics } from '../src/metrics/metrics.js';
import { Counter, Histogram, labelText, MAX_SERIES } from '../src/metrics/exposition.js';
import type { AuthRequest } from '../src/security-package.js';
import { MemoryStore } from '../src/store/memory.js';
import type { KeyValueStore } from '../src/store/types.js';

const alice = basic({
  realm: 'metrics',
  verify: (user, password) => user === 'alice' && password === 'pw',
  allowInsecure: true,
});

function basicRequest(authorization?: string): AuthRequest {
  return {
    method: 'GET',
    target: '/',
    headers: authorization === undefined ? {} : { authorization },
    httpVersionMajor: 1,
    secure: false,
  };
}

const credentials = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** `name{labels} value` lines of one metric, as a map from label text to value. */
function samples(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match !== null && match[1] === name) found.set(match[2] ?? '', Number(match[3]));
  }
  return found;
}

/** Every line is a comment or a sample the text format allows. */
function assertExposition(text: string): void {
  assert.ok(text.endsWith('\n'));
  for (const line of text.trimEnd().split('\n')) {
    assert.match(
      line,
      /^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\\n]|\\[\\"n])*",?)*\})? (-?[0-9.e+-]+|\+Inf|NaN))$/,
      line,
    );
  }
}

describe('createMetrics', () => {
  it('counts outcomes by scheme, mechanism and code, with a bounded scheme label', async () => {
    const authenticator = createAuthenticator({ packages: [alice] });
    const metrics = createMetrics({ authenticators: [authenticator] });
    try {
      await authenticator.authenticate(basicRequest());
      await authenticator.authenticate(basicRequest(credentials('alice', 'pw')));
      await authenticator.authenticate(basicRequest(credentials('alice', 'wrong')));
      await authenticator.authenticate(basicRequest('Random123 abc'));
      const text = metrics.text();
      assertExposition(text);
      const auth = samples(text, 'httpauth_authentications_total');
      assert.equal(
        auth.get(
          labelText({ scheme: 'Basic', mechanism: 'Basic', outcome: 'success', code: 'ok' }),
        ),
        1,
      );
      assert.equal(
        auth.get(
          labelText({
            scheme: 'Basic',
            mechanism: 'none',
            outcome: 'failure',
            code: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
          }),
        ),
        1,
      );
      assert.equal(
        auth.get(
          labelText({
            scheme: 'other',
            mechanism: 'none',
            outcome: 'failure',
            code: 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED',
          }),
        ),
        1,
      );
      assert.ok(!text.includes('Random123'));
      const challenges = samples(text, 'httpauth_challenges_total');
      assert.equal(challenges.get(labelText({ scheme: 'none', step: 'initial' })), 1);
      assert.equal(samples(text, 'httpauth_pending_handshakes').get(''), 0);
    } finally {
      metrics.close();
    }
  });

  it('stops counting after close()', async () => {
    const authenticator = createAuthenticator({ packages: [alice] });
    const metrics = createMetrics({ authenticators: [authenticator] });
    metrics.close();
    await authenticator.authenticate(basicRequest(credentials('alice', 'pw')));
    assert.equal(samples(metrics.text(), 'httpauth_authentications_total').size, 0);
  });

  it('client-chosen schemes never add series (property over random scheme names)', async () => {
    const authenticator = createAuthenticator({ packages: [alice] });
    const metrics = createMetrics({ authenticators: [authenticator] });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/),
          async (scheme) => {
            await authenticator.authenticate(basicRequest(`${scheme} token`));
          },
        ),
        { numRuns: 200 },
      );
      const series = [...samples(metrics.text(), 'httpauth_authentications_total').keys()];
      // Only the package's own scheme (whatever case the client used) or `other` appear.
      for (const labels of series) assert.match(labels, /scheme="(Basic|other)"/);
      assert.ok(series.length <= 4, series.join('\n'));
    } finally {
      metrics.close();
    }
  });

  it('times store operations and counts store errors by code', async () => {
    const metrics = createMetrics();
    try {
      const store = metrics.instrumentStore(new MemoryStore());
      assert.equal(await store.add('k', 'v', 1000), true);
      assert.equal(await store.get('k'), 'v');
      assert.equal(await store.compareAndSet('k', 'v', 'w', 1000), true);
      assert.equal(await store.advance('n', 3, 1000), true);
      await store.delete('k');
      const failing: KeyValueStore = {
        add: () => Promise.reject(new HttpAuthError('ERR_HTTPAUTH_STORE_UNAVAILABLE')),
        get: () => Promise.reject(new Error('boom')),
        compareAndSet: () => Promise.resolve(false),
        advance: () => Promise.resolve(false),
        delete: () => Promise.resolve(),
      };
      const broken = metrics.instrumentStore(failing);
      await assert.rejects(broken.add('k', 'v', 1), { code: 'ERR_HTTPAUTH_STORE_UNAVAILABLE' });
      await assert.rejects(broken.get('k'), /boom/);
      const text = metrics.text();
      assertExposition(text);
      const counts = samples(text, 'httpauth_store_operation_duration_seconds_count');
      for (const operation of ['add', 'get']) {
        assert.equal(counts.get(labelText({ operation })), 2, operation);
      }
      for (const operation of ['compareAndSet', 'advance', 'delete']) {
        assert.equal(counts.get(labelText({ operation })), 1, operation);
      }
      const errors = samples(text, 'httpauth_store_errors_total');
      assert.equal(
        errors.get(labelText({ operation: 'add', code: 'ERR_HTTPAUTH_STORE_UNAVAILABLE' })),
        1,
      );
      assert.equal(errors.get(labelText({ operation: 'get', code: 'other' })), 1);
    } finally {
      metrics.close();
    }
  });

  it('sums pending handshakes over every watched authenticator', () => {
    const metrics = createMetrics();
    try {
      metrics.watch({ packages: [{ scheme: 'NTLM' }], pendingHandshakes: 2 });
      metrics.watch({ packages: [], pendingHandshakes: 3 });
      assert.equal(samples(metrics.text(), 'httpauth_pending_handshakes').get(''), 5);
    } finally {
      metrics.close();
    }
  });
});

describe('exposition', () => {
  it('escapes label values and bounds the series of a family', () => {
    const counter = new Counter('x_total', 'help');
    counter.inc({ value: 'a"b\\c\nd' });
    for (let i = 0; i < MAX_SERIES + 50; i++) counter.inc({ value: `v${i}` });
    const lines: string[] = [];
    counter.render(lines);
    assert.ok(lines.includes('x_total{value="a\\"b\\\\c\\nd"} 1'));
    // MAX_SERIES distinct series, then everything new counted once under `other`.
    const series = lines.filter((line) => line.startsWith('x_total{'));
    assert.equal(series.length, MAX_SERIES + 1);
    assert.ok(lines.includes('x_total{value="other"} 51'));
  });

  it('renders cumulative histogram buckets with the series labels', () => {
    const histogram = new Histogram('h_seconds', 'help', [0.1, 1]);
    histogram.observe(0.05, { op: 'a' });
    histogram.observe(0.5, { op: 'a' });
    histogram.observe(5, { op: 'a' });
    histogram.observe(Number.NaN, { op: 'a' });
    histogram.observe(-1, { op: 'a' });
    const lines: string[] = [];
    histogram.render(lines);
    assert.deepEqual(lines.slice(2), [
      'h_seconds_bucket{op="a",le="0.1"} 1',
      'h_seconds_bucket{op="a",le="1"} 2',
      'h_seconds_bucket{op="a",le="+Inf"} 3',
      'h_seconds_sum{op="a"} 5.55',
      'h_seconds_count{op="a"} 3',
    ]);
  });

  it('a child counts into the series of its labels, within the same bound as inc', () => {
    const counter = new Counter('c_total', 'help');
    const child = counter.child({ code: '200' });
    child.inc();
    counter.inc({ code: '200' });
    child.inc(2);
    for (let i = 1; i < MAX_SERIES; i++) counter.inc({ code: `x${i}` });
    // The family is full: a child of a new label set counts under `other`, as inc does.
    const late = counter.child({ code: 'late' });
    late.inc();
    counter.inc({ code: 'later' });
    const lines: string[] = [];
    counter.render(lines);
    assert.ok(lines.includes('c_total{code="200"} 4'));
    assert.ok(lines.includes('c_total{code="other"} 2'));
    assert.ok(!lines.some((line) => line.includes('late')));
  });

  it('a histogram child observes into its series and ignores what observe ignores', () => {
    const histogram = new Histogram('h_seconds', 'help', [0.1, 1]);
    const child = histogram.child({ op: 'a' });
    child.observe(0.05);
    histogram.observe(0.5, { op: 'a' });
    child.observe(5);
    child.observe(Number.NaN);
    child.observe(-1);
    const lines: string[] = [];
    histogram.render(lines);
    assert.deepEqual(lines.slice(2), [
      'h_seconds_bucket{op="a",le="0.1"} 1',
      'h_seconds_bucket{op="a",le="1"} 2',
      'h_seconds_bucket{op="a",le="+Inf"} 3',
      'h_seconds_sum{op="a"} 5.55',
      'h_seconds_count{op="a"} 3',
    ]);
  });
});
