/**
 * httpauth with Fastify 5. GET /health is public (route opt-out); GET /whoami and POST /notes
 * need Digest. The users are alice/alicepw and bob/bobpw (users.digest, realm httpauth-demo).
 *
 *   npm run build --workspace=@httpauth/example-fastify-app
 *   PORT=8081 npm start --workspace=@httpauth/example-fastify-app
 *   curl --digest -u alice:alicepw http://127.0.0.1:8081/whoami
 */
import { fileURLToPath } from 'node:url';
import { digest, digestFile } from '@httpauth/core';
import { httpAuth } from '@httpauth/fastify';
import Fastify from 'fastify';

const usersFile = fileURLToPath(new URL('../users.digest', import.meta.url));
const port = Number(process.env.PORT ?? 8081);

const app = Fastify({ logger: { level: 'info' } });

await app.register(httpAuth, {
  packages: [
    digest({
      realm: 'httpauth-demo',
      credentials: digestFile(usersFile),
      algorithms: ['SHA-256', 'MD5'],
      // auth-int protects the body too; the plugin buffers it (up to 64 KiB here) only for
      // clients that choose auth-int, and Fastify still parses it into request.body.
      qop: ['auth', 'auth-int'],
    }),
  ],
  integrityBody: { maxBytes: 64 * 1024 },
});

app.get('/health', { config: { httpauth: false } }, async () => ({ ok: true }));

app.get('/whoami', async (request) => {
  const auth = request.auth;
  if (auth === null) throw new Error('unreachable: httpauth answers unauthenticated requests');
  return { ...auth.principal, impersonation: auth.impersonation.toJSON() };
});

app.post('/notes', async (request) => ({
  from: request.auth?.principal.name,
  received: request.body,
}));

await app.listen({ port, host: '127.0.0.1' });
