# Writes N distinct Kerberos initiator tokens for one service, one base64 token per line, made by
# MIT's own GSS-API client (python3-gssapi) from the ccache in KRB5CCNAME. The benchmark feeds the
# same tokens to httpauth and to its peers, so every acceptor verifies identical input.
#   make-tokens.py COUNT MECH(krb5|spnego) SERVICE(HTTP@localhost)
import base64
import sys

import gssapi

count = int(sys.argv[1])
mech_name = sys.argv[2]
service = sys.argv[3]

mech = gssapi.MechType.kerberos if mech_name == 'krb5' else gssapi.OID.from_int_seq('1.3.6.1.5.5.2')
target = gssapi.Name(service, gssapi.NameType.hostbased_service)
flags = gssapi.RequirementFlag.mutual_authentication | gssapi.RequirementFlag.out_of_sequence_detection
creds = gssapi.Credentials(usage='initiate')
out = sys.stdout
for _ in range(count):
    # A fresh context per token: a new authenticator (ctime/cusec, subkey, sequence number), so
    # every token is a distinct AP-REQ that a replay cache must accept once.
    ctx = gssapi.SecurityContext(name=target, mech=mech, flags=flags, creds=creds, usage='initiate')
    out.write(base64.b64encode(ctx.step()).decode('ascii'))
    out.write('\n')
