/**
 * The seam options every framework adapter offers under the same names (unless, optional,
 * onRefused, passErrors, property), written once and run against Express, Fastify and Koa. The
 * driver turns each SeamSpec into its framework's own form. core's createHandler (node:http) runs
 * it too, without the scenarios of the seams its driver `lacks` (passErrors, property).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { HttpAuthError } from '@httpauth/core';
import { handshakePackage, tokenPackage } from './adapter-fakes.js';
import {
  ALL_CHALLENGES,
  echo,
  FOREIGN_AUTH,
  errorCode,
  onOneConnection,
  withMounted,
  type Mounted,
  type SeamDriver,
  type SeamSpec,
} from './adapter-driver.js';
import { send } from './http-client.js';

const packages = () => [tokenPackage(), handshakePackage()];

/** The seam options every adapter refuses at registration. */
const INVALID_SEAMS: unknown[] = [
  { property: '' },
  { property: '__proto__' },
  { property: 'constructor' },
  { property: 'prototype' },
  { property: 'a-b' },
  { property: 'a.b' },
  { property: 5 },
  { unless: true },
  { unless: 'x' },
  { optional: 'yes' },
  { optional: 1 },
  { onRefused: 'x' },
  { onRefused: {} },
  { passErrors: 1 },
  { passErrors: 'yes' },
  { passErrors: true, onRefused: () => undefined },
];

