/**
 * Test harness for HTTP framing attacks: a raw TCP upstream that parses every request it
 * receives (so a smuggled request shows up in its log exactly as a real server would have run
 * it), and a raw-socket client that sends hand-written bytes.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface ParsedRequest {
  /** Which upstream connection carried it (1, 2, ...). */
  readonly connection: number;
  readonly method: string;
  readonly target: string;
  /** Header names as sent (case kept), with their values. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
}

export interface RawUpstream {
  readonly port: number;
  readonly requests: ParsedRequest[];
  /** Bytes the upstream could not parse as a request (it closes that connection). */
  readonly garbage: string[];
  /** Requests answered as soon as their header arrived (targets containing "/early"). */
  readonly early: { readonly connection: number; readonly target: string }[];
  header(request: ParsedRequest, name: string): string | undefined;
  close(): Promise<void>;
}

type Parse = { request: Omit<ParsedRequest, 'connection'>; rest: string } | 'more' | 'garbage';

/** Parse one HTTP/1.1 request from latin1 text, RFC 9112 §6.3 framing (TE chunked, else CL). */
function parseOne(text: string): Parse {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return text.length > 65536 ? 'garbage' : 'more';
  const [line, ...fields] = text.slice(0, end).split('\r\n');
  const start = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(line ?? '');
  if (start === null) return 'garbage';
  const headers = fields.map((f): [string, string] => {
    const colon = f.indexOf(':');
    return [f.slice(0, colon), f.slice(colon + 1).trim()];
  });
  const get = (name: string) => headers.find(([n]) => n.toLowerCase() === name)?.[1];
  let rest = text.slice(end + 4);
  let body = '';
  if (/chunked/i.test(get('transfer-encoding') ?? '')) {
    for (;;) {
      const lineEnd = rest.indexOf('\r\n');
      if (lineEnd === -1) return 'more';
      const size = parseInt(rest.slice(0, lineEnd), 16);
      if (Number.isNaN(size)) return 'garbage';
      if (rest.length < lineEnd + 2 + size + 2) return 'more';
      body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
      rest = rest.slice(lineEnd + 2 + size + 2);
      if (size === 0) break;
    }
  } else {
    const length = Number(get('content-length') ?? '0');
    if (rest.length < length) return 'more';
    body = rest.slice(0, length);
    rest = rest.slice(length);
  }
  return { request: { method: start[1]!, target: start[2]!, headers, body }, rest };
}

export async function startRawUpstream(): Promise<RawUpstream> {
  const requests: ParsedRequest[] = [];
  const garbage: string[] = [];
  const earlyAnswers: { connection: number; target: string }[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    const connection = ++connections;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    let answeredEarly = false;
    const answer = (n: number, method: string, target: string) => {
      const body = JSON.stringify({ n, target });
      socket.write(
        `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${method === 'HEAD' ? '' : body}`,
      );
    };
    socket.on('data', (data: Buffer) => {
      buffer += data.toString('latin1');
      // A target containing "/early" is answered as soon as its header is in, before its body
      // (as a server refusing an upload does); the body is still read as that request's.
      const early = /^([A-Z]+) (\S*\/early\S*) HTTP\/1\.[01]\r\n[^]*?\r\n\r\n/.exec(buffer);
      if (early !== null && !answeredEarly) {
        answeredEarly = true;
        earlyAnswers.push({ connection, target: early[2]! });
        answer(0, early[1]!, early[2]!);
      }
      for (;;) {
        const parsed = parseOne(buffer);
        if (parsed === 'more') return;
        if (parsed === 'garbage') {
          garbage.push(buffer);
          socket.destroy();
          return;
        }
        buffer = parsed.rest;
        requests.push({ connection, ...parsed.request });
        if (answeredEarly && parsed.request.target.includes('/early')) answeredEarly = false;
        else answer(requests.length, parsed.request.method, parsed.request.target);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    garbage,
    early: earlyAnswers,
    header: (request, name) =>
      request.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1],
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Send raw bytes to a server and collect everything it answers until it closes the connection
 * or stays quiet for `idleMs` (after at least `expectResponses` status lines arrived).
 */
export function rawExchange(
  port: number,
  data: string,
  options: { idleMs?: number; expectResponses?: number; endAfterWrite?: boolean } = {},
): Promise<{ text: string; statuses: number[] }> {
  const idleMs = options.idleMs ?? 300;
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({
        text,
        statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])),
      });
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, idleMs);
    };
    const hardStop = setTimeout(done, 10_000);
    hardStop.unref();
    socket.on('connect', () => {
      socket.write(Buffer.from(data, 'latin1'));
      if (options.endAfterWrite === true) socket.end();
      arm();
    });
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      arm();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** A chunked body of one chunk. */
export function chunked(body: string): string {
  return `${Buffer.byteLength(body, 'latin1').toString(16)}\r\n${body}\r\n0\r\n\r\n`;
}
