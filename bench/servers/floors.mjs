// Floors for the HTTP suite (issue 16): what any implementation must spend, measured on the same
// server, framework and load as httpauth, so a miss against "no auth" can be read against what is
// reachable at all. Neither is authentication to deploy: they exist to be measured.
//
// 'noop': a middleware that only sets the request's auth object (and nothing else): the cost the
//   framework charges for one authentication middleware on a request that needs no work, which is
//   what an NTLM-authenticated keep-alive connection asks of httpauth.
// 'digest-floor': the work RFC 7616 forces on a Digest server per request once everything that
//   can be cached is cached, as httpauth caches it: H(A1) stored, H(A2) per resource (§3.4.3),
//   the nonce's authenticity once per nonce (here: it is one this process minted), so per request
//   the request-digest KD(H(A1), nonce:nc:cnonce:qop:H(A2)) (§3.4.1), a constant-time comparison,
//   the nc replay check (§3.3, §5.4), rspauth (the same KD with an empty method, §3.5) and the
//   Authentication-Info header. It locates the four values it needs in the header without
//   parsing the rest, and serves one user and one resource.
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const FLOOR_AUTH = new Set(['noop', 'digest-floor']);

const USER = 'alice';
const PASSWORD = 'Wonderland1';
const REALM = 'bench@httpauth';
const PATH = '/api';
const PRINCIPAL = Object.freeze({ name: USER, user: USER, realm: REALM, mechanism: 'floor' });
const AUTH = Object.freeze({ principal: PRINCIPAL });

/** The quoted value after `name="` (a leading space keeps `nonce` apart from `cnonce`). */
function quoted(header, name) {
  const at = header.indexOf(` ${name}="`);
  if (at === -1) return undefined;
  const start = at + name.length + 3;
  const end = header.indexOf('"', start);
  return end === -1 ? undefined : header.slice(start, end);
}

/** The 8 hex digits after ` nc=`. */
function ncOf(header) {
  const at = header.indexOf(' nc=');
  return at === -1 ? undefined : header.slice(at + 4, at + 12);
}

function digestFloor() {
  const ha1 = createHash('sha256').update(`${USER}:${REALM}:${PASSWORD}`).digest('hex');
  const ha2 = hash('sha256', `GET:${PATH}`, 'hex');
  const ha2Rspauth = hash('sha256', `:${PATH}`, 'hex');
  /** Minted nonce -> highest nc seen (the replay check); bounded by the load's connections. */
  const nonces = new Map();
  return (authorization, setHeader) => {
    if (authorization === undefined || !authorization.startsWith('Digest ')) {
      const nonce = randomBytes(24).toString('base64url');
      nonces.set(nonce, 0);
      setHeader(
        'www-authenticate',
        `Digest realm="${REALM}", qop="auth", algorithm=SHA-256, nonce="${nonce}"`,
      );
      return undefined;
    }
    const nonce = quoted(authorization, 'nonce');
    const cnonce = quoted(authorization, 'cnonce');
    const response = quoted(authorization, 'response');
    const nc = ncOf(authorization);
    const last = nonce === undefined ? undefined : nonces.get(nonce);
    if (last === undefined || cnonce === undefined || response === undefined || nc === undefined) {
      return undefined;
    }
    const expected = hash('sha256', `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`, 'hex');
    if (
      expected.length !== response.length ||
      !timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(response, 'latin1'))
    ) {
      return undefined;
    }
    const count = Number.parseInt(nc, 16);
    if (!(count > last)) return undefined;
    nonces.set(nonce, count);
    const rspauth = hash('sha256', `${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2Rspauth}`, 'hex');
    setHeader(
      'authentication-info',
      `qop=auth, rspauth="${rspauth}", cnonce="${cnonce}", nc=${nc}`,
    );
    return AUTH;
  };
}

/**
 * The floor as one synchronous step: (Authorization value, setHeader) -> the auth object to
 * attach, or undefined for a 401 (with its challenge set through setHeader).
 */
export function floorStep(kind) {
  if (kind === 'noop') return () => AUTH;
  if (kind === 'digest-floor') return digestFloor();
  throw new Error(`unknown floor ${kind}`);
}
