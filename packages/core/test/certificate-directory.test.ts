// The `directory` certificate mapping rule with a recording lookup: the strong altSecurityIdentities
// forms built from the certificate (checked against openssl's own view of it), the account's SID
// and groups on the principal, the SID extension cross-check, disabled and unknown accounts, the
// weak UPN lookup behind allowWeakMappings, and a directory that cannot answer.
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import {
  clientCertificate,
  type CertificateAccountQuery,
  type ClientCertificateOptions,
  type ConnectionResult,
  type DirectoryAccount,
} from '../src/certificate/index.js';
import { TEST_SID, adIssuerSerial, createTestPki, type Issued } from './certificate-pki.js';

const pki = createTestPki();
after(() => pki.remove());
const now = Date.now();

const issuerSerialForm = (cert: Issued): string => adIssuerSerial(pki, cert);

function skiForm(cert: Issued): string {
  const text = pki.openssl(['x509', '-in', cert.cert, '-noout', '-ext', 'subjectKeyIdentifier']);
  const hex = (text.split('\n')[1] ?? '').trim().replace(/:/g, '');
  return `X509:<SKI>${hex.toUpperCase()}`;
}

const ALICE: DirectoryAccount = {
  name: 'alice@SAMDOM.TEST',
  sid: 'S-1-5-21-1-2-3-1104',
  groupSids: ['S-1-5-21-1-2-3-513', 'S-1-5-21-1-2-3-1110'],
  upn: 'alice@samdom.test',
  matchedBy: 'altSecurityIdentities',
  disabled: false,
};

/** A directory that maps given altSecurityIdentities values (or UPNs) to accounts. */
function directory(entries: Record<string, DirectoryAccount>) {
  const queries: CertificateAccountQuery[] = [];
  return {
    queries,
    lookup: {
      async findAccount(query: CertificateAccountQuery) {
        queries.push(query);
        for (const value of query.altSecurityIdentities) {
          if (entries[value] !== undefined) return entries[value];
        }
        const byUpn = query.upn === undefined ? undefined : entries[`upn:${query.upn}`];
        return byUpn === undefined ? undefined : { ...byUpn, matchedBy: 'upn' as const };
      },
    },
  };
}

function make(extra: Partial<ClientCertificateOptions>) {
  return clientCertificate({
    ca: pki.rootPem,
    revocation: { crlFiles: [pki.rootCrl, pki.intermediateCrl] },
    ...extra,
  });
}

async function settle(result: Promise<ConnectionResult>) {
  const settled = await result;
  if (settled.type === 'complete') return { principal: settled.principal, code: undefined };
  return { principal: undefined, code: settled.type === 'reject' ? settled.error.code : '' };
}

