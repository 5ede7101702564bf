/**
 * Real Negotiate clients for the end-to-end tests, each run as a child process with the Kerberos
 * environment (KRB5_CONFIG, KRB5CCNAME) it is given:
 *  - Debian curl `--negotiate -u :` (MIT GSS-API SPNEGO; with gss-ntlmssp and no ticket it sends
 *    SPNEGO-wrapped NTLM);
 *  - python3-requests-kerberos with mutual authentication REQUIRED (a raw Kerberos token; it
 *    verifies our AP-REP and fails the request if it does not);
 *  - python3-gssapi as a hand-driven initiator: SPNEGO or raw krb5, delegation, channel bindings,
 *    and it processes our final token so mutual authentication is checked too;
 *  - headless Chromium: see chromium.ts.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ClientResult {
  readonly status: number;
  readonly body: string;
  readonly stderr: string;
}

function run(
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env, timeout: timeoutMs, maxBuffer: 8 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end();
  });
}

/** curl --negotiate: the status line is appended after the body by -w. */
export async function curlNegotiate(
  url: string,
  env: NodeJS.ProcessEnv,
  options: {
    user?: string;
    insecure?: boolean;
    http2PriorKnowledge?: boolean;
    /** HTTP/2 over TLS (ALPN), falling back to HTTP/1.1 when the server asks for it. */
    http2?: boolean;
  } = {},
): Promise<ClientResult> {
  const args = ['-sS', '--negotiate', '-u', options.user ?? ':', '-w', '\n%{http_code}'];
  if (options.insecure === true) args.push('-k');
  if (options.http2PriorKnowledge === true) args.push('--http2-prior-knowledge');
  if (options.http2 === true) args.push('--http2');
  args.push(url);
  const { stdout, stderr } = await run('curl', args, env);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut), stderr };
}

const REQUESTS_KERBEROS = `
import sys, json, requests
from requests_kerberos import HTTPKerberosAuth, REQUIRED
r = requests.get(sys.argv[1], auth=HTTPKerberosAuth(mutual_authentication=REQUIRED), timeout=30)
print(json.dumps({"status": r.status_code, "body": r.text}))
`;

const GSSAPI_INITIATOR = `
import sys, json, base64, hashlib, http.client, ssl
import gssapi, gssapi.raw
a = json.loads(sys.argv[1])
mech = gssapi.OID.from_int_seq(a["mech"])
flags = gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection
if a.get("delegate"):
    flags |= gssapi.RequirementFlag.delegate_to_peer
if a["tls"]:
    conn = http.client.HTTPSConnection(a["host"], a["port"], context=ssl._create_unverified_context(), timeout=30)
else:
    conn = http.client.HTTPConnection(a["host"], a["port"], timeout=30)
conn.connect()
cb = None
if a.get("binding") in ("right", "wrong"):
    cert = conn.sock.getpeercert(binary_form=True)
    digest = hashlib.sha256(cert if a["binding"] == "right" else cert + b"x").digest()
    cb = gssapi.raw.ChannelBindings(application_data=b"tls-server-end-point:" + digest)
name = gssapi.Name(a["service"], gssapi.NameType.hostbased_service)
creds = None
if a.get("negMechs"):
    # SPNEGO credentials restricted to (and listing) these mechanisms in this order.
    creds = gssapi.Credentials(usage="initiate", mechs=[mech])
    gssapi.raw.set_neg_mechs(creds, [gssapi.OID.from_int_seq(m) for m in a["negMechs"]])
ctx = gssapi.SecurityContext(name=name, usage="initiate", mech=mech, flags=flags, channel_bindings=cb, creds=creds)
out = {"status": 0, "body": "", "complete": False, "legs": 0, "bodies": []}
try:
    token = ctx.step()
except gssapi.raw.misc.GSSError as e:
    out["gssError"] = str(e)
    print(json.dumps(out))
    sys.exit(0)
while True:
    out["legs"] += 1
    conn.request("GET", a["path"], headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()})
    r = conn.getresponse()
    body = r.read().decode()
    out["status"], out["body"] = r.status, body
    out["bodies"].append(body)
    header = r.getheader("WWW-Authenticate") or ""
    reply = None
    for part in header.split(","):
        part = part.strip()
        if part.startswith("Negotiate "):
            reply = base64.b64decode(part[10:])
    if r.status == 200:
        if reply is not None and not ctx.complete:
            ctx.step(reply)
        out["complete"] = ctx.complete
        break
    if r.status != 401 or reply is None or ctx.complete or out["legs"] > 4:
        out["challenge"] = header
        break
    try:
        token = ctx.step(reply)
    except gssapi.raw.misc.GSSError as e:
        # The initiator read our token and failed on it (a KRB-ERROR, a bad MIC): report why.
        out["gssError"] = str(e)
        break
    if token is None:
        break
print(json.dumps(out))
`;

