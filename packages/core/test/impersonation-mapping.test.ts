import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isHttpAuthError } from '../src/errors.js';
import {
  createPrincipalMapper,
  isValidLocalName,
  mappingInput,
  parseRule,
} from '../src/impersonation/mapping.js';
import type { Principal } from '../src/principal.js';

// As the acceptors build them: EXAMPLE.TEST is the keytab's realm, EXAMPLE / SAMDOM the NTLM
// domain; a principal of any other realm is not local and keeps its full name as `user`.
const kerberos = (name: string): Principal => {
  const localRealm = name.split('@')[1] === 'EXAMPLE.TEST';
  return {
    name,
    user: localRealm ? (name.split('@')[0] as string) : name,
    realm: name.split('@')[1],
    localRealm,
    mechanism: 'Kerberos',
  };
};
const ntlm = (domain: string, user: string, userSid?: string): Principal => {
  const localRealm = ['EXAMPLE', 'SAMDOM'].includes(domain.toUpperCase());
  return {
    name: `${domain}\\${user}`,
    user: localRealm ? user : `${domain}\\${user}`,
    realm: domain,
    localRealm,
    mechanism: 'NTLM',
    ...(userSid === undefined ? {} : { userSid }),
  };
};
const digest = (name: string): Principal => ({
  name,
  user: name,
  realm: 'intranet',
  mechanism: 'Digest',
});

const invalidOptions = (error: unknown): boolean =>
  isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_INVALID_OPTIONS';

