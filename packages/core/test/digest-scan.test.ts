// The Digest accept path's single-pass reader (digest/scan.ts) against the RFC 9110 parser
// (grammar/http-auth.ts) + decodeCredentials: on valid, random, mutated, truncated and oversized
// headers, the two readings agree (accept/refuse, the error code, the values), and the reader
// never accepts what the parser refuses.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DigestCredentials } from '../src/digest/credentials.js';
import { decodeChallenge } from '../src/digest/challenge.js';
import { clientResponse } from '../src/digest/compute.js';
import { decodeCredentials, decodeFields, encodeCredentials } from '../src/digest/credentials.js';
import { digest } from '../src/digest/digest.js';
import { scanDigestFields } from '../src/digest/scan.js';
import { HttpAuthError, isHttpAuthError } from '../src/errors.js';
import { parseCredentials, readScheme } from '../src/grammar/http-auth.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import type { Credentials, SecurityPackage } from '../src/security-package.js';

type Reading = { ok: DigestCredentials } | { code: string };

function attempt(read: () => DigestCredentials): Reading {
  try {
    return { ok: read() };
  } catch (error) {
    assert.ok(isHttpAuthError(error), `unexpected ${String(error)}`);
    return { code: error.code };
  }
}

/** What the loop and the package made of a header before the reader existed. */
function general(header: string): Reading {
  return attempt(() => {
    const credentials = parseCredentials(header);
    if (credentials.params === undefined) throw new HttpAuthError('ERR_HTTPAUTH_DIGEST_PARAMS');
    return decodeCredentials(credentials.params);
  });
}

/** The reader where it reads (undefined: it hands the header to the general parser). */
function scanned(header: string): Reading | undefined {
  let rest: number;
  try {
    rest = readScheme(header).rest;
  } catch {
    return undefined;
  }
  const fields = scanDigestFields(header, rest);
  return fields === undefined ? undefined : attempt(() => decodeFields(fields));
}

/** The loop's answer now: the reader's when it reads, else the general parser's. */
function agree(header: string): void {
  const fast = scanned(header);
  if (fast !== undefined) assert.deepEqual(fast, general(header), header);
}

const VALID = encodeCredentials({
  username: 'Mufasa',
  realm: 'http-auth@example.org',
  uri: '/dir/index.html?x=1',
  algorithm: 'SHA-256',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  nc: '00000001',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  qop: 'auth',
  response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
});

