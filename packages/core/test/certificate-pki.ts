// An internal PKI made with the openssl CLI for the certificate tests: a root CA, an intermediate
// CA (pathlen 0) that issues the client certificates, a CRL from each, and a second, unknown root.
// Everything lives in a fresh temporary directory; keys are throwaway P-256 keys.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The SID the strong-mapping certificate carries (a domain user RID 1105). */
export const TEST_SID = 'S-1-5-21-1004336348-1177238915-682003330-1105';

export interface Issued {
  readonly cert: string;
  /** The certificate followed by its issuing intermediate, as a client presents it. */
  readonly fullChain: string;
  readonly key: string;
  readonly der: Buffer;
}

export interface TestPki {
  readonly dir: string;
  readonly rootPem: string;
  readonly rootCrl: string;
  readonly intermediateCrl: string;
  readonly intermediate: Issued;
  readonly unknownRoot: Issued;
  /** A delegated OCSP responder of the intermediate (id-kp-OCSPSigning). */
  readonly ocspResponder: Issued;
  /** The intermediate's openssl database (index.txt), for `openssl ocsp -index`. */
  readonly intermediateIndex: string;
  /** Chains (leaf first) that break a CA rule, each signed correctly. */
  readonly badChains: {
    /** Issued by alice's end-entity certificate (no cA). */
    readonly issuedByLeaf: Buffer[];
    /** Below a sub-CA of the intermediate, whose pathLenConstraint is 0. */
    readonly pathTooLong: Buffer[];
    /** Below a second intermediate that the root revoked (the leaf itself has no CRL). */
    readonly revokedIntermediate: Buffer[];
  };
  /** A server certificate for 127.0.0.1 and localhost, issued by the root. */
  readonly server: Issued;
  readonly certs: Record<
    | 'upn'
    | 'sid'
    | 'email'
    | 'subject'
    | 'revoked'
    | 'expired'
    | 'noClientAuth'
    | 'noDigitalSignature'
    | 'twoUpns'
    | 'unknownCa'
    | 'withAia'
    | 'shortLived',
    Issued
  >;
  /** Leaf first: the certificate, the intermediate (as a TLS client sends them). */
  chain(cert: Issued): Buffer[];
  /**
   * A further client certificate from the intermediate (`openssl x509 -req`): `serial` in hex
   * (default random), `extensions` an extension section's body (default clientAuth with a SKI).
   */
  issueLeaf(
    file: string,
    subject: string,
    options?: { serial?: string; extensions?: string },
  ): Issued;
  /** Re-issue the intermediate's CRL (after `revoke`), in place. */
  regenerateIntermediateCrl(): void;
  revoke(cert: Issued): void;
  /** Delete the directory (keys included). */
  remove(): void;
  openssl(args: string[]): string;
}

const LEAF_COMMON = `basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid`;

function caConfig(dir: string): string {
  const section = (name: string) => `[${name}]
dir = ${join(dir, name)}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = policy_any
unique_subject = no
copy_extensions = none
`;
  return `[ca]
default_ca = intermediate
${section('root')}
${section('intermediate')}
${section('unknown')}
[policy_any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied

[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[root_ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate_ext]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[upn_ext]
${LEAF_COMMON}
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.test

[two_upns_ext]
${LEAF_COMMON}
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.test, otherName:1.3.6.1.4.1.311.20.2.3;UTF8:mallory@example.test

[sid_ext]
${LEAF_COMMON}
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:bob@example.test
1.3.6.1.4.1.311.25.2 = ASN1:SEQUENCE:sid_names
[sid_names]
name = IMPLICIT:0C,SEQUENCE:sid_other_name
[sid_other_name]
type = OID:1.3.6.1.4.1.311.25.2.1
value = EXPLICIT:0C,OCTETSTRING:${TEST_SID}

[email_ext]
${LEAF_COMMON}
subjectAltName = email:carol@example.test

[plain_ext]
${LEAF_COMMON}

[server_only_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:grace@example.test

[server_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1

[ocsp_ext]
basicConstraints = CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = OCSPSigning

[aia_ext]
${LEAF_COMMON}
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:judy@example.test
authorityInfoAccess = OCSP;URI:http://127.0.0.1:9/

[encipher_only_ext]
basicConstraints = CA:false
keyUsage = critical, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:heidi@example.test
`;
}

