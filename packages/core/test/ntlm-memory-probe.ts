/**
 * Run by ntlm-memory.test.ts in a child started with --expose-gc: measures the memory one
 * pending NTLM handshake costs (state between CHALLENGE and AUTHENTICATE, plus the registry's
 * bookkeeping for it), and prints it as JSON.
 */
import { EventEmitter } from 'node:events';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import { negotiate } from './ntlm-client.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const COUNT = 5000;

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

const authenticator = createAuthenticator({
  packages: [ntlm({ domain: 'EXAMPLE', credentials: () => ntowfv1('x') })],
  connections: { maxPendingHandshakes: COUNT + 1, maxPendingHandshakesPerClient: COUNT + 1 },
});
const header = `NTLM ${negotiate().toString('base64')}`;
// Connections and requests exist before the baseline: only handshake state is measured.
const requests = Array.from({ length: COUNT }, () => ({
  method: 'GET',
  target: '/',
  headers: { authorization: header },
  connection: new EventEmitter(),
  httpVersionMajor: 1,
  secure: false,
}));
// Warm up code paths and caches with one handshake on a connection that is then closed.
const warm = { ...requests[0]!, connection: new EventEmitter() };
await authenticator.authenticate(warm);
warm.connection.emit('close');

const before = used();
for (const request of requests) await authenticator.authenticate(request);
const after = used();
process.stdout.write(
  JSON.stringify({
    pending: authenticator.pendingHandshakes,
    bytesPerHandshake: (after - before) / COUNT,
  }),
);