async function python(
  dir: string,
  name: string,
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<Record<string, unknown>> {
  const path = join(dir, name);
  await writeFile(path, script);
  const { stdout, stderr } = await run('/usr/bin/python3', [path, ...args], env);
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return { ...(JSON.parse(line) as Record<string, unknown>), stderr };
  } catch {
    return { status: 0, body: '', stderr: stderr.slice(-2000) };
  }
}

export async function requestsKerberos(
  dir: string,
  url: string,
  env: NodeJS.ProcessEnv,
): Promise<ClientResult> {
  const result = await python(dir, 'requests_kerberos_client.py', REQUESTS_KERBEROS, [url], env);
  return {
    status: Number(result.status),
    body: String(result.body),
    stderr: String(result.stderr),
  };
}

export const SPNEGO_MECH = '1.3.6.1.5.5.2';
export const KRB5_MECH = '1.2.840.113554.1.2.2';
export const NTLMSSP_MECH = '1.3.6.1.4.1.311.2.2.10';

export interface GssapiOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly tls?: boolean;
  readonly mech?: string;
  readonly delegate?: boolean;
  /** Channel bindings: none, the server certificate's, or a wrong one. */
  readonly binding?: 'none' | 'right' | 'wrong';
  /** The GSS host-based service name to ask a ticket for (default HTTP@localhost). */
  readonly service?: string;
  /** SPNEGO's mechanism list, in this order (gss_set_neg_mechs). */
  readonly negMechs?: readonly string[];
}

export interface GssapiResult extends ClientResult {
  /** The initiator's context completed (our final token verified: mutual authentication). */
  readonly complete: boolean;
  readonly legs: number;
  /** Every response body, first leg first. */
  readonly bodies: readonly string[];
  readonly challenge?: string;
  /** The initiator's GSS-API error, when processing our token failed (e.g. a KRB-ERROR). */
  readonly gssError?: string;
}

export async function gssapiRequest(
  dir: string,
  options: GssapiOptions,
  env: NodeJS.ProcessEnv,
): Promise<GssapiResult> {
  const args = JSON.stringify({
    host: options.host,
    port: options.port,
    path: options.path,
    tls: options.tls === true,
    mech: options.mech ?? SPNEGO_MECH,
    delegate: options.delegate === true,
    binding: options.binding ?? 'none',
    service: options.service ?? 'HTTP@localhost',
    negMechs: options.negMechs ?? null,
  });
  const result = await python(dir, 'gssapi_initiator.py', GSSAPI_INITIATOR, [args], env);
  return {
    status: Number(result.status),
    body: String(result.body),
    stderr: String(result.stderr),
    complete: result.complete === true,
    legs: Number(result.legs ?? 0),
    bodies: Array.isArray(result.bodies) ? result.bodies.map(String) : [],
    ...(typeof result.challenge === 'string' ? { challenge: result.challenge } : {}),
    ...(typeof result.gssError === 'string' ? { gssError: result.gssError } : {}),
  };
}

