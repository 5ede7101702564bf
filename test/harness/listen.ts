/**
 * Test harness: an HTTP or HTTPS server of a test's own, listening on a random loopback port;
 * `close` also ends kept-alive connections so a test never waits on a client's idle socket.
 */
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Running {
  readonly port: number;
  /** `http://127.0.0.1:PORT`, or `https://` for a TLS server. */
  readonly url: string;
  close(): Promise<void>;
}

export function listen(
  server: Server | HttpsServer,
  options: { tls?: boolean } = {},
): Promise<Running> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        port,
        url: `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** The same for a Fastify app, which listens through its own `listen` and closes with `close`. */
export async function listenFastify(
  app: {
    listen(options: { port: number; host: string }): Promise<string>;
    readonly server: Server | HttpsServer;
    close(): PromiseLike<unknown>;
  },
  options: { tls?: boolean } = {},
): Promise<Running> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    port,
    url: `${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}
