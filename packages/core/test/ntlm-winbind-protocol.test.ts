/**
 * winbind's ntlm-server-1 helper protocol (src/ntlm/winbind-protocol.ts): request formatting,
 * answer parsing, and the output reader's bounds on truncated, oversized and random output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isHttpAuthError } from '../src/errors.js';
import {
  HelperOutputReader,
  MAX_HELPER_BLOCK_BYTES,
  formatHelperRequest,
  helperVerdict,
  isCredentialFailure,
  parseHelperBlock,
} from '../src/ntlm/winbind-protocol.js';

const CHALLENGE = Buffer.from('0123456789abcdef', 'hex');
const NT = Buffer.from('25a98c1c31e81847466b29b2df4680f39958fb8c213a9cc6', 'hex');

function isUnavailable(error: unknown): boolean {
  return isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_WINBIND_UNAVAILABLE';
}

describe('ntlm-server-1 requests', () => {
  it('formats a check with base64 names, so no name can end a line or the request', () => {
    const text = formatHelperRequest({
      challenge: CHALLENGE,
      ntResponse: NT,
      user: 'al\nice\u00e9',
      domain: 'SAMDOM',
    });
    assert.equal(
      text,
      [
        'LANMAN-Challenge: 0123456789abcdef',
        `NT-Response: ${NT.toString('hex')}`,
        `Username:: ${Buffer.from('al\nice\u00e9').toString('base64')}`,
        `NT-Domain:: ${Buffer.from('SAMDOM').toString('base64')}`,
        'Request-User-Session-Key: Yes',
        '.',
        '',
      ].join('\n'),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), (user, domain) => {
        const lines = formatHelperRequest({
          challenge: CHALLENGE,
          ntResponse: NT,
          user,
          domain,
        }).split('\n');
        assert.equal(lines.filter((line) => line === '.').length, 1);
        assert.equal(lines.at(-2), '.');
      }),
    );
  });

  it('sends LANMAN-Response only for LM-only logons, and no NT-Domain when there is none', () => {
    const lm = Buffer.alloc(24, 7);
    const text = formatHelperRequest({
      challenge: CHALLENGE,
      ntResponse: Buffer.alloc(0),
      lmResponse: lm,
      user: 'bob',
      domain: '',
    });
    assert.match(text, new RegExp(`^LANMAN-Response: ${lm.toString('hex')}$`, 'm'));
    assert.doesNotMatch(text, /NT-Response|NT-Domain/);
  });

  it('refuses what the helper would answer with Error:', () => {
    for (const bad of [
      { challenge: Buffer.alloc(7), ntResponse: NT },
      { challenge: CHALLENGE, ntResponse: Buffer.alloc(23) },
      { challenge: CHALLENGE, ntResponse: Buffer.alloc(0), lmResponse: Buffer.alloc(23) },
    ]) {
      assert.throws(() => formatHelperRequest({ ...bad, user: 'a', domain: 'B' }), isUnavailable);
    }
  });
});

describe('ntlm-server-1 answers', () => {
  it('reads Yes with the User-Session-Key, and No with the error', () => {
    const yes = helperVerdict(
      parseHelperBlock([
        'Authenticated: Yes',
        'User-Session-Key: 3F373EA8E4AF954F14FAA506F8EEBDC4',
      ]),
    );
    assert.deepEqual(yes, {
      authenticated: true,
      userSessionKey: Buffer.from('3F373EA8E4AF954F14FAA506F8EEBDC4', 'hex'),
    });
    const no = helperVerdict(
      parseHelperBlock([
        'Authenticated: No',
        `Authentication-Error:: ${Buffer.from('x: y').toString('base64')}`,
      ]),
    );
    assert.deepEqual(no, { authenticated: false, error: 'x: y' });
  });

  it('treats anything else as a broken helper', () => {
    for (const block of [
      ['Authenticated: Yes'],
      ['Authenticated: Yes', 'User-Session-Key: 3F37'],
      ['Authenticated: Yes', 'User-Session-Key: zz373EA8E4AF954F14FAA506F8EEBDC4'],
      ['Authenticated: Maybe'],
      ['Error: hex decode of xyz failed!'],
      ['no key here'],
      [': value'],
      ['Authenticated:: !!notbase64'],
      [],
    ]) {
      assert.throws(() => helperVerdict(parseHelperBlock(block)), isUnavailable, block.join('|'));
    }
  });

  it('tells credential failures (401) from an unavailable winbind (503)', () => {
    for (const failure of [
      'The attempted logon is invalid. This is either due to a bad username or authentication information.',
      'When trying to update a password, this return status indicates that the value provided as the current password is not correct.',
      'The specified account does not exist.',
      'The referenced account is currently disabled and cannot be logged on to.',
      'The user account has been automatically locked because too many invalid logon attempts or password change attempts have been requested.',
      'The user account password has expired.',
      'NT_STATUS_WRONG_PASSWORD',
      'NT_STATUS_ACCOUNT_LOCKED_OUT',
    ]) {
      assert.equal(isCredentialFailure(failure), true, failure);
    }
    for (const outage of [
      'Reading winbind reply failed!',
      'NT_STATUS_NO_LOGON_SERVERS',
      'The specified domain either does not exist or could not be contacted.',
      'NT_STATUS_ACCESS_DENIED',
      '',
    ]) {
      assert.equal(isCredentialFailure(outage), false, outage);
    }
  });
});

describe('HelperOutputReader', () => {
  const answer = 'Authenticated: Yes\nUser-Session-Key: 3F373EA8E4AF954F14FAA506F8EEBDC4\n.\n';

  it('reassembles blocks split anywhere, and skips the empty block after a failure', () => {
    const stream = `Authenticated: No\nAuthentication-Error: x\n.\n.\n${answer}`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new HelperOutputReader();
      const blocks = [...reader.push(stream.slice(0, cut)), ...reader.push(stream.slice(cut))];
      assert.deepEqual(blocks, [
        ['Authenticated: No', 'Authentication-Error: x'],
        ['Authenticated: Yes', 'User-Session-Key: 3F373EA8E4AF954F14FAA506F8EEBDC4'],
      ]);
    }
  });

  it('holds a truncated block back until it ends', () => {
    const reader = new HelperOutputReader();
    assert.deepEqual(reader.push('Authenticated: Ye'), []);
    assert.deepEqual(reader.push('s\nUser-Session-Key: 00\n'), []);
  });

  it('refuses oversized and binary output', () => {
    assert.throws(
      () => new HelperOutputReader().push('x'.repeat(MAX_HELPER_BLOCK_BYTES + 1)),
      isUnavailable,
    );
    const lines = new HelperOutputReader();
    assert.throws(() => {
      for (let i = 0; i < 1000; i++) lines.push(`Filler: ${'y'.repeat(100)}\n`);
    }, isUnavailable);
    assert.throws(
      () => new HelperOutputReader().push('Authenticated: Yes\u0000\n.\n'),
      isUnavailable,
    );
  });

  it('never throws anything but the typed error on random output', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 300 }), { maxLength: 20 }),
        (chunks) => {
          const reader = new HelperOutputReader();
          try {
            for (const chunk of chunks) {
              for (const block of reader.push(chunk)) {
                try {
                  helperVerdict(parseHelperBlock(block));
                } catch (error) {
                  assert.ok(isUnavailable(error));
                }
              }
            }
          } catch (error) {
            assert.ok(isUnavailable(error));
          }
        },
      ),
    );
  });
});
