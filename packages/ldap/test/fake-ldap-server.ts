// A scripted LDAPv3 server (RFC 4511) over plain TCP for the lookup tests: it answers every bind
// with success and each search with what `answer` says (entries, a result code, a delay, or a
// dropped connection), and counts connections. BER (X.690) is written and read by hand: only
// definite lengths, which is all ldapts sends.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SearchSeen {
  readonly base: string;
  readonly scope: number;
  /** The filter's BER as latin1, to look for attribute names and values in. */
  readonly filter: string;
  /** The index of the connection it came on (0 is the first). */
  readonly connection: number;
}

export interface SearchAnswer {
  readonly entries?: readonly {
    dn: string;
    attributes: Record<string, readonly (string | Buffer)[]>;
  }[];
  /** The SearchResultDone resultCode (default 0, success). */
  readonly resultCode?: number;
  /** Wait this long before answering. */
  readonly delayMs?: number;
  /** Wait for this before answering. */
  readonly after?: Promise<unknown>;
  /** Close the connection instead of answering. */
  readonly drop?: boolean;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

function int(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v >>= 8;
  } while (v > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

const octets = (value: string | Buffer) =>
  tlv(0x04, Buffer.isBuffer(value) ? value : Buffer.from(value));

function result(id: number, tag: number, code: number): Buffer {
  return tlv(0x30, int(0x02, id), tlv(tag, int(0x0a, code), octets(''), octets('')));
}

interface Tlv {
  tag: number;
  start: number;
  end: number;
}

function read(buf: Buffer, at: number): Tlv | undefined {
  if (at + 2 > buf.length) return undefined;
  let len = buf[at + 1] as number;
  let start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    if (start + count > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + (buf[start + i] as number);
    start += count;
  }
  return start + len > buf.length ? undefined : { tag: buf[at] as number, start, end: start + len };
}

function childrenOf(buf: Buffer, node: Tlv): Tlv[] {
  const list: Tlv[] = [];
  for (let at = node.start; at < node.end;) {
    const child = read(buf, at) as Tlv;
    list.push(child);
    at = child.end;
  }
  return list;
}

function intOf(buf: Buffer, node: Tlv): number {
  let n = 0;
  for (let i = node.start; i < node.end; i++) n = n * 256 + (buf[i] as number);
  return n;
}

export interface FakeLdapServer {
  readonly url: string;
  readonly searches: SearchSeen[];
  connections: number;
  close(): Promise<void>;
}

/**
 * Starts the server; `answer` is asked for every search but the root DSE's. `rootDse` replaces
 * the root DSE's attributes (the default names the naming context and the configuration
 * partition under `baseDn`).
 */
export async function startFakeLdap(
  answer: (search: SearchSeen) => SearchAnswer,
  baseDn = 'DC=samdom,DC=test',
  rootDse: Record<string, string[]> = {
    defaultNamingContext: [baseDn],
    configurationNamingContext: [`CN=Configuration,${baseDn}`],
  },
): Promise<FakeLdapServer> {
  const sockets = new Set<Socket>();
  const state: FakeLdapServer = {
    url: '',
    searches: [],
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  async function search(socket: Socket, id: number, buf: Buffer, op: Tlv, connection: number) {
    const [base, scope, , , , , filter] = childrenOf(buf, op) as Tlv[];
    const seen: SearchSeen = {
      base: buf.toString('utf8', base?.start, base?.end),
      scope: intOf(buf, scope as Tlv),
      filter: buf.toString('latin1', filter?.start, filter?.end),
      connection,
    };
    let reply: SearchAnswer;
    if (seen.base === '' && seen.scope === 0) {
      reply = { entries: [{ dn: '', attributes: rootDse }] };
    } else {
      state.searches.push(seen);
      reply = answer(seen);
    }
    if (reply.delayMs !== undefined) await new Promise((r) => setTimeout(r, reply.delayMs));
    if (reply.after !== undefined) await reply.after;
    if (reply.drop === true) {
      socket.destroy();
      return;
    }
    for (const entry of reply.entries ?? []) {
      const attributes = Object.entries(entry.attributes).map(([type, values]) =>
        tlv(0x30, octets(type), tlv(0x31, ...values.map(octets))),
      );
      socket.write(tlv(0x30, int(0x02, id), tlv(0x64, octets(entry.dn), tlv(0x30, ...attributes))));
    }
    socket.write(result(id, 0x65, reply.resultCode ?? 0));
  }

  const server = createServer((socket) => {
    const connection = state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (let message = read(pending, 0); message !== undefined; message = read(pending, 0)) {
        const buf = pending.subarray(0, message.end);
        pending = pending.subarray(message.end);
        const [id, op] = childrenOf(buf, message) as Tlv[];
        const messageId = intOf(buf, id as Tlv);
        if (op?.tag === 0x60) socket.write(result(messageId, 0x61, 0));
        else if (op?.tag === 0x63) void search(socket, messageId, buf, op, connection);
        else if (op?.tag === 0x42) socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { url: `ldap://127.0.0.1:${port}` });
}
