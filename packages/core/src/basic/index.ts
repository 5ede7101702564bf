// Public API of the basic security package: explicit named exports only.
export { basic, BASIC_KERBEROS_INSECURE_WARNING } from './basic.js';
export type { BasicKerberosOptions, BasicOptions, BasicVerifier } from './basic.js';
export { decodeBasicToken, encodeBasicToken } from './credentials.js';
export type { BasicCredentials } from './credentials.js';
export { htpasswdFile } from './htpasswd.js';
export { apr1 as apr1Crypt } from './apr1.js';
