/**
 * The principal of a Digest account, made once per user name and shared by its requests. A Digest
 * principal is a function of the name and the realm only (RFC 7616 names no groups or SIDs), so
 * every request of one user can carry the same frozen object: no object per request, and what
 * keys on the principal object (the gateway's identity headers) finds it again.
 */
import type { Principal } from '../principal.js';

/** Users whose principal is remembered at once; the map is simply cleared when full. */
const MAX_PRINCIPALS = 10_000;

export class DigestPrincipals {
  readonly #realm: string;
  readonly #byUser = new Map<string, Principal>();

  constructor(realm: string) {
    this.#realm = realm;
  }

  /** The principal of `user`, as the credential source named it. */
  of(user: string): Principal {
    let principal = this.#byUser.get(user);
    if (principal === undefined) {
      principal = Object.freeze({ name: user, user, realm: this.#realm, mechanism: 'Digest' });
      if (this.#byUser.size >= MAX_PRINCIPALS) this.#byUser.clear();
      this.#byUser.set(user, principal);
    }
    return principal;
  }
}
