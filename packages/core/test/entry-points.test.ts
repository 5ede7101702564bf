/**
 * The four entry points of @httpauth/core stay what their modules promise: the root is what an
 * application uses, codecs and primitives live in /wire, the Node glue in /adapter, and no name
 * is published twice (one import path per name, so the CHANGELOG migration stays exact).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as adapter from '../src/adapter.js';
import * as root from '../src/index.js';
import * as node from '../src/node/index.js';
import * as wire from '../src/wire.js';

const names = (module: object) => Object.keys(module).sort();

describe('entry points', () => {
  it('publish each runtime name from exactly one of them', () => {
    const seen = new Map<string, string>();
    for (const [entry, module] of Object.entries({ root, wire, adapter, node })) {
      for (const name of names(module)) {
        assert.equal(
          seen.get(name),
          undefined,
          `${name} is exported by ${seen.get(name)} and ${entry}`,
        );
        seen.set(name, entry);
      }
    }
  });

  it('keep message codecs and primitives out of the root', () => {
    const codecs = names(root).filter((name) =>
      /^(encode|decode|parse|verify|compute|make)[A-Z]|^(ntowfv|gss|ntlm[A-Z])|_OID$/.test(name),
    );
    assert.deepEqual(codecs, []);
    for (const name of ['decodeNegTokenInit', 'encodeKeytab', 'decodeCcache', 'ntowfv1', 'quote']) {
      assert.equal(typeof (wire as Record<string, unknown>)[name], 'function', name);
    }
  });

  it('keep the Node glue out of the root and createHandler alone in /node', () => {
    for (const name of names(adapter)) assert.ok(!(name in root), name);
    assert.deepEqual(names(node), ['createHandler']);
  });
});