/**
 * A Windows-style SPNEGO initiator built from impacket's Kerberos (a second, non-MIT Kerberos
 * implementation): it lists the mechanisms as Windows does (Microsoft's Kerberos OID first, then
 * krb5, then NTLMSSP), sends an optimistic AP-REQ with mutual-required, and checks that our
 * answer names Microsoft's OID as supportedMech and that the AP-REP decrypts with the session
 * key and echoes its authenticator time. The service ticket is read from an MIT ccache.
 */
const IMPACKET_WINDOWS_STYLE = `
import sys, json, base64, struct, datetime, urllib.request, urllib.error
from pyasn1.codec.der import decoder, encoder
from pyasn1.type.univ import noValue
from impacket.krb5 import constants
from impacket.krb5.types import Principal, KerberosTime, Ticket
from impacket.krb5.ccache import CCache
from impacket.krb5.asn1 import AP_REQ, AP_REP, EncAPRepPart, Authenticator, TGS_REP, seq_set
from impacket.krb5.gssapi import CheckSumField, GSS_C_MUTUAL_FLAG, GSS_C_INTEG_FLAG, GSS_C_SEQUENCE_FLAG, GSS_C_REPLAY_FLAG, KRB5_AP_REQ
from impacket.spnego import SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech, ASN1_AID, ASN1_OID, asn1encode
url, ccache, user, realm, spn = sys.argv[1:6]
user_name = Principal(user, type=constants.PrincipalNameType.NT_PRINCIPAL.value)
# The service ticket comes from the MIT ccache (kvno put it there): impacket's own TGS-REQ has no
# authenticator checksum, which Samba's KDC refuses.
credential = CCache.loadFile(ccache).getCredential("%s@%s" % (spn, realm))
service = credential.toTGS()
tgs, cipher, session_key = service["KDC_REP"], service["cipher"], service["sessionKey"]
ticket = Ticket()
ticket.from_asn1(decoder.decode(tgs, asn1Spec=TGS_REP())[0]["ticket"])
ap_req = AP_REQ()
ap_req["pvno"] = 5
ap_req["msg-type"] = int(constants.ApplicationTagNumbers.AP_REQ.value)
ap_req["ap-options"] = constants.encodeFlags([constants.APOptions.mutual_required.value])
seq_set(ap_req, "ticket", ticket.to_asn1)
auth = Authenticator()
auth["authenticator-vno"] = 5
auth["crealm"] = realm
seq_set(auth, "cname", user_name.components_to_asn1)
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
auth["cusec"] = now.microsecond
auth["ctime"] = KerberosTime.to_asn1(now)
auth["cksum"] = noValue
auth["cksum"]["cksumtype"] = 0x8003
chk = CheckSumField()
chk["Lgth"] = 16
chk["Flags"] = GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_REPLAY_FLAG
auth["cksum"]["checksum"] = chk.getData()
auth["seq-number"] = 0
ap_req["authenticator"] = noValue
ap_req["authenticator"]["etype"] = cipher.enctype
ap_req["authenticator"]["cipher"] = cipher.encrypt(session_key, 11, encoder.encode(auth), None)
blob = SPNEGO_NegTokenInit()
blob["MechTypes"] = [TypesMech["MS KRB5 - Microsoft Kerberos 5"], TypesMech["KRB5 - Kerberos 5"], TypesMech["NTLMSSP - Microsoft NTLM Security Support Provider"]]
blob["MechToken"] = struct.pack("B", ASN1_AID) + asn1encode(struct.pack("B", ASN1_OID) + asn1encode(TypesMech["KRB5 - Kerberos 5"]) + KRB5_AP_REQ + encoder.encode(ap_req))
request = urllib.request.Request(url, headers={"Authorization": "Negotiate " + base64.b64encode(blob.getData()).decode()})
try:
    response = urllib.request.urlopen(request, timeout=30)
    status, body, header = response.status, response.read().decode(), response.headers.get("WWW-Authenticate", "")
except urllib.error.HTTPError as e:
    status, body, header = e.code, e.read().decode(), e.headers.get("WWW-Authenticate", "")
out = {"status": status, "body": body, "mutual": False}
if header.startswith("Negotiate "):
    reply = SPNEGO_NegTokenResp(base64.b64decode(header[10:]))
    out["supportedMechIsMicrosoft"] = reply["SupportedMech"] == TypesMech["MS KRB5 - Microsoft Kerberos 5"]
    framed = reply["ResponseToken"]
    # RFC 2743 framing: 0x60, length, OID TLV, token id 02 00, AP-REP.
    pos = 2 if framed[1] < 0x80 else 2 + (framed[1] & 0x7f)
    pos += 2 + framed[pos + 1]
    if framed[pos:pos + 2] == bytes([2, 0]):
        ap_rep = decoder.decode(framed[pos + 2:], asn1Spec=AP_REP())[0]
        plain = cipher.decrypt(session_key, 12, ap_rep["enc-part"]["cipher"])
        part = decoder.decode(plain, asn1Spec=EncAPRepPart())[0]
        out["mutual"] = int(part["cusec"]) == now.microsecond
print(json.dumps(out))
`;

