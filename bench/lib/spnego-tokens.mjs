// SPNEGO NegTokenInit tokens with an optimistic Kerberos AP-REQ and mutual authentication, as
// curl --negotiate and browsers send them, made by MIT's own GSS-API client (python3-gssapi) from
// a kinit'd ccache of the throwaway realm: `count` distinct tokens (a new context each).
import { execFileSync } from 'node:child_process';

const PROGRAM = [
  'import base64, sys, gssapi',
  "name = gssapi.Name('HTTP@localhost', gssapi.NameType.hostbased_service)",
  "spnego = gssapi.OID.from_int_seq('1.3.6.1.5.5.2')",
  'for _ in range(int(sys.argv[1])):',
  "    ctx = gssapi.SecurityContext(name=name, usage='initiate', mech=spnego, flags=[gssapi.RequirementFlag.mutual_authentication])",
  '    print(base64.b64encode(ctx.step()).decode())',
].join('\n');

/** `kdc` from test/harness/mit-kdc.ts with principals alice (password alice-bench-pw) and HTTP/localhost. */
export function makeSpnegoTokens(kdc, count) {
  const env = kdc.kinit('alice', 'alice-bench-pw').env;
  return execFileSync('/usr/bin/python3', ['-c', PROGRAM, String(count)], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .trim()
    .split('\n');
}
