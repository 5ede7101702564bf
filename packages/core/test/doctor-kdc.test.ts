/**
 * The doctor's KDC probe against a scripted KDC on loopback UDP: the clock difference read from
 * the KRB-ERROR's stime/susec (RFC 4120 §5.9.1) is ok within a minute, a warning beyond, and a
 * failure beyond the 300 s skew; a KDC that answers something else than Kerberos is no answer.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkKdc } from '../src/doctor/kdc.js';
import { encodeKrbError } from '../src/kerberos/messages/krb-error.js';

const REALM = 'DOCTOR.TEST';

describe('doctor: KDC probe and clock skew', () => {
  let dir: string;
  let socket: Socket;
  let conf: string;
  /** What the scripted KDC sends back: set per test. */
  let answer: () => Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'doctor-kdc-'));
    socket = createSocket('udp4');
    socket.on('message', (_request, peer) => socket.send(answer(), peer.port, peer.address));
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', done));
    conf = join(dir, 'krb5.conf');
    await writeFile(
      conf,
      `[libdefaults]\n  dns_lookup_kdc = false\n[realms]\n  ${REALM} = {\n    kdc = udp/127.0.0.1:${socket.address().port}\n  }\n`,
    );
  });

  after(async () => {
    socket.close();
    await rm(dir, { recursive: true, force: true });
  });

  const kdcTime = Date.UTC(2026, 0, 1, 12, 0, 0);
  const preauthRequired = (): Buffer =>
    encodeKrbError({
      stime: kdcTime,
      susec: 250_000,
      errorCode: 25,
      realm: REALM,
      sname: { nameType: 2, components: ['krbtgt', REALM] },
    });

  async function clockWith(offsetMs: number) {
    answer = preauthRequired;
    const findings = await checkKdc({
      realm: REALM,
      principal: 'HTTP/web',
      krb5Conf: conf,
      now: () => kdcTime + 250 + offsetMs,
    });
    assert.match(
      findings[0]?.message ?? '',
      /answered for DOCTOR\.TEST in \d+ ms \(KDC_ERR_PREAUTH_REQUIRED/,
    );
    return findings.find((f) => f.check === 'clock');
  }

  it('is ok within a minute, either way', async () => {
    assert.deepEqual(await clockWith(0), {
      check: 'clock',
      level: 'ok',
      message: "the local clock is 0 s ahead of the KDC's",
    });
    assert.equal((await clockWith(-59_000))?.level, 'ok');
  });

  it('warns beyond 60 s and fails beyond the 300 s skew', async () => {
    const warn = await clockWith(-90_000);
    assert.equal(warn?.level, 'warn');
    assert.match(warn?.message ?? '', /90 s behind the KDC's/);
    const fail = await clockWith(301_000);
    assert.equal(fail?.level, 'fail');
    assert.match(fail?.message ?? '', /301 s ahead of the KDC's: beyond the 300 s skew/);
  });

  it('fails a KDC that answers something other than Kerberos', async () => {
    answer = () => Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n');
    const findings = await checkKdc({ realm: REALM, principal: 'HTTP/web', krb5Conf: conf });
    assert.deepEqual(
      findings.map((f) => f.level),
      ['fail', 'fail'],
    );
    assert.match(findings[0]?.message ?? '', /answered with something not Kerberos/);
  });
});
