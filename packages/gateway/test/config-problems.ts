// What the configuration tests read from a refused configuration: every problem it names.
import assert from 'node:assert/strict';
import { GatewayConfigError } from '../src/config.js';

/** The problems `fn` was refused with; fails the test if it was not a GatewayConfigError. */
export function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof GatewayConfigError, String(error));
    return [...error.problems];
  }
  assert.fail('expected a GatewayConfigError');
}

/** The problems as one text, for matching one message among them. */
export const problemText = (fn: () => unknown): string => problems(fn).join('\n');
