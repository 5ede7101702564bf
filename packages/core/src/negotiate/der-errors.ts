/**
 * SPNEGO decoders report every structural problem as ERR_HTTPAUTH_SPNEGO_MALFORMED, whichever
 * layer (DER reader, GSS framing) found it, so the client-facing code says which protocol broke.
 */
import { fail, isHttpAuthError } from '../errors.js';

export function asSpnegoMalformed<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (isHttpAuthError(error) && error.code === 'ERR_HTTPAUTH_SPNEGO_MALFORMED') {
      throw error;
    }
    // A non-HttpAuthError here would be a bug in a decoder; it still leaves as our type.
    fail('ERR_HTTPAUTH_SPNEGO_MALFORMED', error);
  }
}