describe('the Digest single-pass reader', () => {
  it('reads what every client sends, as the RFC 9110 parser does', () => {
    const fast = scanned(VALID);
    assert.ok(fast !== undefined && 'ok' in fast);
    assert.deepEqual(fast, general(VALID));
    assert.equal(fast.ok.nonce, '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v');
    // Names in any case, BWS around "=", empty list elements and tabs are the grammar's too.
    const loose = VALID.replace('username=', 'UserName =\t').replace(', realm=', ' ,, Realm= ');
    const looseRead = scanned(loose);
    assert.ok(looseRead !== undefined && 'ok' in looseRead);
    assert.deepEqual(looseRead, general(loose));
  });

  it('hands every header it does not read itself to the general parser', () => {
    const handed = [
      'Digest',
      'Digest ',
      'Digest abc==',
      VALID.replace('Mufasa', 'Mu\\"fasa'), // a quoted-pair
      VALID + ', foo=bar', // an unknown parameter
      VALID + ', realm="x"', // a repeated one
      VALID + ', REALM="x"', // repeated, in another case
      VALID + ', Basic abc', // a second set of credentials
      VALID + ',', // (accepted by both: an empty list element)
      VALID.replace('"Mufasa"', '"Muf\u0001asa"'), // a control in a quoted-string
      VALID.replace('"Mufasa"', '"Muf\u0100asa"'), // not an octet
      VALID.replace('"Mufasa"', '"Mufasa'), // an unterminated one
      VALID.replace('algorithm=SHA-256', 'algorithm='),
      VALID.replace('algorithm=SHA-256', 'algorithm=SHA/256'),
      VALID.replace('username=', 'username'),
      VALID.slice(0, -1),
    ];
    for (const header of handed) agree(header);
    assert.equal(scanned(VALID + ', foo=bar'), undefined);
    assert.equal(scanned(VALID + ', realm="x"'), undefined);
    assert.equal(scanned(VALID + ', REALM="x"'), undefined);
    assert.equal(scanned(VALID + ', Basic abc'), undefined);
    assert.equal(scanned(VALID.replace('Mufasa', 'Mu\\"fasa')), undefined);
    assert.deepEqual(general(VALID + ', realm="x"'), { code: 'ERR_HTTPAUTH_HEADER_MALFORMED' });
    assert.deepEqual(general(VALID + ', Basic abc'), {
      code: 'ERR_HTTPAUTH_MULTIPLE_CREDENTIALS',
    });
  });

  it('refuses oversized values with the same code as the general path', () => {
    const longUri = VALID.replace('/dir/index.html?x=1', '/' + 'a'.repeat(40_000));
    const longNonce = VALID.replace('7ypf/', 'n'.repeat(5000));
    const longResponse = VALID.replace('753927fa', 'a'.repeat(200));
    for (const header of [longUri, longNonce, longResponse]) {
      assert.deepEqual(scanned(header), { code: 'ERR_HTTPAUTH_DIGEST_PARAMS' });
      agree(header);
    }
  });

  it('agrees with the general parser on every truncation of a valid header', () => {
    for (let end = 0; end <= VALID.length; end++) agree(VALID.slice(0, end));
  });

  it('agrees with the general parser on mutated headers', () => {
    const octet = fc.oneof(
      fc.constantFrom(' ', '\t', ',', '=', '"', '\\', '*', '/', '\u0000', '\u007f', '\u00e9'),
      fc.integer({ min: 0, max: 0x17f }).map((code) => String.fromCharCode(code)),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.nat(VALID.length),
            cut: fc.nat(3),
            insert: fc.string({ unit: octet, maxLength: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (edits) => {
          let header = VALID;
          for (const { at, cut, insert } of edits) {
            const i = Math.min(at, header.length);
            header = header.slice(0, i) + insert + header.slice(i + cut);
          }
          agree(header);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('agrees with the general parser on random parameter lists', () => {
    const name = fc.oneof(
      fc.constantFrom(
        'username',
        'username*',
        'realm',
        'nonce',
        'uri',
        'response',
        'algorithm',
        'cnonce',
        'opaque',
        'qop',
        'nc',
        'userhash',
        'NC',
        'Qop',
        'x',
        'usernamE*',
      ),
      fc.string({
        unit: fc.constantFrom('a', 'n', 'c', '*', '-', '!'),
        minLength: 1,
        maxLength: 9,
      }),
    );
    const value = fc.oneof(
      fc.constantFrom('auth', '00000001', 'SHA-256', 'true', 'FALSE', "UTF-8''Mu%C3%A9"),
      fc.stringMatching(/^[0-9a-fA-F]{1,70}$/),
      fc.string({ maxLength: 12 }).map((text) => '"' + text + '"'),
      fc.string({ maxLength: 12 }),
    );
    const separator = fc.constantFrom(', ', ',', ' , ', ',,', ' ', '\t,');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.constantFrom('=', ' =', '= ', ' = '), value), {
          maxLength: 13,
        }),
        separator,
        (params, sep) => {
          agree('Digest ' + params.map(([n, eq, v]) => n + eq + v).join(sep));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('the Digest reader in the loop', () => {
  it("hands the package credentials whose params are still the general parser's", async () => {
    const pkg = digest({
      realm: 'api@example.org',
      algorithms: ['SHA-256'],
      credentials: (user) => (user === 'Mufasa' ? { password: 'Circle of Life' } : undefined),
    });
    const seen: Credentials[] = [];
    // A package that wraps Digest and hands it a copy of what it got.
    const wrapped: SecurityPackage = {
      ...pkg,
      accept: (credentials, context) => {
        seen.push(credentials);
        return pkg.accept({ ...credentials }, context);
      },
    };
    const auth = createAuthenticator({ packages: [wrapped] });
    const request = (authorization?: string) => ({
      method: 'GET',
      target: '/x',
      headers: authorization === undefined ? {} : { authorization },
      httpVersionMajor: 1,
      secure: false,
    });
    const first = await auth.authenticate(request());
    const challenge = decodeChallenge(first.headers[0]?.[1] ?? '');
    const header = encodeCredentials({
      username: 'Mufasa',
      realm: 'api@example.org',
      uri: '/x',
      algorithm: 'SHA-256',
      nonce: challenge.nonce,
      opaque: challenge.opaque,
      qop: 'auth',
      nc: '00000001',
      cnonce: 'abc',
      response: clientResponse({
        hash: 'SHA-256',
        username: 'Mufasa',
        realm: 'api@example.org',
        password: 'Circle of Life',
        method: 'GET',
        uri: '/x',
        nonce: challenge.nonce,
        qop: 'auth',
        nc: '00000001',
        cnonce: 'abc',
      }),
    });
    const decision = await auth.authenticate(request(header));
    assert.equal(decision.type, 'authenticated');
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0]?.params, parseCredentials(header).params);
    assert.equal(seen[0]?.scheme, 'Digest');
  });
});
