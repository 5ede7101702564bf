// The `directory` certificate mapping rule with a recording lookup: the strong altSecurityIdentities
// forms built from the certificate as Windows' KDC builds them (checked against openssl's own view
// of the certificate: issuer+serial with DER's 00 sign octet kept, SKI as the CA wrote it, SHA-1
// of the whole certificate), the issuer DN in Windows' spelling, the account's SID and groups on
// the principal, the SID extension cross-check, the weak UPN lookup behind allowWeakMappings, and
// a directory that cannot answer. Issuers, ambiguity, account state and caching:
// certificate-directory-accounts.test.ts.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { parseCertificate } from '../src/certificate/x509.js';
import { windowsNameString } from '../src/certificate/windows-name.js';
import { TEST_SID, adIssuerSerial, createTestPki, type Issued } from './certificate-pki.js';
import { ALICE, directory, packageFor, settle } from './certificate-directory-fixtures.js';

const pki = createTestPki();
after(() => pki.remove());
// Issued here, before `now`: a certificate is not valid before the second it was issued in.
const highSerial = pki.issueLeaf('high-serial', '/O=Example/CN=henry', { serial: '8A0102030405' });
const customSki = pki.issueLeaf('custom-ski', '/O=Example/CN=ivy', {
  extensions:
    'basicConstraints = CA:false\nkeyUsage = critical, digitalSignature\n' +
    'extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = 00112233445566778899AABBCCDDEEFF00112233',
});
const noSki = pki.issueLeaf('no-ski', '/O=Example/CN=jack', {
  extensions:
    'basicConstraints = CA:false\nkeyUsage = critical, digitalSignature\n' +
    'extendedKeyUsage = clientAuth\nsubjectKeyIdentifier = none',
});
const now = Date.now() + 1000;
const issuers = [readFileSync(pki.intermediate.cert, 'utf8')];

const issuerSerialForm = (cert: Issued): string => adIssuerSerial(pki, cert);

function skiForm(cert: Issued): string {
  const text = pki.openssl(['x509', '-in', cert.cert, '-noout', '-ext', 'subjectKeyIdentifier']);
  const hex = (text.split('\n')[1] ?? '').trim().replace(/:/g, '');
  return `X509:<SKI>${hex.toUpperCase()}`;
}

function sha1Form(cert: Issued): string {
  const text = pki.openssl(['x509', '-in', cert.cert, '-noout', '-fingerprint', '-sha1']);
  return `X509:<SHA1-PUKEY>${text.trim().replace(/^.*=/, '').replace(/:/g, '')}`;
}