export interface ImpacketResult extends ClientResult {
  /** Our AP-REP decrypted with the session key and echoed the authenticator's time. */
  readonly mutual: boolean;
  readonly supportedMechIsMicrosoft: boolean;
}

/** `ccache`: a FILE ccache path already holding the ticket for `spn` (run kvno first). */
export async function impacketWindowsStyle(
  dir: string,
  url: string,
  ccache: string,
  user: { name: string; realm: string },
  spn: string,
): Promise<ImpacketResult> {
  const result = await python(
    dir,
    'impacket_windows_style.py',
    IMPACKET_WINDOWS_STYLE,
    [url, ccache, user.name, user.realm, spn],
    process.env,
  );
  return {
    status: Number(result.status),
    body: String(result.body),
    stderr: String(result.stderr),
    mutual: result.mutual === true,
    supportedMechIsMicrosoft: result.supportedMechIsMicrosoft === true,
  };
}

/** `klist -e` of a ccache: the enctypes (session key, ticket) of the ticket for `service`. */
export async function ticketEnctypes(
  ccache: string,
  service: string,
  env: NodeJS.ProcessEnv,
): Promise<{ session: string; ticket: string } | undefined> {
  const { stdout } = await run('klist', ['-e', '-c', ccache], env);
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!(lines[i] ?? '').includes(service)) continue;
    for (let j = i; j < Math.min(i + 3, lines.length); j++) {
      const match = /Etype \(skey, tkt\): ([^,]+), (\S+)/.exec(lines[j] ?? '');
      if (match !== null) return { session: match[1] as string, ticket: match[2] as string };
    }
  }
  return undefined;
}

/**
 * The environment of a Negotiate client that has no Kerberos ticket and no KDC to ask: SPNEGO
 * then falls back to NTLM through gss-ntlmssp, which reads the user's password from
 * NTLM_USER_FILE (`DOMAIN:user:password` lines). Files are written under `dir`.
 */
export async function ntlmFallbackEnv(
  dir: string,
  user: { domain: string; name: string; password: string },
): Promise<NodeJS.ProcessEnv> {
  const users = join(dir, 'ntlm-users');
  await writeFile(users, `${user.domain}:${user.name}:${user.password}\n`);
  const krb5 = join(dir, 'krb5-none.conf');
  await writeFile(krb5, '[libdefaults]\n dns_lookup_realm = false\n dns_lookup_kdc = false\n');
  return {
    ...process.env,
    NTLM_USER_FILE: users,
    KRB5_CONFIG: krb5,
    KRB5CCNAME: `FILE:${join(dir, 'no-such-ccache')}`,
  };
}
