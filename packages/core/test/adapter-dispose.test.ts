import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { disposeWhenDone } from '../src/node/connection.js';
import type { AuthInfo } from '../src/loop/authenticator.js';
import type { NodeResponse } from '../src/node/message.js';
import { identifyContext } from '../src/impersonation/context.js';
import type { ImpersonationContext } from '../src/impersonation/context.js';

const principal = { name: 'alice', user: 'alice', mechanism: 'Digest' as const };

function fakeResponse(): EventEmitter & { writableFinished: boolean; destroyed: boolean } {
  return Object.assign(new EventEmitter(), { writableFinished: false, destroyed: false });
}

describe('disposeWhenDone', () => {
  it('waits for the end of the response to dispose a context that holds something', async () => {
    let disposed = 0;
    const impersonation: ImpersonationContext = {
      level: 'impersonate',
      principal,
      dispose: async () => {
        disposed++;
      },
      toJSON: () => ({}),
    };
    const res = fakeResponse();
    disposeWhenDone(
      res as unknown as NodeResponse,
      { principal, impersonation, context: undefined } as AuthInfo,
    );
    assert.equal(res.listenerCount('finish'), 1);
    res.emit('finish');
    res.emit('close');
    await Promise.resolve();
    assert.equal(disposed, 1);
    assert.equal(res.listenerCount('close'), 0);
  });

  it('adds no listeners for an identify context, which has nothing to revert', () => {
    const res = fakeResponse();
    const auth = { principal, impersonation: identifyContext(principal), context: undefined };
    disposeWhenDone(res as unknown as NodeResponse, auth as AuthInfo);
    assert.equal(res.listenerCount('finish') + res.listenerCount('close'), 0);
  });
});
