/**
 * The request body, read only when Digest `qop=auth-int` needs it (RFC 7616 §3.4.3 hashes the
 * entity body): lazily, once, and never past the configured cap.
 */
import type { Readable } from 'node:stream';
import { HttpAuthError } from '../errors.js';
import type { NodeRequest } from './message.js';
import { declaredLength } from './message.js';

/** A lazily started, size-capped, memoised read of a request body (for Digest auth-int). */
export interface BodyLoader {
  /** Reads the whole body once; later calls return the same promise. */
  load(): Promise<Buffer>;
  /** The body, once read completely. */
  readonly body: Buffer | undefined;
  /** True once `load()` was called: the stream now belongs to the loader. */
  readonly started: boolean;
  /** True when reading failed or stopped at the cap, leaving unread bytes on the connection. */
  readonly failed: boolean;
}

/**
 * A body loader over `stream` (the request itself, or the payload stream a framework hands to
 * its hooks). `req` supplies the declared Content-Length, checked before reading anything.
 */
export function createBodyLoader(req: NodeRequest, stream: Readable, maxBytes: number): BodyLoader {
  let promise: Promise<Buffer> | undefined;
  let body: Buffer | undefined;
  let failed = false;
  const read = (): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      const declared = declaredLength(req);
      if (declared !== undefined && declared > maxBytes) {
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_TOO_LARGE'));
        return;
      }
      if (stream.readableEnded || stream.destroyed) {
        // Someone else (a body parser mounted earlier) consumed it: fail closed.
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_UNREADABLE'));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const cleanup = (): void => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('close', onClose);
      };
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        size += bytes.length;
        if (size > maxBytes) {
          cleanup();
          stream.pause();
          failed = true;
          reject(new HttpAuthError('ERR_HTTPAUTH_BODY_TOO_LARGE'));
          return;
        }
        chunks.push(bytes);
      };
      const onEnd = (): void => {
        cleanup();
        body = Buffer.concat(chunks, size);
        resolve(body);
      };
      const onError = (): void => {
        cleanup();
        failed = true;
        reject(new HttpAuthError('ERR_HTTPAUTH_BODY_UNREADABLE'));
      };
      const onClose = (): void => {
        if (!stream.readableEnded) onError();
      };
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('close', onClose);
      stream.resume();
    });
  return {
    load() {
      promise ??= read();
      return promise;
    },
    get body() {
      return body;
    },
    get started() {
      return promise !== undefined;
    },
    get failed() {
      return failed;
    },
  };
}
