/**
 * What the NETLOGON unit tests share: one NTLM logon as the acceptor hands it to the verifier
 * (the fake DC answers any NTLMv2 response; the real check runs against Samba in
 * test/netlogon-e2e.test.ts), and the WEB1$ machine account's verifier for the SAMDOM domain.
 */
import { machineNtHash } from '../src/netlogon/schannel.js';
import { domainControllerVerifier } from '../src/netlogon/verifier.js';
import type { DomainControllerVerifier } from '../src/netlogon/verifier.js';
import { startFakeDc } from './netlogon-fake-dc.js';
import type { FakeDc } from './netlogon-fake-dc.js';

export const MACHINE_PASSWORD = 'Web1-Machine-Passw0rd!';

export const LOGON = {
  user: 'bob',
  domain: 'SAMDOM',
  workstation: 'CLIENT1',
  flags: 0,
  serverChallenge: Buffer.alloc(8, 1),
  lmChallengeResponse: Buffer.alloc(24),
  ntChallengeResponse: Buffer.alloc(60, 2),
  negotiateMessage: Buffer.alloc(0),
  challengeMessage: Buffer.alloc(0),
  authenticateMessage: Buffer.alloc(0),
};

export interface Web1Options {
  readonly machinePassword?: string;
  readonly maxConnections?: number;
  readonly timeoutMs?: number;
}

/** WEB1$'s verifier for SAMDOM, asking `servers` in order. */
export function web1Verifier(
  servers: string[],
  options: Web1Options = {},
): DomainControllerVerifier {
  return domainControllerVerifier({
    domain: 'SAMDOM',
    servers,
    machineAccount: 'WEB1$',
    machinePassword: options.machinePassword ?? MACHINE_PASSWORD,
    timeoutMs: options.timeoutMs ?? 2000,
    ...(options.maxConnections !== undefined && { maxConnections: options.maxConnections }),
  });
}

/**
 * A fake DC that knows WEB1$ by `dcPassword` (the machine password unless a test wants them to
 * differ) and WEB1$'s verifier pointed at it; both are closed after `run`.
 */
export async function withFakeDc(
  run: (dc: FakeDc, verifier: DomainControllerVerifier) => Promise<void>,
  options: Web1Options & { dcPassword?: string } = {},
): Promise<void> {
  const dc = await startFakeDc(machineNtHash(options.dcPassword ?? MACHINE_PASSWORD));
  const verifier = web1Verifier([`127.0.0.1:${dc.port}`], options);
  try {
    await run(dc, verifier);
  } finally {
    verifier.close();
    dc.close();
  }
}
