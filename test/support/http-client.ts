// A minimal HTTP/1.1 client for adapter tests: keeps every header line (several WWW-Authenticate
// lines must stay separate) and reports which local port, hence which connection, was used.
import { request as httpRequest, type Agent, type OutgoingHttpHeaders } from 'node:http';
import type { ClientHttp2Session } from 'node:http2';
import { connect, type Socket } from 'node:net';

export interface ClientResponse {
  status: number;
  /** Header name (lower case) -> every value, one per header line. */
  headers: Map<string, string[]>;
  body: string;
  /** The client's local port: equal ports mean the request reused the connection. */
  localPort: number;
}

export function headerLines(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const list = map.get(name) ?? [];
    list.push(rawHeaders[i + 1] as string);
    map.set(name, list);
  }
  return map;
}

export function send(
  url: string,
  options: {
    method?: string;
    headers?: OutgoingHttpHeaders;
    body?: string | Buffer;
    agent?: Agent;
  } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        const localPort = res.socket.localPort ?? 0;
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: headerLines(res.rawHeaders),
            body: Buffer.concat(chunks).toString('utf8'),
            localPort,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Send raw bytes on a fresh socket and collect everything the server sends until it closes the
 * connection: for requests a normal client will not send (a huge declared body that never
 * comes). Rejects if the server keeps the connection open for `limitMs`.
 */
export function sendRawUntilClose(
  port: number,
  payload: string | Buffer,
  limitMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the connection open'));
    }, limitMs);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    // A reset after the response (the server closing with unread bytes) still ends the exchange.
    socket.on('error', () => finish());
    socket.write(payload);
  });
}

export interface Http2Response {
  status: number;
  /** Every WWW-Authenticate value: Node's HTTP/2 client joins repeated fields with ", ". */
  challenge: string;
  body: string;
  /** The RST_STREAM error code when the server reset the stream (13: HTTP_1_1_REQUIRED), else 0. */
  rstCode: number;
}

/** One GET on an open HTTP/2 session (RFC 9113: no connection-bound state across streams). */
export function sendHttp2(
  session: ClientHttp2Session,
  headers: Record<string, string>,
): Promise<Http2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': '/', ...headers });
    let status = 0;
    let challenge = '';
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      const value = h['www-authenticate'];
      challenge = Array.isArray(value) ? value.join(', ') : (value ?? '');
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    const settle = (): void =>
      resolve({ status, challenge, body: Buffer.concat(chunks).toString(), rstCode: 0 });
    stream.on('end', settle);
    // A reset stream ends with 'close' and its code (after an 'error' naming the code).
    stream.on('close', () => {
      const rstCode = stream.rstCode ?? 0;
      if (rstCode !== 0) resolve({ status, challenge, body: '', rstCode });
      else settle();
    });
    stream.on('error', (error) => {
      if ((stream.rstCode ?? 0) === 0) reject(error);
    });
    stream.end();
  });
}
