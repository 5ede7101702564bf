/**
 * The peer for the netlogon suite: winbind's `ntlm_auth --helper-protocol=ntlm-server-1` (what
 * Squid and FreeRADIUS run), one helper process per request in flight, each fed the NTLMv2
 * response for a server challenge of its own. It runs on the DC host against the DC's own
 * winbindd (the harness's samba starts one), which checks the response locally: there is no
 * member server and no NETLOGON hop, so this is a lower bound on winbind's cost on a member.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';

import { ntowfv1, ntowfv2 } from '@httpauth/core/wire';

/** MS-NLMP §2.2.2.7 NTLMv2_CLIENT_CHALLENGE with MsvAvNbDomainName and MsvAvEOL. */
/**
 * NTProofStr = HMAC-MD5(ResponseKeyNT, ServerChallenge || temp) (MS-NLMP 3.3.2): the client's
 * half, computed here so the peer needs only the published primitives.
 */
function ntProofStr(responseKeyNt: Buffer, serverChallenge: Buffer, blob: Buffer): Buffer {
  return createHmac('md5', responseKeyNt).update(serverChallenge).update(blob).digest();
}

function clientBlob(domain: string): Buffer {
  const time = Buffer.alloc(8);
  time.writeBigUInt64LE((BigInt(Date.now()) + 11_644_473_600_000n) * 10_000n);
  const name = Buffer.from(domain, 'utf16le');
  const pair = Buffer.alloc(4);
  pair.writeUInt16LE(2, 0);
  pair.writeUInt16LE(name.length, 2);
  const header = Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([
    header,
    time,
    randomBytes(8),
    Buffer.alloc(4),
    pair,
    name,
    Buffer.alloc(8),
  ]);
}

export interface Helper {
  /** One logon; resolves with its round-trip time (ms). */
  logon(): Promise<number>;
  close(): void;
}

export function startHelper(
  configFile: string,
  account: { user: string; password: string; domain: string },
): Helper {
  const child: ChildProcess = spawn(
    'ntlm_auth',
    [`--configfile=${configFile}`, '--helper-protocol=ntlm-server-1'],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let answer: string[] = [];
  let waiting: ((lines: string[]) => void) | undefined;
  lines.on('line', (line) => {
    if (line === '.') {
      if (answer.length === 0) return; // the terminator of an empty reply: nothing to answer
      const done = waiting;
      const reply = answer;
      answer = [];
      waiting = undefined;
      done?.(reply);
    } else answer.push(line);
  });
  const key = ntowfv2(ntowfv1(account.password), account.user, account.domain);
  return {
    async logon() {
      const challenge = randomBytes(8);
      const blob = clientBlob(account.domain);
      const response = Buffer.concat([ntProofStr(key, challenge, blob), blob]);
      const t0 = performance.now();
      const reply = await new Promise<string[]>((resolve) => {
        waiting = resolve;
        child.stdin?.write(
          `Username: ${account.user}\nNT-Domain: ${account.domain}\n` +
            `LANMAN-Challenge: ${challenge.toString('hex')}\n` +
            `NT-Response: ${response.toString('hex')}\n.\n`,
        );
      });
      const ms = performance.now() - t0;
      if (!reply.includes('Authenticated: Yes')) throw new Error(`ntlm_auth: ${reply.join(' | ')}`);
      return ms;
    },
    close() {
      child.stdin?.end();
      child.kill();
    },
  };
}

/** `total` logons over `helpers.length` helpers in parallel; logons/s and each round trip. */
export async function loadHelpers(
  helpers: readonly Helper[],
  total: number,
): Promise<{ perSecond: number; times: number[] }> {
  const times: number[] = [];
  let started = 0;
  const worker = async (helper: Helper): Promise<void> => {
    while (started < total) {
      started++;
      times.push(await helper.logon());
    }
  };
  const t0 = performance.now();
  await Promise.all(helpers.map(worker));
  return { perSecond: total / ((performance.now() - t0) / 1000), times };
}

/** The harness's samba starts winbindd a moment after the KDC answers: wait for `wbinfo -p`. */
export async function waitForWinbind(): Promise<void> {
  const { execFile } = await import('node:child_process');
  for (let attempt = 0; ; attempt++) {
    const ok = await new Promise<boolean>((resolve) =>
      execFile('wbinfo', ['-p'], { timeout: 5000 }, (error) => resolve(error === null)),
    );
    if (ok) return;
    if (attempt > 120) throw new Error('winbindd of the Samba DC never answered wbinfo -p');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
