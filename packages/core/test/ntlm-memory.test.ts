import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

describe('NTLM pending handshake memory', () => {
  it('costs less than 2 KiB per pending handshake', () => {
    const probe = fileURLToPath(new URL('./ntlm-memory-probe.ts', import.meta.url));
    const output = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    const { pending, bytesPerHandshake } = JSON.parse(output) as {
      pending: number;
      bytesPerHandshake: number;
    };
    assert.equal(pending, 5000);
    assert.ok(bytesPerHandshake > 0, String(bytesPerHandshake));
    assert.ok(bytesPerHandshake < 2048, `${Math.round(bytesPerHandshake)} bytes per handshake`);
  });
});
