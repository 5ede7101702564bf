import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

describe('NTLM pending handshake memory', () => {
  // Measured here: 795 B with the handshake kept as one latin1 string (ntlm-package.ts packState),
  // 940 B when it was a Buffer of its own (a Uint8Array and an ArrayBuffer around the bytes). Over
  // HTTP the socket's share comes on top: 957 B in bench/suites/memory.ts, within issue 16's 1 KiB.
  it('costs less than 864 B per pending handshake in the authenticator', () => {
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
    assert.ok(bytesPerHandshake < 864, `${Math.round(bytesPerHandshake)} bytes per handshake`);
  });
});