const make = (rule: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  packageFor(pki, { mapping: [{ type: 'directory', issuers, ...rule } as never], ...extra });

describe('the directory mapping rule (altSecurityIdentities, KB5014754)', () => {
  it('asks for the issuer+serial, SKI and SHA1-PUKEY forms, and takes the account, SID and groups', async () => {
    const cert = pki.certs.subject;
    const { lookup, queries } = directory({ [issuerSerialForm(cert)]: ALICE });
    const { principal, code } = await settle(
      make({ lookup }).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(code, undefined);
    assert.deepEqual(queries[0]?.altSecurityIdentities, [
      issuerSerialForm(cert),
      skiForm(cert),
      sha1Form(cert),
    ]);
    assert.equal(queries[0]?.upn, undefined, 'no UPN asked without byUpn');
    assert.equal(principal?.name, 'alice@SAMDOM.TEST');
    assert.equal(principal?.userSid, ALICE.sid);
    assert.deepEqual(principal?.groupSids, ALICE.groupSids);
    assert.deepEqual(
      [principal?.certificate?.strength, principal?.certificate?.rule],
      ['strong', 'altSecurityIdentities'],
    );
  });

  it('X509:<SR> keeps the 00 octet DER puts before a serial whose high bit is set, reversed last', async () => {
    const cert = highSerial;
    const form = 'X509:<I>O=Example,CN=Example Users CA<SR>0504030201' + '8A00';
    assert.equal(issuerSerialForm(cert), form, 'the helper agrees with the DER encoding');
    const { lookup } = directory({ [form.toLowerCase()]: ALICE });
    const { principal } = await settle(
      make({ lookup }).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(principal?.name, ALICE.name, 'matched ignoring case, as AD compares it');
  });

  it('X509:<SHA1-PUKEY> is the SHA-1 of the whole certificate (its thumbprint)', async () => {
    const cert = pki.certs.email;
    const { lookup } = directory({ [sha1Form(cert)]: ALICE });
    const { principal } = await settle(
      make({ lookup }).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(principal?.certificate?.rule, 'altSecurityIdentities');
    assert.equal(principal?.certificate?.strength, 'strong');
  });

  it('X509:<SKI> is the extension as the CA wrote it; without the extension there is no SKI form', async () => {
    // Windows reads the extension and neither checks it against the key nor computes one.
    const custom = customSki;
    const { lookup } = directory({ 'X509:<SKI>00112233445566778899AABBCCDDEEFF00112233': ALICE });
    const mapped = await settle(make({ lookup }).authenticateConnection(pki.chain(custom), now));
    assert.equal(mapped.principal?.name, ALICE.name);
    const bare = noSki;
    const recording = directory({});
    await settle(make({ lookup: recording.lookup }).authenticateConnection(pki.chain(bare), now));
    const forms = recording.queries[0]?.altSecurityIdentities ?? [];
    assert.deepEqual(
      forms.map((f) => f.replace(/>.*$/, '>')),
      ['X509:<I>', 'X509:<SHA1-PUKEY>'],
    );
  });

  it('refuses an account whose SID is not the one in the certificate SID extension', async () => {
    const cert = pki.certs.sid;
    const other = directory({ [issuerSerialForm(cert)]: ALICE });
    const refused = await settle(
      make({ lookup: other.lookup }).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(refused.code, 'ERR_HTTPAUTH_CERT_UNMAPPED');
    const same = directory({ [issuerSerialForm(cert)]: { ...ALICE, sid: TEST_SID } });
    const accepted = await settle(
      make({ lookup: same.lookup }).authenticateConnection(pki.chain(cert), now),
    );
    assert.equal(accepted.principal?.userSid, TEST_SID);
  });

  it('looks the UPN up only with byUpn, which is weak and needs allowWeakMappings', async () => {
    const { lookup, queries } = directory({ 'upn:alice@example.test': ALICE });
    assert.throws(() => make({ lookup, byUpn: true }), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    const pkg = make({ lookup, byUpn: true }, { allowWeakMappings: true });
    const { principal } = await settle(pkg.authenticateConnection(pki.chain(pki.certs.upn), now));
    assert.equal(queries.at(-1)?.upn, 'alice@example.test');
    assert.deepEqual(
      [principal?.name, principal?.certificate?.strength, principal?.certificate?.rule],
      [ALICE.name, 'weak', 'directory-upn'],
    );
  });

  it('a directory that cannot answer refuses the logon (503), it does not fall through', async () => {
    const lookup = { findAccounts: () => Promise.reject(new Error('ECONNREFUSED')) };
    const pkg = packageFor(pki, {
      mapping: [{ type: 'directory', lookup, issuers }, { type: 'sid' }],
    });
    const { code } = await settle(pkg.authenticateConnection(pki.chain(pki.certs.sid), now));
    assert.equal(code, 'ERR_HTTPAUTH_CREDENTIAL_SOURCE_FAILED');
  });

  it('refuses a rule without a lookup function', () => {
    for (const lookup of [undefined, {}, { findAccounts: 'no' }, { findAccount: () => [] }]) {
      assert.throws(() => make({ lookup }), { code: 'ERR_HTTPAUTH_INVALID_OPTIONS' });
    }
  });
});

describe("Windows' spelling of a Name in altSecurityIdentities (CertNameToStr, X.500 keys)", () => {
  const subjectOf = (subject: string, extra: string[] = []): Buffer => {
    const pem = execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        '/dev/null',
        '-days',
        '1',
        '-subj',
        subject,
        ...extra,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return parseCertificate(
      Buffer.from(pem.toString().replace(/-----[^-]+-----|\s/g, ''), 'base64'),
    ).subjectDer;
  };

  it('most significant RDN first, CryptoAPI keys (S, E, DC), commas without spaces', () => {
    assert.equal(
      windowsNameString(subjectOf('/DC=test/DC=samdom/OU=Users/CN=Users CA')),
      'DC=test,DC=samdom,OU=Users,CN=Users CA',
    );
    assert.equal(
      windowsNameString(
        subjectOf('/C=DE/ST=Bavaria/L=Munich/O=Example/CN=Bob/emailAddress=bob@example.test'),
      ),
      'C=DE,S=Bavaria,L=Munich,O=Example,CN=Bob,E=bob@example.test',
    );
  });

  it('quotes values with separators, quotes (doubled) or edge spaces, never backslash-escapes', () => {
    assert.equal(
      windowsNameString(subjectOf('/O=Example\\, Inc./CN=Alice "Al" Smith')),
      'O="Example, Inc.",CN="Alice ""Al"" Smith"',
    );
    assert.equal(
      windowsNameString(subjectOf('/O=a=b/OU=x;y/CN= #1<2>')),
      'O="a=b",OU="x;y",CN=" #1<2>"',
    );
  });

  it('names an attribute CryptoAPI has no key for by its OID; a multi-valued RDN with a space', () => {
    assert.equal(
      windowsNameString(subjectOf('/O=Example/CN=carol+UID=c1', ['-multivalue-rdn']))
        .split(',')[1]
        ?.split(' ')
        .sort()
        .join(' '),
      'CN=carol OID.0.9.2342.19200300.100.1.1=c1',
    );
  });

  it('refuses a Name that is not DER', () => {
    for (const bad of [
      Buffer.alloc(0),
      Buffer.from([0x30, 0x03, 0x31, 0x01]),
      Buffer.from('30', 'hex'),
    ]) {
      assert.throws(() => windowsNameString(bad), { code: 'ERR_HTTPAUTH_ASN1_MALFORMED' });
    }
  });
});
