/**
 * H(A2) of a request and of its rspauth, remembered per resource. With qop=auth (and without
 * qop, RFC 2069) A2 is `Method ":" request-uri` (RFC 7616 §3.4.3) and rspauth's A2 the same with
 * an empty method (§3.5): public values, the same for every request a client sends to one
 * resource, while the response itself changes with every nc. Two of the four hashes a request
 * costs are then done once per resource. qop=auth-int hashes the body into A2 and is never
 * cached here.
 */
import type { DigestHash } from './algorithms.js';
import { computeHa2 } from './compute.js';

/** Resources remembered at once; simply cleared when full. */
const MAX_ENTRIES = 1000;
/** Longer uris (a long query string) are hashed each time rather than kept. */
const MAX_URI_LENGTH = 1024;

export interface A2Hashes {
  /** H(A2) for the request's own method. */
  readonly request: string;
  /** H(A2) with an empty method, for rspauth in Authentication-Info. */
  readonly rspauth: string;
}

export class A2Cache {
  /** By hash, then method, then uri: found without building a key string per request. */
  readonly #byHash = new Map<DigestHash, Map<string, Map<string, A2Hashes>>>();
  #size = 0;

  get(hash: DigestHash, method: string, uri: string): A2Hashes {
    if (uri.length > MAX_URI_LENGTH) return compute(hash, method, uri);
    let byMethod = this.#byHash.get(hash);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#byHash.set(hash, byMethod);
    }
    let byUri = byMethod.get(method);
    if (byUri === undefined) {
      byUri = new Map();
      byMethod.set(method, byUri);
    }
    let found = byUri.get(uri);
    if (found === undefined) {
      found = compute(hash, method, uri);
      if (this.#size >= MAX_ENTRIES) {
        // Cleared when full, as before: methods are tokens a client chooses, so the maps of
        // methods are dropped too and nothing grows without bound.
        this.#byHash.clear();
        this.#size = 0;
        return found;
      }
      byUri.set(uri, found);
      this.#size++;
    }
    return found;
  }
}

function compute(hash: DigestHash, method: string, uri: string): A2Hashes {
  return { request: computeHa2(hash, method, uri), rspauth: computeHa2(hash, '', uri) };
}