describe('the directory mapping rule (altSecurityIdentities, KB5014754)', () => {
  it('asks for the issuer+serial and SKI forms AD stores, and takes the account, SID and groups', async () => {
    const cert = pki.certs.subject;
    const { lookup, queries } = directory({ [issuerSerialForm(cert)]: ALICE });
    const pkg = make({ mapping: [{ type: 'directory', lookup }] });
    const { principal, code } = await settle(pkg.authenticateConnection(pki.chain(cert), now));
    assert.equal(code, undefined);
    assert.deepEqual(queries[0]?.altSecurityIdentities, [issuerSerialForm(cert), skiForm(cert)]);
    assert.equal(queries[0]?.upn, undefined, 'no UPN asked without byUpn');
    assert.equal(principal?.name, 'alice@SAMDOM.TEST');
    assert.equal(principal?.userSid, ALICE.sid);
    assert.deepEqual(principal?.groupSids, ALICE.groupSids);
    assert.deepEqual(
      [principal?.certificate?.strength, principal?.certificate?.rule],
      ['strong', 'altSecurityIdentities'],
    );
  });

  it('matches by the subject key identifier alone', async () => {
    const cert = pki.certs.email;
    const { lookup } = directory({ [skiForm(cert)]: ALICE });
    const { principal } = await settle(
      make({ mapping: [{ type: 'directory', lookup }] }).authenticateConnection(
        pki.chain(cert),
        now,
      ),
    );
    assert.equal(principal?.name, ALICE.name);
  });

  it('refuses an account whose SID is not the one in the certificate SID extension', async () => {
    const cert = pki.certs.sid;
    const other = directory({ [issuerSerialForm(cert)]: ALICE });
    const refused = await settle(
      make({ mapping: [{ type: 'directory', lookup: other.lookup }] }).authenticateConnection(
        pki.chain(cert),
        now,
      ),
    );
    assert.equal(refused.code, 'ERR_HTTPAUTH_CERT_UNMAPPED');
    const same = directory({ [issuerSerialForm(cert)]: { ...ALICE, sid: TEST_SID } });
    const accepted = await settle(
      make({ mapping: [{ type: 'directory', lookup: same.lookup }] }).authenticateConnection(
        pki.chain(cert),
        now,
      ),
    );
    assert.equal(accepted.principal?.userSid, TEST_SID);
  });

  it('a disabled account is refused; an unknown one maps to nothing and the next rule is tried', async () => {
    const cert = pki.certs.subject;
    const disabled = directory({ [issuerSerialForm(cert)]: { ...ALICE, disabled: true } });
    assert.equal(
      (
        await settle(
          make({
            mapping: [{ type: 'directory', lookup: disabled.lookup }],
          }).authenticateConnection(pki.chain(cert), now),
        )
      ).code,
      'ERR_HTTPAUTH_CERT_UNMAPPED',
    );
    const sidCert = pki.certs.sid;
    // A disabled account the certificate names is refused, not mapped by a weaker rule after it.
    const disabledSid = directory({
      [issuerSerialForm(sidCert)]: { ...ALICE, sid: TEST_SID, disabled: true },
    });
    assert.equal(
      (
        await settle(
          make({
            mapping: [{ type: 'directory', lookup: disabledSid.lookup }, { type: 'sid' }],
          }).authenticateConnection(pki.chain(sidCert), now),
        )
      ).code,
      'ERR_HTTPAUTH_CERT_UNMAPPED',
    );
    const empty = directory({});
    const next = await settle(
      make({
        mapping: [{ type: 'directory', lookup: empty.lookup }, { type: 'sid' }],
      }).authenticateConnection(pki.chain(sidCert), now),
    );
    assert.equal(next.principal?.certificate?.rule, 'sid');
  });

  it('looks the UPN up only with byUpn, which is weak and needs allowWeakMappings', async () => {
    const { lookup, queries } = directory({ 'upn:alice@example.test': ALICE });
    assert.throws(() => make({ mapping: [{ type: 'directory', lookup, byUpn: true }] }), {
      code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
    });
    const pkg = make({
      allowWeakMappings: true,
      mapping: [{ type: 'directory', lookup, byUpn: true }],
    });
    const { principal } = await settle(pkg.authenticateConnection(pki.chain(pki.certs.upn), now));
    assert.equal(queries.at(-1)?.upn, 'alice@example.test');
    assert.deepEqual(
      [principal?.name, principal?.certificate?.strength, principal?.certificate?.rule],
      [ALICE.name, 'weak', 'directory-upn'],
    );
  });

  it('a directory that cannot answer refuses the logon (503), it does not fall through', async () => {
    const lookup = {
      findAccount: () => Promise.reject(new Error('ECONNREFUSED')),
    };
    const { code } = await settle(
      make({ mapping: [{ type: 'directory', lookup }, { type: 'sid' }] }).authenticateConnection(
        pki.chain(pki.certs.sid),
        now,
      ),
    );
    assert.equal(code, 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
  });

  it('refuses a rule without a lookup function', () => {
    for (const lookup of [undefined, {}, { findAccount: 'no' }]) {
      assert.throws(() => make({ mapping: [{ type: 'directory', lookup } as never] }), {
        code: 'ERR_HTTPAUTH_INVALID_OPTIONS',
      });
    }
  });
});