/** Build the whole PKI (about forty openssl runs, well under a few seconds). */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'httpauth-pki-'));
  const config = join(dir, 'ca.cnf');
  writeFileSync(config, caConfig(dir));
  for (const name of ['root', 'intermediate', 'unknown']) {
    mkdirSync(join(dir, name, 'issued'), { recursive: true });
    writeFileSync(join(dir, name, 'index.txt'), '');
    writeFileSync(join(dir, name, 'serial'), `${name === 'root' ? '10' : '2000'}\n`);
    writeFileSync(join(dir, name, 'crlnumber'), '01\n');
  }
  const openssl = (args: string[]): string =>
    execFileSync('openssl', args, {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const newKey = (path: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  const selfSigned = (name: string, subject: string) => {
    newKey(join(dir, name, 'ca.key'));
    openssl([
      'req',
      '-config',
      config,
      '-new',
      '-x509',
      '-key',
      join(dir, name, 'ca.key'),
      '-subj',
      subject,
      '-days',
      '3650',
      '-extensions',
      'root_ext',
      '-out',
      join(dir, name, 'ca.pem'),
    ]);
  };
  const issue = (
    ca: string,
    file: string,
    subject: string,
    extensions: string,
    dates: string[] = [],
  ): Issued => {
    const key = join(dir, `${file}.key`);
    const csr = join(dir, `${file}.csr`);
    const cert = join(dir, `${file}.pem`);
    newKey(key);
    openssl(['req', '-config', config, '-new', '-key', key, '-subj', subject, '-out', csr]);
    openssl([
      'ca',
      '-batch',
      '-config',
      config,
      '-name',
      ca,
      '-extensions',
      extensions,
      '-notext',
      ...dates,
      '-in',
      csr,
      '-out',
      cert,
    ]);
    const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER'], { cwd: dir });
    const fullChain = join(dir, `${file}-chain.pem`);
    writeFileSync(
      fullChain,
      readFileSync(cert, 'utf8') + readFileSync(join(dir, ca, 'ca.pem'), 'utf8'),
    );
    return { cert, fullChain, key, der };
  };

  selfSigned('root', '/O=Example/CN=Example Root CA');
  selfSigned('unknown', '/O=Elsewhere/CN=Unknown Root CA');
  const intermediate = issue(
    'root',
    'intermediate/ca',
    '/O=Example/CN=Example Users CA',
    'intermediate_ext',
  );
  const rootCrl = join(dir, 'root.crl.pem');
  const intermediateCrl = join(dir, 'intermediate.crl.pem');
  const gencrl = (ca: string, out: string) =>
    openssl(['ca', '-config', config, '-name', ca, '-gencrl', '-out', out]);

  const certs = {
    upn: issue('intermediate', 'upn', '/O=Example/CN=alice', 'upn_ext'),
    sid: issue('intermediate', 'sid', '/O=Example/CN=bob', 'sid_ext'),
    email: issue('intermediate', 'email', '/O=Example/CN=carol', 'email_ext'),
    subject: issue('intermediate', 'subject', '/O=Example/OU=Machines/CN=build-01', 'plain_ext'),
    revoked: issue('intermediate', 'revoked', '/O=Example/CN=eve', 'upn_ext'),
    expired: issue('intermediate', 'expired', '/O=Example/CN=frank', 'upn_ext', [
      '-startdate',
      '20200101000000Z',
      '-enddate',
      '20210101000000Z',
    ]),
    noClientAuth: issue('intermediate', 'server-only', '/O=Example/CN=grace', 'server_only_ext'),
    noDigitalSignature: issue(
      'intermediate',
      'encipher-only',
      '/O=Example/CN=heidi',
      'encipher_only_ext',
    ),
    twoUpns: issue('intermediate', 'two-upns', '/O=Example/CN=ivan', 'two_upns_ext'),
    unknownCa: issue('unknown', 'unknown-ca', '/O=Elsewhere/CN=alice', 'upn_ext'),
    // Its OCSP responder (port 9, discard) refuses connections.
    withAia: issue('intermediate', 'with-aia', '/O=Example/CN=judy', 'aia_ext'),
    // Valid for a day: it expires before the intermediate's CRL (7 days) is stale.
    shortLived: issue('intermediate', 'short-lived', '/O=Example/CN=mallory', 'upn_ext', [
      '-days',
      '1',
    ]),
  };
  const revoke = (cert: Issued) =>
    openssl(['ca', '-config', config, '-name', 'intermediate', '-revoke', cert.cert]);
  revoke(certs.revoked);

  // Chains that break a rule of the CAs above the leaf, made with `openssl x509 -req` so that
  // nothing stops them being signed.
  const signWith = (issuer: Issued, file: string, subject: string, extensions: string): Issued => {
    const key = join(dir, `${file}.key`);
    const csr = join(dir, `${file}.csr`);
    const cert = join(dir, `${file}.pem`);
    newKey(key);
    openssl(['req', '-config', config, '-new', '-key', key, '-subj', subject, '-out', csr]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      issuer.cert,
      '-CAkey',
      issuer.key,
      '-set_serial',
      `0x${Math.floor(Math.random() * 2 ** 40).toString(16)}`,
      '-days',
      '30',
      '-extfile',
      config,
      '-extensions',
      extensions,
      '-out',
      cert,
    ]);
    const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER'], { cwd: dir });
    return { cert, fullChain: cert, key, der };
  };
  const leafChild = signWith(certs.upn, 'leaf-child', '/O=Example/CN=mallory', 'upn_ext');
  const subCa = signWith(intermediate, 'sub-ca', '/O=Example/CN=Sub CA', 'intermediate_ext');
  const belowSubCa = signWith(subCa, 'below-sub-ca', '/O=Example/CN=oscar', 'upn_ext');
  const oldCa = issue('root', 'old-ca', '/O=Example/CN=Example Old CA', 'intermediate_ext');
  const belowOldCa = signWith(oldCa, 'below-old-ca', '/O=Example/CN=peggy', 'upn_ext');
  openssl(['ca', '-config', config, '-name', 'root', '-revoke', oldCa.cert]);
  const badChains = {
    issuedByLeaf: [leafChild.der, certs.upn.der, intermediate.der],
    pathTooLong: [belowSubCa.der, subCa.der, intermediate.der],
    revokedIntermediate: [belowOldCa.der, oldCa.der],
  };
  gencrl('root', rootCrl);
  gencrl('intermediate', intermediateCrl);
  const server = issue('root', 'server', '/O=Example/CN=localhost', 'server_ext');
  const ocspResponder = issue(
    'intermediate',
    'ocsp',
    '/O=Example/CN=Example Users OCSP',
    'ocsp_ext',
  );
  const unknownRoot: Issued = {
    cert: join(dir, 'unknown', 'ca.pem'),
    fullChain: join(dir, 'unknown', 'ca.pem'),
    key: join(dir, 'unknown', 'ca.key'),
    der: execFileSync('openssl', [
      'x509',
      '-in',
      join(dir, 'unknown', 'ca.pem'),
      '-outform',
      'DER',
    ]),
  };
  return {
    dir,
    rootPem: readFileSync(join(dir, 'root', 'ca.pem'), 'utf8'),
    rootCrl,
    intermediateCrl,
    intermediate,
    unknownRoot,
    server,
    ocspResponder,
    intermediateIndex: join(dir, 'intermediate', 'index.txt'),
    badChains,
    certs,
    chain: (cert) => [cert.der, cert === certs.unknownCa ? unknownRoot.der : intermediate.der],
    regenerateIntermediateCrl: () => gencrl('intermediate', intermediateCrl),
    issueLeaf: (file, subject, options = {}) => {
      const extfile = join(dir, `${file}.ext`);
      writeFileSync(extfile, `[leaf]\n${options.extensions ?? LEAF_COMMON}\n`);
      const key = join(dir, `${file}.key`);
      const csr = join(dir, `${file}.csr`);
      const cert = join(dir, `${file}.pem`);
      newKey(key);
      openssl(['req', '-config', config, '-new', '-key', key, '-subj', subject, '-out', csr]);
      const serial = options.serial ?? Math.floor(Math.random() * 2 ** 40).toString(16);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        intermediate.cert,
        '-CAkey',
        intermediate.key,
        '-set_serial',
        `0x${serial}`,
        '-days',
        '30',
        '-extfile',
        extfile,
        '-extensions',
        'leaf',
        '-out',
        cert,
      ]);
      const der = execFileSync('openssl', ['x509', '-in', cert, '-outform', 'DER'], { cwd: dir });
      const fullChain = join(dir, `${file}-chain.pem`);
      writeFileSync(
        fullChain,
        readFileSync(cert, 'utf8') + readFileSync(intermediate.cert, 'utf8'),
      );
      return { cert, fullChain, key, der };
    },
    revoke,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    openssl,
  };
}

