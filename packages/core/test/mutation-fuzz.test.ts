/**
 * Mutation fuzzing of captured and freshly produced NTLM, Kerberos/SPNEGO and Digest messages,
 * through the real challenge loop (createAuthenticator, as the adapters call it, and a share of
 * the cases over HTTP through the node handler).
 *
 * Every case asserts:
 *  1. never a 5xx, never an exception other than HttpAuthError (a stray exception becomes
 *     ERR_HTTPAUTH_INTERNAL / 503 in the loop), every refusal has a stable ERR_HTTPAUTH_* code;
 *  2. never acceptance of a message whose authenticated content was changed. The principled
 *     definition, per protocol, is at the top of fixtures/fuzz/{ntlm,spnego-ntlm,kerberos,digest}
 *     -cases.ts: a mutant may succeed only if every byte or field that enters the protocol's
 *     integrity check (the NTLM MIC transcript, NTProofStr's inputs, the mechListMIC's mechanism
 *     list, the RFC 3961 checksums of ticket and authenticator, the Digest response hash and its
 *     uri and method) reaches the server unchanged, and the principal is the original one.
 *     Cleartext no check protects (a ticket's sname, realm, kvno and ap-options, SPNEGO framing,
 *     NTLM flags without a MIC, Digest opaque, header spelling) may change either way;
 *  3. never a second acceptance of one Kerberos authenticator, whatever form it takes (raw krb5,
 *     SPNEGO-wrapped, Microsoft's krb5 OID, a rewritten or aliased sname, re-encoded DER), across
 *     the whole run; one Digest (nonce, nc) exactly once (never twice, and not used up by a
 *     refused mutant).
 *
 * HTTPAUTH_FUZZ_CASES (default 3000) sets the number of cases, HTTPAUTH_FUZZ_SEED the seed; a
 * failure names the family, case index and seed. The mutations are seeded; keys, confounders and
 * nonces are fresh per run (node:crypto), so a case reproduces from its seed up to those values.
 * A run keeps one user's replay records in one in-memory store for the replay window: beyond
 * about 150 000 cases (where a per-principal store bound may answer 503), run several seeds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { digest } from '../src/digest/digest.js';
import { createAuthenticator } from '../src/loop/authenticator.js';
import { encodeKeytab, Keytab } from '../src/kerberos/keytab.js';
import { negotiate } from '../src/negotiate/negotiate.js';
import { ntowfv1 } from '../src/ntlm/keys.js';
import { ntlm } from '../src/ntlm/ntlm-package.js';
import { randomKey } from './fixtures/kerberos/forge.js';
import { DIGEST_REALM, DIGEST_USERS, digestCase } from './fixtures/fuzz/digest-cases.js';
import {
  kerberosCase,
  forgedToken,
  SERVICE_NAMES,
  type AcceptedAuthenticators,
  type KerberosToken,
} from './fixtures/fuzz/kerberos-cases.js';
import { Rng } from './fixtures/fuzz/mutators.js';
import { NTLM_USER, ntlmCase } from './fixtures/fuzz/ntlm-cases.js';
import { spnegoNtlmCase } from './fixtures/fuzz/spnego-ntlm-cases.js';
import { Tally } from './fixtures/fuzz/oracle.js';
import { direct, overHttp, type Transport } from './fixtures/fuzz/transport.js';
import { waitFor } from '../../../test/support/wait.js';
import { mitTokens, sambaTokens } from './fixtures/kerberos/captured-tokens.js';

const CASES = Number(process.env['HTTPAUTH_FUZZ_CASES'] ?? 3000);
const SEED = Number(process.env['HTTPAUTH_FUZZ_SEED'] ?? 0x1209);
assert.ok(Number.isSafeInteger(CASES) && CASES > 0, 'HTTPAUTH_FUZZ_CASES');
assert.ok(Number.isSafeInteger(SEED), 'HTTPAUTH_FUZZ_SEED');

/** The share of each family's cases; a twentieth more of each goes over HTTP. */
const share = (fraction: number): number => Math.max(1, Math.round(CASES * fraction));
const overHttpShare = (n: number): number => Math.max(5, Math.round(n / 20));

/** An independent stream per family and case, so one case reproduces alone from its index. */
function rngFor(family: number, index: number): Rng {
  return new Rng((SEED ^ Math.imul(family + 1, 0x9e3779b1)) + index);
}

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A captured fixture's keytab, time and tokens, MIT's and Samba's alike. */
interface CapturedFixture {
  capturedAt: number;
  keytab: string;
  tokens?: Record<string, string>;
  token?: string;
  realm?: string;
}

function report(t: { diagnostic(message: string): void }, name: string, tally: Tally): void {
  t.diagnostic(`${name === '' ? '' : `${name}: `}${tally.summary()}`);
  if (tally.neutralAccepted > 0) t.diagnostic(`  accepted as neutral: ${tally.neutralSummary()}`);
}

/** Runs `run` over the direct transport, then a share over HTTP through the node handler. */
async function both(
  authenticator: ReturnType<typeof createAuthenticator>,
  count: number,
  run: (transport: Transport, index: number) => Promise<void>,
): Promise<void> {
  const viaLoop = direct(authenticator);
  for (let i = 0; i < count; i++) await run(viaLoop, i);
  const viaHttp = await overHttp(authenticator);
  try {
    for (let i = 0; i < overHttpShare(count); i++) await run(viaHttp, count + i);
  } finally {
    await viaHttp.stop();
  }
}

