/**
 * httpauth with Koa 3: everything behind Digest, ctx.state.auth says who the client is. The
 * users are alice/alicepw and bob/bobpw (users.digest, realm httpauth-demo).
 *
 *   npm run build --workspace=@httpauth/example-koa-app
 *   PORT=8082 npm start --workspace=@httpauth/example-koa-app
 *   curl --digest -u bob:bobpw http://127.0.0.1:8082/whoami
 */
import { fileURLToPath } from 'node:url';
import { digest, digestFile } from '@httpauth/core';
import { httpAuth, type HttpAuthState } from '@httpauth/koa';
import Koa from 'koa';

const usersFile = fileURLToPath(new URL('../users.digest', import.meta.url));
const port = Number(process.env.PORT ?? 8082);

const app = new Koa<HttpAuthState>();

app.use(
  httpAuth({
    packages: [
      digest({ realm: 'httpauth-demo', credentials: digestFile(usersFile), nextnonce: true }),
    ],
  }),
);

app.use((ctx) => {
  const { principal, impersonation } = ctx.state.auth;
  ctx.body = { path: ctx.path, ...principal, impersonation: impersonation.toJSON() };
});

app.listen(port, '127.0.0.1', () => {
  console.log(`koa-app listening on http://127.0.0.1:${port}`);
});