/**
 * The `altSecurityIdentities` value AD stores for a certificate's issuer and serial
 * (`X509:<I>issuer<SR>serial`, KB5014754), computed from openssl's view of the certificate, not
 * from the package's parser: the issuer's RDNs most significant first, the serial's bytes reversed.
 */
export function adIssuerSerial(pki: TestPki, cert: Issued): string {
  const rfc4514 = pki
    .openssl(['x509', '-in', cert.cert, '-noout', '-issuer', '-nameopt', 'RFC2253'])
    .trim()
    .replace(/^issuer=/, '');
  const serial = pki
    .openssl(['x509', '-in', cert.cert, '-noout', '-serial'])
    .trim()
    .replace(/^serial=/, '');
  const even = serial.length % 2 === 0 ? serial : `0${serial}`;
  // The INTEGER's content octets as DER encodes them: a 00 first when the high bit is set
  // (X.690 §8.3.2), which Windows keeps; openssl prints the number without it.
  const octets = /^[89A-F]/i.test(even) ? `00${even}` : even;
  const reversed = Buffer.from(octets, 'hex').reverse().toString('hex').toUpperCase();
  // RFC 4514 lists the least significant RDN first; AD's X509:<I> the most significant first.
  return `X509:<I>${rfc4514.split(',').reverse().join(',')}<SR>${reversed}`;
}
