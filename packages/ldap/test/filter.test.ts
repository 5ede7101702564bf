/**
 * The objectSid filter: RFC 4515 escaping of every octet, and the filter objects that carry the
 * SID's raw bytes to the server (ldapts' string parser would re-encode bytes above 0x7F as UTF-8).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import asn1 from 'asn1';
import fc from 'fast-check';
import { sidToBytes } from '@httpauth/core/wire';
import { FilterParser } from 'ldapts';
import type { Filter } from 'ldapts';
import { escapeFilterBytes, objectSidFilter, objectSidFilterString } from '../src/filter.js';

const SID = 'S-1-5-21-1004336348-1177238915-682003330-1104';
const SID_HEX = '010500000000000515000000dcf4dc3b833d2b46828ba62850040000';

function ber(filter: Filter): Buffer {
  const writer = new asn1.BerWriter();
  filter.write(writer);
  return writer.buffer;
}

describe('objectSid filters', () => {
  it('escapes every octet as \\xx (RFC 4515 section 3)', () => {
    assert.equal(
      escapeFilterBytes(Buffer.from([0x00, 0x28, 0x29, 0x2a, 0x5c, 0xff])),
      '\\00\\28\\29\\2a\\5c\\ff',
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
        const escaped = escapeFilterBytes(Buffer.from(raw));
        assert.match(escaped, /^(\\[0-9a-f]{2})*$/);
        assert.equal(Buffer.from(escaped.replaceAll('\\', ''), 'hex').compare(Buffer.from(raw)), 0);
      }),
    );
  });

  it('builds one OR over the batch, skipping what is not a SID', () => {
    const text = objectSidFilterString([SID, 'S-1-5-32-544', 'alice)(objectClass=*']);
    const escaped = SID_HEX.replace(/(..)/g, '\\$1');
    assert.equal(
      text,
      `(|(objectSid=${escaped})(objectSid=\\01\\02\\00\\00\\00\\00\\00\\05\\20\\00\\00\\00\\20\\02\\00\\00))`,
    );
  });

  it('sends the raw SID bytes on the wire, where a parsed string filter would not', () => {
    const wire = ber(objectSidFilter([SID]));
    const raw = sidToBytes(SID) as Buffer;
    assert.ok(wire.includes(raw), 'the OCTET STRING holds the 28 SID bytes as they are');
    // The reason for filter objects: ldapts turns \xx into a char and writes UTF-8.
    const parsed = ber(FilterParser.parseString(objectSidFilterString([SID])));
    assert.ok(!parsed.includes(raw), 'ldapts string filters mangle bytes above 0x7F');
  });

  it('encodes a batch as one OR with one equality term per SID', () => {
    const sids = Array.from({ length: 100 }, (_, i) => `S-1-5-21-1-2-3-${1000 + i}`);
    const wire = ber(objectSidFilter(sids));
    assert.equal(wire[0], 0xa1, 'context tag [1] or (RFC 4511 section 4.5.1)');
    for (const sid of sids) assert.ok(wire.includes(sidToBytes(sid) as Buffer));
  });
});