export function seamsContract(driver: SeamDriver): void {
  const offers = (seam: 'passErrors' | 'property'): boolean => !(driver.lacks ?? []).includes(seam);
  const mountSeams = (seams: SeamSpec): Promise<Mounted> =>
    driver.mount({ packages: packages() }, { seams });

  describe(`adapter seams contract: ${driver.name}`, () => {
    describe('unless', () => {
      let mounted: Mounted;
      before(async () => {
        mounted = await mountSeams({ skipPath: '/health' });
      });
      after(() => mounted.close());

      test('a skipped request goes on without credentials and without an identity', async () => {
        const res = await send(`${mounted.base}/health`);
        assert.equal(res.status, 200);
        assert.equal(echo(res).name, null);
        assert.equal(res.headers.get('www-authenticate'), undefined);
      });

      test('the others are still challenged', async () => {
        const res = await send(`${mounted.base}/private`);
        assert.equal(res.status, 401);
        assert.equal(errorCode(res), 'ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
      });

      test('a throwing predicate fails the request, never lets it through', async () => {
        await withMounted(mountSeams({ skipThrows: true }), async (base) => {
          const res = await send(`${base}/`);
          assert.equal(res.status, 500);
          assert.doesNotMatch(res.body, /"name"/);
        });
      });
    });

    describe('optional', () => {
      let mounted: Mounted;
      before(async () => {
        mounted = await mountSeams({ optional: true });
      });
      after(() => mounted.close());

      test('no credentials: through anonymously, no challenge', async () => {
        const res = await send(`${mounted.base}/`);
        assert.equal(res.status, 200);
        assert.equal(echo(res).name, null);
        assert.equal(res.headers.get('www-authenticate'), undefined);
      });

      test('good credentials: authenticated', async () => {
        const res = await send(`${mounted.base}/`, {
          headers: { authorization: 'Token good-ann' },
        });
        assert.equal(res.status, 200);
        assert.equal(echo(res).name, 'ann');
      });

      test('bad, malformed or unknown credentials are still refused', async () => {
        const refusal = async (authorization: string) => {
          const res = await send(`${mounted.base}/`, { headers: { authorization } });
          return [res.status, errorCode(res)];
        };
        assert.deepEqual(await refusal('Token nope'), [401, 'ERR_HTTPAUTH_BAD_CREDENTIALS']);
        assert.deepEqual(await refusal('Token'), [400, 'ERR_HTTPAUTH_HEADER_MALFORMED']);
        assert.deepEqual(await refusal('Other x'), [401, 'ERR_HTTPAUTH_SCHEME_UNSUPPORTED']);
      });

      test('the challenge leg of a connection-bound handshake still gets its 401; the connection stays authenticated', async () => {
        const authenticator = driver.createAuthenticator({
          packages: [handshakePackage({ persist: true })],
        });
        const mounting = driver.mount(authenticator, { seams: { optional: true } });
        await withMounted(mounting, async (base) => {
          await onOneConnection(async (agent) => {
            const first = await send(`${base}/`, { agent, headers: { authorization: 'Hand one' } });
            assert.equal(first.status, 401);
            assert.deepEqual(first.headers.get('www-authenticate'), ['Hand two-please']);
            const second = await send(`${base}/`, {
              agent,
              headers: { authorization: 'Hand two' },
            });
            assert.equal(second.status, 200);
            assert.equal(echo(second).name, 'HAND\\carol');
            // Connection-bound (NTLM-like): later requests on it need no header, are not anonymous.
            const third = await send(`${base}/`, { agent });
            assert.equal(third.localPort, first.localPort);
            assert.equal(echo(third).name, 'HAND\\carol');
            assert.equal(echo(await send(`${base}/`)).name, null);
          });
        });
      });
    });

    describe('onRefused and passErrors', () => {
      test('onRefused shapes the body; status and every challenge line are already set', async () => {
        const seen: string[] = [];
        const onRefused = (code: string, status: number) => seen.push(`${code} ${status}`);
        await withMounted(mountSeams({ onRefused }), async (base) => {
          const res = await send(`${base}/`);
          assert.equal(res.status, 401);
          assert.equal(res.body, 'no: ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
          assert.match(res.headers.get('content-type')?.[0] ?? '', /^text\/plain/);
          assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
          const malformed = await send(`${base}/`, { headers: { authorization: 'Token' } });
          assert.equal(malformed.status, 400);
          assert.deepEqual(seen, [
            'ERR_HTTPAUTH_CREDENTIALS_REQUIRED 401',
            'ERR_HTTPAUTH_HEADER_MALFORMED 400',
          ]);
        });
      });

      if (offers('passErrors')) {
        test('passErrors hands an HttpAuthError with status and challenges to the error handler', async () => {
          await withMounted(mountSeams({ passErrors: true, errorHandler: true }), async (base) => {
            const res = await send(`${base}/`, { headers: { authorization: 'Token bad' } });
            assert.equal(res.status, 401);
            assert.deepEqual(JSON.parse(res.body), {
              mine: 'ERR_HTTPAUTH_BAD_CREDENTIALS',
              isHttpAuth: true,
            });
            assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
          });
        });

        test("passErrors with the framework's own error handler keeps status and every challenge", async () => {
          await withMounted(mountSeams({ passErrors: true }), async (base) => {
            const res = await send(`${base}/`);
            assert.equal(res.status, 401);
            assert.deepEqual(res.headers.get('www-authenticate'), ALL_CHALLENGES);
            // The framework's default body names the refusal (its code or its message).
            const refusal = new HttpAuthError('ERR_HTTPAUTH_CREDENTIALS_REQUIRED');
            assert.ok(
              res.body.includes(refusal.code) || res.body.includes(refusal.message),
              res.body,
            );
            if (driver.frameworkErrorBody !== undefined) {
              assert.equal(res.body, driver.frameworkErrorBody(refusal));
            }
          });
        });
      }
    });

    describe('property', () => {
      if (offers('property')) {
        test('the identity goes to the named property; `auth` is left to others', async () => {
          const mounting = mountSeams({ property: 'httpauth', foreignAuth: true });
          await withMounted(mounting, async (base) => {
            const res = await send(`${base}/`, { headers: { authorization: 'Token good-bo' } });
            assert.equal(res.status, 200);
            assert.equal(echo(res).name, 'bo');
            // Another library's `auth` (express-jwt's shape) survives.
            assert.deepEqual(echo(res).other, FOREIGN_AUTH);
          });
        });
      }

      test('invalid seam options throw ERR_HTTPAUTH_INVALID_OPTIONS at registration', async () => {
        for (const seams of INVALID_SEAMS) {
          await assert.rejects(
            async () => driver.registerSeams(packages(), seams),
            (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
            JSON.stringify(seams),
          );
        }
        // A seam the adapter lacks is refused, never silently ignored.
        const lacked = { passErrors: { passErrors: true }, property: { property: 'httpauth' } };
        for (const seam of driver.lacks ?? []) {
          await assert.rejects(
            async () => driver.registerSeams(packages(), lacked[seam]),
            (error: unknown) => (error as HttpAuthError).code === 'ERR_HTTPAUTH_INVALID_OPTIONS',
            seam,
          );
        }
      });
    });
  });
}
