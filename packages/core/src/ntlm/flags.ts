/**
 * NegotiateFlags (MS-NLMP 2.2.2.5). The names are the specification's, so a reader can check each
 * one against the document; the bit letters (A..W) are given for the same reason.
 */

/** A: UNICODE strings. */
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
/** B: OEM (code page) strings. The specification spells this one without "SSP". */
export const NTLM_NEGOTIATE_OEM = 0x00000002;
/** C: the client asks for the server's TargetName in the CHALLENGE. */
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
/** D: session key for message signatures. */
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
/** E: session key for message confidentiality. */
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
/** F: connectionless (datagram) authentication. */
export const NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040;
/** G: LAN Manager session key computation (never offered by this server). */
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
/** H: NTLM v1 session security; set by every client, whatever the response version. */
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
/** J: anonymous connection. */
export const NTLMSSP_ANONYMOUS = 0x00000800;
/** K: the NEGOTIATE carries an OEM domain name. */
export const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000;
/** L: the NEGOTIATE carries an OEM workstation name. */
export const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000;
/** M: a signature block is present even without SIGN. */
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
/** N: TargetName is a domain name. */
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
/** O: TargetName is a server name. */
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
/** P: NTLM v2 session security (extended session security). */
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
/** Q: identify-level token requested. */
export const NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
/** R: LMOWF-based session key requested (NTLM v1 only). */
export const NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000;
/** S: the CHALLENGE carries TargetInfo (required for NTLMv2). */
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
/** T: the Version field is meaningful. */
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
/** U: 128-bit session key. */
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
/** V: explicit key exchange (EncryptedRandomSessionKey). */
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
/** W: 56-bit session key. */
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [NTLMSSP_NEGOTIATE_UNICODE, 'NTLMSSP_NEGOTIATE_UNICODE'],
  [NTLM_NEGOTIATE_OEM, 'NTLM_NEGOTIATE_OEM'],
  [NTLMSSP_REQUEST_TARGET, 'NTLMSSP_REQUEST_TARGET'],
  [NTLMSSP_NEGOTIATE_SIGN, 'NTLMSSP_NEGOTIATE_SIGN'],
  [NTLMSSP_NEGOTIATE_SEAL, 'NTLMSSP_NEGOTIATE_SEAL'],
  [NTLMSSP_NEGOTIATE_DATAGRAM, 'NTLMSSP_NEGOTIATE_DATAGRAM'],
  [NTLMSSP_NEGOTIATE_LM_KEY, 'NTLMSSP_NEGOTIATE_LM_KEY'],
  [NTLMSSP_NEGOTIATE_NTLM, 'NTLMSSP_NEGOTIATE_NTLM'],
  [NTLMSSP_ANONYMOUS, 'NTLMSSP_ANONYMOUS'],
  [NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED, 'NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED'],
  [NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED, 'NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED'],
  [NTLMSSP_NEGOTIATE_ALWAYS_SIGN, 'NTLMSSP_NEGOTIATE_ALWAYS_SIGN'],
  [NTLMSSP_TARGET_TYPE_DOMAIN, 'NTLMSSP_TARGET_TYPE_DOMAIN'],
  [NTLMSSP_TARGET_TYPE_SERVER, 'NTLMSSP_TARGET_TYPE_SERVER'],
  [NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, 'NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY'],
  [NTLMSSP_NEGOTIATE_IDENTIFY, 'NTLMSSP_NEGOTIATE_IDENTIFY'],
  [NTLMSSP_REQUEST_NON_NT_SESSION_KEY, 'NTLMSSP_REQUEST_NON_NT_SESSION_KEY'],
  [NTLMSSP_NEGOTIATE_TARGET_INFO, 'NTLMSSP_NEGOTIATE_TARGET_INFO'],
  [NTLMSSP_NEGOTIATE_VERSION, 'NTLMSSP_NEGOTIATE_VERSION'],
  [NTLMSSP_NEGOTIATE_128, 'NTLMSSP_NEGOTIATE_128'],
  [NTLMSSP_NEGOTIATE_KEY_EXCH, 'NTLMSSP_NEGOTIATE_KEY_EXCH'],
  [NTLMSSP_NEGOTIATE_56, 'NTLMSSP_NEGOTIATE_56'],
];

/** True when every bit of `flag` is set in `flags` (unsigned: bit 31 is a flag too). */
export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) >>> 0 === flag >>> 0;
}

/** The specification names of the set flags, for diagnostics and documentation. */
export function flagNames(flags: number): string[] {
  return FLAG_NAMES.filter(([bit]) => hasFlag(flags, bit)).map(([, name]) => name);
}
