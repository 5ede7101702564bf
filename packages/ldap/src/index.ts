// @httpauth/ldap: names for SIDs, and the accounts of client certificates, from Active Directory
// over LDAPS / StartTLS.
export { ldapSidLookup } from './lookup.js';
export type { LdapBind, LdapSidLookup, LdapSidLookupOptions } from './lookup.js';
export { escapeFilterBytes, objectSidFilter, objectSidFilterString } from './filter.js';
export { ldapCertificateLookup, realmOfNamingContext } from './certificate-lookup.js';
export type { LdapCertificateLookup } from './certificate-lookup.js';
