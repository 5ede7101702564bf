/**
 * The `logger` adapter option (core's node/decision-log.ts), the same on every adapter: one warn
 * line per refusal and one info line per success, with the audit event's fields (the failure's
 * operator-only detail included), none for a challenge, and never the credentials themselves.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { basic, type HttpAuthError } from '@httpauth/core';
import { withMounted, type AdapterDriver } from './adapter-driver.js';
import { send } from './http-client.js';

interface Line {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A logger with pino's calling convention that keeps what it is given. */
export function collectingLogger(): { lines: Line[]; logger: Record<string, unknown> } {
  const lines: Line[] = [];
  const method = (level: string) => (fields: Record<string, unknown>, message?: string) => {
    lines.push({ level, fields, message });
  };
  return { lines, logger: { info: method('info'), warn: method('warn'), debug: method('debug') } };
}

const PASSWORD = 'open sesame 42';
const authorization = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export function loggerContract(driver: AdapterDriver): void {
  describe('the logger option', () => {
    const packages = () => [
      basic({
        realm: 'logs',
        verify: (user, password) => user === 'alice' && password === PASSWORD,
        allowInsecure: true,
      }),
    ];

    test('a refusal is one warn line with the event fields; a success one info line', async () => {
      const { lines, logger } = collectingLogger();
      const authenticator = driver.createAuthenticator({ packages: packages() });
      await withMounted(driver.mount(authenticator, { adapter: { logger } }), async (base) => {
        assert.equal((await send(`${base}/p?q=1`)).status, 401);
        const refused = await send(`${base}/p?q=1`, {
          headers: { authorization: authorization('mallory', PASSWORD) },
        });
        assert.equal(refused.status, 401);
        const ok = await send(`${base}/p`, {
          headers: { authorization: authorization('alice', PASSWORD) },
        });
        assert.equal(ok.status, 200);
      });
      assert.deepEqual(
        lines.map((l) => l.level),
        ['warn', 'info'],
        'no line for the challenge',
      );
      const [warn, info] = lines as [Line, Line];
      assert.equal(warn.fields.scheme, 'Basic');
      assert.equal(warn.fields.code, 'ERR_HTTPAUTH_BAD_CREDENTIALS');
      assert.equal(warn.fields.status, 401);
      assert.equal(warn.fields.method, 'GET');
      assert.equal(warn.fields.path, '/p');
      assert.match(String(warn.fields.clientAddress), /127\.0\.0\.1/);
      assert.equal(typeof warn.fields.durationMs, 'number');
      assert.deepEqual(warn.fields.detail, { user: 'mallory' });
      assert.equal(info.fields.name, 'alice');
      assert.equal(info.fields.scheme, 'Basic');
      assert.equal(info.fields.path, '/p');
      const serialized = JSON.stringify(lines);
      assert.ok(!serialized.includes(PASSWORD), 'the password is never logged');
      assert.ok(!serialized.includes(authorization('mallory', PASSWORD).slice(6)));
    });

    test('logSuccess: false logs refusals only; debug uses the debug method', async () => {
      for (const [logSuccess, expected] of [
        [false, ['warn']],
        ['debug', ['warn', 'debug']],
      ] as const) {
        const { lines, logger } = collectingLogger();
        const authenticator = driver.createAuthenticator({ packages: packages() });
        await withMounted(
          driver.mount(authenticator, { adapter: { logger, logSuccess } }),
          async (base) => {
            await send(`${base}/`, { headers: { authorization: authorization('bob', 'x') } });
            await send(`${base}/`, {
              headers: { authorization: authorization('alice', PASSWORD) },
            });
          },
        );
        assert.deepEqual(
          lines.map((l) => l.level),
          expected,
        );
      }
    });

    test('a logger that throws does not fail the request', async () => {
      const logger = {
        info: () => {
          throw new Error('disk full');
        },
        warn: () => {
          throw new Error('disk full');
        },
      };
      const authenticator = driver.createAuthenticator({ packages: packages() });
      await withMounted(driver.mount(authenticator, { adapter: { logger } }), async (base) => {
        const ok = await send(`${base}/`, {
          headers: { authorization: authorization('alice', PASSWORD) },
        });
        assert.equal(ok.status, 200);
      });
    });

    test('a logger without info/warn, or an unknown logSuccess, is refused at registration', async () => {
      const valid = driver.createAuthenticator({ packages: packages() });
      for (const adapter of [
        { logger: {} },
        { logger: { info: () => undefined } },
        { logger: 'console' },
        { logSuccess: 'loud' },
      ]) {
        await assert.rejects(
          async () => driver.register(valid, adapter),
          (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
          JSON.stringify(adapter),
        );
      }
    });
  });
}
