/**
 * The host-name check. Clients build the service principal from the host name: browsers from
 * the name in the URL after following CNAMEs, MIT clients (rdns = true, the default) from the
 * reverse lookup of its address. When forward and reverse disagree, different clients ask for
 * tickets to different SPNs, and only the one in the keytab works.
 */
import { lookup, lookupService } from 'node:dns/promises';
import { finding, type Finding } from './findings.js';

/**
 * What {@link checkHost} checks: the host name clients put in URLs and, optionally, the SPN to
 * compare it with.
 */
export interface HostCheckOptions {
  readonly host: string;
  /** The SPN the keytab check found (`HTTP/host@REALM`), to compare host names with. */
  readonly spn?: string;
}

function spnHost(spn: string): string | undefined {
  const match = /^[^/]+\/([^@]+)/.exec(spn);
  return match?.[1]?.toLowerCase();
}

/**
 * Checks the DNS that Kerberos clients rely on to name the service: the host must resolve, each of
 * its addresses should reverse-resolve to the same name (MIT clients with `rdns = true` ask a
 * ticket for the reverse name, browsers for the name in the URL), and the SPN's host should be the
 * one clients use. A host that does not resolve is a `fail`; a mismatch is a `warn`.
 */
export async function checkHost(options: HostCheckOptions): Promise<Finding[]> {
  const host = options.host.toLowerCase();
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch (error) {
    return [
      finding(
        'dns',
        'fail',
        `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      ),
    ];
  }
  const out = [finding('dns', 'ok', `${host} -> ${addresses.map((a) => a.address).join(', ')}`)];
  for (const { address } of addresses) {
    let name: string;
    try {
      name = (await lookupService(address, 0)).hostname.toLowerCase();
    } catch {
      out.push(
        finding(
          'dns',
          'warn',
          `${address} has no reverse name: MIT clients with rdns = true fall back to ${host}`,
        ),
      );
      continue;
    }
    if (name === host) out.push(finding('dns', 'ok', `${address} -> ${name} (reverse agrees)`));
    else {
      out.push(
        finding(
          'dns',
          'warn',
          `${address} -> ${name}: MIT clients (rdns = true) ask for HTTP/${name}, browsers for HTTP/${host}; the keytab needs both or the reverse record fixed`,
        ),
      );
    }
  }
  const fromSpn = options.spn === undefined ? undefined : spnHost(options.spn);
  if (fromSpn !== undefined && fromSpn !== host) {
    out.push(finding('dns', 'warn', `the SPN names ${fromSpn}, the clients use ${host}`));
  }
  return out;
}
