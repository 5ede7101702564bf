// Shared by the directory-rule tests: a recording CertificateAccountLookup over a table of
// altSecurityIdentities values (and `upn:` keys), an account, and a package factory.
import {
  clientCertificate,
  type CertificateAccountQuery,
  type ClientCertificateOptions,
  type ConnectionResult,
  type DirectoryAccount,
} from '../src/certificate/index.js';
import type { TestPki } from './certificate-pki.js';

/** userAccountControl NORMAL_ACCOUNT (MS-ADTS §2.2.16): enabled. */
export const NORMAL_ACCOUNT = 0x200;

export const ALICE: DirectoryAccount = {
  name: 'alice@SAMDOM.TEST',
  sid: 'S-1-5-21-1-2-3-1104',
  groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1110'],
  upn: 'alice@samdom.test',
  matchedBy: 'altSecurityIdentities',
  userAccountControl: NORMAL_ACCOUNT,
};

/**
 * A directory that maps altSecurityIdentities values (or `upn:<upn>`) to accounts, comparing
 * values ignoring case as AD compares String(Unicode) attributes; `entries` may change between
 * calls (an administrator editing AD).
 */
export function directory(entries: Record<string, DirectoryAccount | DirectoryAccount[]>) {
  const queries: CertificateAccountQuery[] = [];
  const find = (key: string): DirectoryAccount[] => {
    const hits = Object.entries(entries)
      .filter(([value]) => value.toUpperCase() === key.toUpperCase())
      .flatMap(([, account]) => account);
    return [...new Map(hits.map((a) => [a.sid, a])).values()];
  };
  return {
    queries,
    entries,
    lookup: {
      async findAccounts(query: CertificateAccountQuery): Promise<DirectoryAccount[]> {
        queries.push(query);
        const strong = [...new Set(query.altSecurityIdentities.flatMap(find))];
        if (strong.length > 0) return strong;
        if (query.upn === undefined) return [];
        return find(`upn:${query.upn}`).map((a) => ({ ...a, matchedBy: 'upn' as const }));
      },
    },
  };
}

export function packageFor(pki: TestPki, extra: Partial<ClientCertificateOptions>) {
  return clientCertificate({
    ca: pki.rootPem,
    revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
    ...extra,
  });
}

export async function settle(result: Promise<ConnectionResult>) {
  const settled = await result;
  if (settled.type === 'complete') return { principal: settled.principal, code: undefined };
  return { principal: undefined, code: settled.type === 'reject' ? settled.error.code : '' };
}