const ntlmOptions = {
  domain: NTLM_USER.domain,
  credentials: (user: string) =>
    user.toLowerCase() === NTLM_USER.user ? ntowfv1(NTLM_USER.password) : undefined,
};

/** One service key under two SPNs, as Active Directory keeps an account's SPN aliases. */
const serviceKey = randomKey(18);
const keytab = Keytab.parse(
  encodeKeytab(
    SERVICE_NAMES.map((components) => ({
      realm: 'EXAMPLE.TEST',
      components,
      kvno: 2,
      key: serviceKey,
    })),
  ),
);

describe(`mutation fuzz (${CASES} cases, seed ${SEED})`, () => {
  const accepted: AcceptedAuthenticators = new Map();

  test('NTLM: mutated NEGOTIATE, CHALLENGE, AUTHENTICATE and header spelling', async (t) => {
    const auth = createAuthenticator({ packages: [ntlm(ntlmOptions)] });
    const withMic = new Tally();
    const withoutMic = new Tally();
    await both(auth, share(0.15), (transport, i) =>
      ntlmCase(rngFor(0, i), transport, withMic, { seed: SEED, index: i }, true),
    );
    await both(auth, share(0.1), (transport, i) =>
      ntlmCase(rngFor(1, i), transport, withoutMic, { seed: SEED, index: i }, false),
    );
    report(t, 'with MIC', withMic);
    report(t, 'without MIC', withoutMic);
    // The oracle is not vacuous: untouched exchanges do authenticate, mutants are refused.
    assert.ok(withMic.originalsAccepted > 0 && withMic.refused > 0);
    // No handshake state outlives its connection (the HTTP sockets close asynchronously).
    await waitFor(() => auth.pendingHandshakes === 0);
  });

  test('SPNEGO-wrapped NTLM: mutated lists, messages, mechListMICs and spellings', async (t) => {
    const auth = createAuthenticator({
      packages: [negotiate({ kerberos: { keytab }, ntlm: ntlmOptions })],
    });
    const tally = new Tally();
    await both(auth, share(0.1), (transport, i) =>
      spnegoNtlmCase(rngFor(6, i), transport, tally, { seed: SEED, index: i }),
    );
    report(t, '', tally);
    assert.ok(tally.originalsAccepted > 0 && tally.refused > 0);
    await waitFor(() => auth.pendingHandshakes === 0);
  });

  describe('Kerberos and SPNEGO', () => {
    let cusec = 0;

    test('forged AP-REQs: mutated, then replayed in every form', async (t) => {
      const auth = createAuthenticator({
        packages: [negotiate({ kerberos: { keytab } })],
        now: () => NOW,
      });
      const tally = new Tally();
      await both(auth, share(0.25), (transport, i) =>
        kerberosCase(
          rngFor(2, i),
          transport,
          tally,
          { seed: SEED, index: i, family: 'Kerberos (forged)' },
          forgedToken(serviceKey, NOW, ++cusec),
          accepted,
          true,
        ),
      );
      report(t, '', tally);
      assert.ok(tally.originalsAccepted > 0 && tally.refused > 0);
    });

    const capturedTitle =
      'captured MIT krb5 and Samba AD tokens: mutated and replayed across the run';
    test(capturedTitle, async (t) => {
      const tally = new Tally();
      const sources: CapturedFixture[] = [mitTokens, sambaTokens];
      let index = 0;
      for (const [s, source] of sources.entries()) {
        const auth = createAuthenticator({
          packages: [
            negotiate({
              kerberos: { keytab: Keytab.parse(Buffer.from(source.keytab, 'base64')) },
            }),
          ],
          now: () => source.capturedAt,
        });
        const realm = source.realm ?? 'EXAMPLE.TEST';
        const tokens: KerberosToken[] = Object.values(
          source.tokens ?? { token: source.token as string },
        ).map((b64) => ({ gss: Buffer.from(b64, 'base64'), principal: `alice@${realm}` }));
        await both(auth, share(0.05), (transport, i) => {
          const rng = rngFor(3 + s, i);
          return kerberosCase(
            rng,
            transport,
            tally,
            {
              seed: SEED,
              index: index++,
              family: `Kerberos (captured ${s === 0 ? 'MIT' : 'Samba'})`,
            },
            rng.pick(tokens),
            accepted,
            false,
          );
        });
      }
      report(t, '', tally);
      // Each captured authenticator is accepted exactly once in the whole run (the first use).
      assert.equal(
        tally.originalsAccepted + tally.neutralAccepted,
        [...accepted.values()].filter((v) => v.includes('captured')).length,
      );
    });
  });

  test('Digest: mutated parameters, spellings, methods and targets', async (t) => {
    const auth = createAuthenticator({
      packages: [
        digest({
          realm: DIGEST_REALM,
          credentials: (user, realm) =>
            realm === DIGEST_REALM && Object.hasOwn(DIGEST_USERS, user)
              ? { password: DIGEST_USERS[user] as string }
              : undefined,
        }),
      ],
    });
    const tally = new Tally();
    await both(auth, share(0.25), (transport, i) =>
      digestCase(rngFor(5, i), transport, tally, { seed: SEED, index: i }),
    );
    report(t, '', tally);
    assert.ok(tally.originalsAccepted > 0 && tally.refused > 0);
  });
});
