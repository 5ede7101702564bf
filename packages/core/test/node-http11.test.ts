// The Node glue's HTTP_1_1_REQUIRED reset (RFC 9113 §8.2.3): NTLM on an HTTP/2 stream is answered
// by resetting the stream, never with a response; everything else is written as before.
import assert from 'node:assert/strict';
import { constants } from 'node:http2';
import { describe, it } from 'node:test';
import { HttpAuthError } from '../src/errors.js';
import type { ErrorCode } from '../src/errors.js';
import type { AuthDecision } from '../src/loop/authenticator.js';
import { resetForHttp11 } from '../src/node/http11.js';
import type { NodeRequest, NodeResponse } from '../src/node/message.js';
import { resolveAdapterOptions } from '../src/node/options.js';
import { sendChallenge } from '../src/node/response.js';

function refusal(code: ErrorCode): AuthDecision & { type: 'respond' } {
  return {
    type: 'respond',
    scheme: 'NTLM',
    status: 400,
    headers: [],
    error: new HttpAuthError(code),
  };
}

/** A fake HTTP/2 compatibility request whose stream records how it was closed. */
function h2Request(destroyed = false): { req: NodeRequest; closed: (number | undefined)[] } {
  const closed: (number | undefined)[] = [];
  const stream = { destroyed, close: (code?: number) => closed.push(code) };
  const req = { httpVersionMajor: 2, headers: {}, complete: true, stream };
  return { req: req as unknown as NodeRequest, closed };
}

/** A fake response that fails the test if anything is written to it. */
function untouchedResponse(): NodeResponse {
  const fail = (): never => assert.fail('nothing may be written after the reset');
  return new Proxy(
    { headersSent: false },
    {
      get: (target, name) => (name === 'headersSent' ? target.headersSent : fail),
      set: fail,
    },
  ) as unknown as NodeResponse;
}

describe('resetForHttp11', () => {
  it('resets an HTTP/2 stream with HTTP_1_1_REQUIRED (0xd)', () => {
    const { req, closed } = h2Request();
    assert.equal(resetForHttp11(req, refusal('ERR_HTTPAUTH_HTTP11_REQUIRED')), true);
    assert.deepEqual(closed, [constants.NGHTTP2_HTTP_1_1_REQUIRED]);
    assert.equal(constants.NGHTTP2_HTTP_1_1_REQUIRED, 0xd);
  });

  it('leaves a stream the client already reset alone, and writes nothing', () => {
    const { req, closed } = h2Request(true);
    assert.equal(resetForHttp11(req, refusal('ERR_HTTPAUTH_HTTP11_REQUIRED')), true);
    assert.deepEqual(closed, []);
  });

  it('does nothing for any other refusal, or for a request that got through', () => {
    for (const code of [
      'ERR_HTTPAUTH_CONNECTION_REQUIRED',
      'ERR_HTTPAUTH_CREDENTIALS_REQUIRED',
      'ERR_HTTPAUTH_SPNEGO_NO_MECH',
    ] as const) {
      const { req, closed } = h2Request();
      assert.equal(resetForHttp11(req, refusal(code)), false, code);
      assert.deepEqual(closed, []);
    }
  });

  it('does nothing over HTTP/1.x or without a stream (the 400 is written instead)', () => {
    const { req, closed } = h2Request();
    const h1 = { ...(req as object), httpVersionMajor: 1 } as unknown as NodeRequest;
    assert.equal(resetForHttp11(h1, refusal('ERR_HTTPAUTH_HTTP11_REQUIRED')), false);
    const streamless = { httpVersionMajor: 2, headers: {} } as unknown as NodeRequest;
    assert.equal(resetForHttp11(streamless, refusal('ERR_HTTPAUTH_HTTP11_REQUIRED')), false);
    assert.deepEqual(closed, []);
  });

  it('sendChallenge resets instead of writing a response', () => {
    const { req, closed } = h2Request();
    sendChallenge(
      req,
      untouchedResponse(),
      refusal('ERR_HTTPAUTH_HTTP11_REQUIRED'),
      resolveAdapterOptions(),
    );
    assert.deepEqual(closed, [constants.NGHTTP2_HTTP_1_1_REQUIRED]);
  });
});
