/**
 * A file server that serves a directory as the authenticated user: the OS decides who may read
 * what. Each request is authenticated (Digest here; any httpauth package works), its principal
 * mapped to a local user by the impersonation policy, and the file is read by `cat` running as
 * that user (setpriv: uid, gid, supplementary groups), so mode bits, ACLs and every directory on
 * the way apply exactly as they would for the user at a shell. Nothing is read by the server's
 * own identity.
 *
 *   FILE_SERVER_ROOT=/srv/share FILE_SERVER_DIGEST_FILE=/etc/httpauth/users.htdigest \
 *     node --import tsx examples/file-server/server.ts          # as root, from the repo root
 *   curl --digest -u alice:PASSWORD http://127.0.0.1:8090/files/reports/q3.txt
 *
 * Environment: FILE_SERVER_ROOT (required), FILE_SERVER_DIGEST_FILE (an htdigest file, required),
 * FILE_SERVER_REALM (default "files"), FILE_SERVER_ALLOW (comma-separated principals or groups
 * that may be impersonated; default: every mapped non-system user), PORT (default 8090),
 * HOST (default 127.0.0.1).
 */
import { constants, realpathSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import {
  actingContext,
  createAuthenticator,
  createImpersonation,
  digest,
  errorBody,
  htdigestFile,
  isHttpAuthError,
  statusForKind,
  type ActingContext,
  type AuthInfo,
} from '@httpauth/core';
import { httpAuth } from '@httpauth/express';
import express, { type Request, type Response } from 'express';

const CONTENT_TYPES: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    console.error(`file-server: set ${name} (see the comment at the top of server.ts)`);
    process.exit(2);
  }
  return value;
}

const root = realpathSync(required('FILE_SERVER_ROOT'));
const digestFile = required('FILE_SERVER_DIGEST_FILE');
const realm = process.env.FILE_SERVER_REALM ?? 'files';
const allowList = (process.env.FILE_SERVER_ALLOW ?? '')
  .split(',')
  .map((entry) => entry.trim())
  .filter((entry) => entry !== '');

const impersonation = createImpersonation({
  allow: allowList.length === 0 ? { anyUser: true } : { principals: allowList, groups: allowList },
});
const authenticator = createAuthenticator({
  packages: [digest({ realm, credentials: htdigestFile(digestFile) })],
  impersonation,
});

/** The path under the root a request names, or undefined when it would leave the root. */
function targetOf(requestPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requestPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const target = resolve(root, `.${decoded}`);
  return target === root || target.startsWith(root + sep) ? target : undefined;
}

function sendError(res: Response, status: number, error: string): void {
  if (res.headersSent) res.destroy();
  else res.status(status).json({ error });
}

/** Stream the file through `cat` running as the user; its failure before any byte is a 403. */
function sendFileAs(user: ActingContext, target: string, res: Response): void {
  const child = user.spawn('cat', ['--', target], { stdio: ['ignore', 'pipe', 'ignore'] });
  const stdout = child.stdout;
  if (stdout === null) return sendError(res, 500, 'spawn');
  let started = false;
  stdout.on('data', (chunk: Buffer) => {
    if (!started) {
      started = true;
      res
        .status(200)
        .type(CONTENT_TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream');
    }
    if (!res.write(chunk)) {
      stdout.pause();
      res.once('drain', () => stdout.resume());
    }
  });
  child.on('error', () => sendError(res, 500, 'spawn'));
  child.on('close', (code) => {
    if (code === 0) {
      if (!started) res.status(200).type('application/octet-stream');
      res.end();
    } else if (!started) {
      // The OS refused the read (it changed since the access check, or a mandatory check said no).
      sendError(res, 403, 'EACCES');
    } else {
      res.destroy();
    }
  });
  res.on('close', () => child.kill());
}

async function serve(req: Request, res: Response): Promise<void> {
  const auth = req.auth as AuthInfo;
  const target = targetOf(req.path);
  if (target === undefined) return sendError(res, 400, 'bad path');
  const user = actingContext(auth.impersonation);
  // Existence as the user sees it: a file behind a directory the user cannot enter is a 404, so
  // the server does not reveal what exists where the user cannot look.
  if (!(await user.access(target, constants.F_OK))) return sendError(res, 404, 'not found');
  const isDirectory = statSync(target).isDirectory();
  const mode = isDirectory ? constants.R_OK | constants.X_OK : constants.R_OK;
  if (!(await user.access(target, mode))) return sendError(res, 403, 'EACCES');
  if (isDirectory) {
    const { stdout } = await user.execFile('ls', ['-1Ap', '--', target]);
    res.json({ directory: req.path, entries: stdout.split('\n').filter((line) => line !== '') });
    return;
  }
  sendFileAs(user, target, res);
}

const app = express();
app.disable('x-powered-by');
app.use(httpAuth(authenticator));
app.get('/whoami', (req, res) => {
  const auth = req.auth as AuthInfo;
  res.json({ name: auth.principal.name, impersonation: auth.impersonation.toJSON() });
});
app.use('/files', (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'method');
  serve(req, res).catch((error: unknown) => {
    if (isHttpAuthError(error)) {
      // Not impersonated (unmapped, not allowed, system account): the policy's answer.
      if (res.headersSent) res.destroy();
      else res.status(statusForKind(error.kind)).json(errorBody(error));
      return;
    }
    console.error('file-server:', error);
    sendError(res, 500, 'internal');
  });
});

const server = app.listen(Number(process.env.PORT ?? 8090), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address() as AddressInfo;
  console.log(
    `file-server: serving ${root} as the authenticated user on http://${address}:${port}/files/`,
  );
  if (process.getuid?.() !== 0) {
    console.log('file-server: not running as root: requests stay at level identify (403)');
  }
});
const shutdown = (): void => {
  server.close(() => {
    void Promise.all([authenticator.close(), impersonation.close()]).then(() => process.exit(0));
  });
  server.closeIdleConnections();
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