describe('principal -> local user mapping', () => {
  it('strips the realm by default, for one-component principals only', () => {
    const map = createPrincipalMapper();
    assert.equal(map(kerberos('alice@EXAMPLE.TEST')), 'alice');
    assert.equal(map(kerberos('HTTP/web.example@EXAMPLE.TEST')), undefined);
    assert.equal(map(ntlm('EXAMPLE', 'bob')), 'bob');
    assert.equal(map(digest('carol')), 'carol');
  });

  it('maps no principal of a realm that is not local by default (issue 12 finding 5)', () => {
    const map = createPrincipalMapper();
    assert.equal(map(kerberos('alice@OTHER.TEST')), undefined);
    assert.equal(map(ntlm('CHILD', 'alice')), undefined);
    // Without the acceptor's verdict (a hand-built principal), a Kerberos or NTLM name is not local.
    assert.equal(
      map({ name: 'alice@EXAMPLE.TEST', user: 'alice', mechanism: 'Kerberos' }),
      undefined,
    );
    // An explicit rule still maps them.
    const ruled = createPrincipalMapper({
      rules: ['RULE:[1:$1@$0](.*@OTHER\\.TEST)s/@.*$/-other/'],
    });
    assert.equal(ruled(kerberos('alice@OTHER.TEST')), 'alice-other');
  });

  it('limits DEFAULT to localRealms when given (Kerberos exactly, NTLM case-insensitively)', () => {
    const map = createPrincipalMapper({ localRealms: ['EXAMPLE.TEST', 'example'] });
    assert.equal(map(kerberos('alice@EXAMPLE.TEST')), 'alice');
    assert.equal(map(kerberos('alice@OTHER.TEST')), undefined);
    assert.equal(map(kerberos('alice@example.test')), undefined);
    assert.equal(map(ntlm('Example', 'bob')), 'bob');
    assert.equal(map(ntlm('OTHER', 'bob')), undefined);
  });

  it('applies the explicit map first: names, NTLM names folded, SIDs', () => {
    const map = createPrincipalMapper({
      map: {
        'alice@EXAMPLE.TEST': 'alice2',
        'EXAMPLE\\Bob': 'robert',
        'S-1-5-21-1-2-3-1104': 'sidmapped',
      },
      rules: [],
    });
    assert.equal(map(kerberos('alice@EXAMPLE.TEST')), 'alice2');
    // Kerberos names are case-sensitive.
    assert.equal(map(kerberos('ALICE@EXAMPLE.TEST')), undefined);
    assert.equal(map(ntlm('example', 'BOB')), 'robert');
    assert.equal(map(ntlm('X', 'y', 'S-1-5-21-1-2-3-1104')), 'sidmapped');
    assert.equal(map(ntlm('X', 'z')), undefined, 'no rules: nothing else maps');
  });

  it('implements auth_to_local RULE selection, match and substitution', () => {
    const map = createPrincipalMapper({
      rules: [
        'RULE:[2:$1%$2@$0](.*%admin@EXAMPLE\\.TEST)s/%admin@.*$/-adm/',
        'RULE:[1:$1@$0](.*@CORP\\.TEST)s/@.*//',
        'RULE:[1:$1](svc_.*)s/svc_/service-/g',
        'DEFAULT',
      ],
      localRealms: ['EXAMPLE.TEST'],
    });
    assert.equal(map(kerberos('alice/admin@EXAMPLE.TEST')), 'alice-adm');
    assert.equal(map(kerberos('alice/root@EXAMPLE.TEST')), undefined);
    assert.equal(map(kerberos('dave@CORP.TEST')), 'dave');
    assert.equal(map(kerberos('svc_backup@ELSEWHERE')), 'service-backup');
    assert.equal(map(kerberos('erin@EXAMPLE.TEST')), 'erin');
    assert.equal(map(kerberos('erin@ELSEWHERE')), undefined);
  });

  it('requires the rule regex to match the whole selected string', () => {
    const rule = parseRule('RULE:[1:$1@$0](alice@EXAMPLE)s/@.*//');
    assert.equal(rule({ components: ['alice'], realm: 'EXAMPLE' }), 'alice');
    assert.equal(rule({ components: ['malice'], realm: 'EXAMPLE' }), undefined);
    assert.equal(rule({ components: ['alice'], realm: 'EXAMPLE.EVIL' }), undefined);
  });

  it('treats the replacement literally and supports g and chained substitutions', () => {
    const rule = parseRule('RULE:[1:$1]s/a/$&x/gs/b/\\//');
    // s/a/$&x/g gives '$&xb$&xb'; then s/b/\// (first only) gives '$&x/$&xb'.
    assert.equal(rule({ components: ['abab'], realm: 'R' }), '$&x/$&xb');
    const simple = parseRule('RULE:[1:$1]s/a/$&/g');
    assert.equal(simple({ components: ['aa'], realm: '' }), '$&$&');
  });

  it('refuses results that are not plausible local names', () => {
    const map = createPrincipalMapper({ rules: ['RULE:[1:$1@$0]', 'DEFAULT'] });
    // The first rule matches and yields a name with '@': allowed (SSSD fully-qualified names).
    assert.equal(map(kerberos('alice@EXAMPLE.TEST')), 'alice@EXAMPLE.TEST');
    const strict = createPrincipalMapper();
    assert.equal(strict(kerberos('1000@EXAMPLE.TEST')), undefined, 'all digits reads as a uid');
    assert.equal(strict(kerberos('-rf@EXAMPLE.TEST')), undefined, 'would read as an option');
    assert.equal(strict(kerberos('a b@EXAMPLE.TEST')), undefined);
    assert.equal(strict(kerberos('a:b@EXAMPLE.TEST')), undefined);
    assert.equal(strict(digest('x/y')), undefined);
    assert.equal(strict(kerberos('@EXAMPLE.TEST')), undefined);
  });

  it('lower-cases when asked', () => {
    const map = createPrincipalMapper({ lowercase: true });
    assert.equal(map(ntlm('SAMDOM', 'Alice')), 'alice');
  });

  it('rejects malformed rules and map values at creation', () => {
    for (const rules of [
      ['RULE:'],
      ['RULE:[0:$1]'],
      ['RULE:[1:$2]'],
      ['RULE:[1:$1](unclosed'],
      ['RULE:[1:$1]([)'],
      ['RULE:[1:$1]s/a/b'],
      ['RULE:[1:$1]x/a/b/'],
      ['NOPE'],
    ]) {
      assert.throws(() => createPrincipalMapper({ rules }), invalidOptions, rules[0]);
    }
    assert.throws(() => createPrincipalMapper({ map: { a: '0' } }), invalidOptions);
    assert.throws(() => createPrincipalMapper({ map: { a: 'x y' } }), invalidOptions);
  });

  it('splits NTLM and Kerberos names into rule input', () => {
    assert.deepEqual(mappingInput(kerberos('a/b@R')), { components: ['a', 'b'], realm: 'R' });
    assert.deepEqual(mappingInput(kerberos('a\\/b@R')), { components: ['a/b'], realm: 'R' });
    assert.deepEqual(mappingInput(ntlm('DOM', 'u')), { components: ['u'], realm: 'DOM' });
    assert.deepEqual(mappingInput(digest('u@x')), { components: ['u@x'], realm: '' });
  });

  it('only ever throws INVALID_OPTIONS on random and mutated rule text', () => {
    const valid = 'RULE:[2:$1%$2@$0](.*%admin@EXAMPLE\\.TEST)s/%admin@.*$/-adm/g';
    const check = (text: string): void => {
      try {
        const rule = parseRule(text);
        rule({ components: ['a', 'b'], realm: 'R' });
      } catch (error) {
        assert.ok(invalidOptions(error), String(error));
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 60 }), (text) => check(`RULE:${text}`)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: valid.length }),
        fc.integer({ min: 0, max: valid.length }),
        fc.string({ maxLength: 4 }),
        (from, to, insert) =>
          check(valid.slice(0, Math.min(from, to)) + insert + valid.slice(Math.max(from, to))),
      ),
    );
  });

  it('only ever returns undefined or a valid local name, and throws nothing, on random names', () => {
    const map = createPrincipalMapper({
      rules: ['RULE:[2:$1](.*)s/x/y/g', 'DEFAULT'],
    });
    fc.assert(
      fc.property(
        fc.string({ maxLength: 40 }),
        fc.constantFrom('Kerberos', 'NTLM', 'Digest', 'Basic') as fc.Arbitrary<
          Principal['mechanism']
        >,
        (name, mechanism) => {
          const result = map({ name, user: name, mechanism });
          assert.ok(result === undefined || isValidLocalName(result));
        },
      ),
    );
  });
});
