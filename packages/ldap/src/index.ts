// @httpauth/ldap: names for SIDs from Active Directory over LDAPS / StartTLS.
export { ldapSidLookup } from './lookup.js';
export type { LdapBind, LdapSidLookup, LdapSidLookupOptions } from './lookup.js';
export { escapeFilterBytes, objectSidFilter, objectSidFilterString } from './filter.js';
