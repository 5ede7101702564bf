/**
 * NetrLogonSamLogonEx (opnum 39, MS-NRPC §3.5.4.5.1) with a NETLOGON_NETWORK_INFO (§2.2.1.4.6)
 * at LogonLevel 6 (NetlogonNetworkTransitiveInformation) and ValidationLevel 6
 * (NETLOGON_VALIDATION_SAM_INFO4, §2.2.1.4.13), which returns the UserSessionKey in clear inside
 * the sealed response (levels 2 and 3 encrypt it with whatever key the DC holds now).
 *
 * Request stub:
 *   [unique, string] LogonServer | [unique, string] ComputerName | LogonLevel u16 |
 *   union tag u16 | pointer to NETLOGON_NETWORK_INFO:
 *     Identity { RPC_UNICODE_STRING LogonDomainName | ParameterControl u32 | Reserved (8) |
 *                RPC_UNICODE_STRING UserName | RPC_UNICODE_STRING Workstation } |
 *     LmChallenge (8) | STRING NtChallengeResponse | STRING LmChallengeResponse
 *     then the five deferred buffers in that order
 *   | ValidationLevel u16 | ExtraFlags u32
 * Response stub:
 *   union tag u16 | pointer to SAM_INFO4 (+ its referents) | Authoritative u8 | ExtraFlags u32 |
 *   NTSTATUS u32
 */
import { NdrReader, NdrWriter, readSid, readUnicodeBuffer, readUnicodeHeader } from './ndr.js';
import type { UnicodeStringHeader } from './ndr.js';
import { malformed } from './rpc-error.js';

export const OPNUM_SAM_LOGON_EX = 39;
const NETWORK_TRANSITIVE_INFORMATION = 6;
const VALIDATION_SAM_INFO4 = 6;
/** Bounds on hostile counts: AD tokens hold about 1,015 groups. */
const MAX_GROUPS = 4096;

export interface NetworkLogon {
  /** `\\DC` (the server's NetBIOS name with two backslashes). */
  readonly logonServer: string;
  /** This member's computer name (the secure channel's ComputerName). */
  readonly computerName: string;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  /** MS-NRPC §2.2.1.4.2 ParameterControl (MSV1_0_* flags). */
  readonly parameterControl: number;
  readonly serverChallenge: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly lmChallengeResponse: Buffer;
}

export function encodeSamLogonEx(logon: NetworkLogon): Buffer {
  const w = new NdrWriter();
  w.uniqueString(logon.logonServer);
  w.uniqueString(logon.computerName);
  w.u16(NETWORK_TRANSITIVE_INFORMATION);
  w.u16(NETWORK_TRANSITIVE_INFORMATION); // union discriminant
  w.pointer();
  w.unicodeStringHeader(logon.domain);
  w.u32(logon.parameterControl);
  w.u32(0);
  w.u32(0);
  w.unicodeStringHeader(logon.user);
  w.unicodeStringHeader(logon.workstation);
  w.bytes(logon.serverChallenge);
  w.byteStringHeader(logon.ntChallengeResponse);
  w.byteStringHeader(logon.lmChallengeResponse);
  w.unicodeStringBuffer(logon.domain);
  w.unicodeStringBuffer(logon.user);
  w.unicodeStringBuffer(logon.workstation);
  w.byteStringBuffer(logon.ntChallengeResponse);
  w.byteStringBuffer(logon.lmChallengeResponse);
  w.u16(VALIDATION_SAM_INFO4);
  w.u32(0); // ExtraFlags
  return w.toBuffer();
}

/**
 * NETLOGON_VALIDATION_SAM_INFO4 (MS-NRPC §2.2.1.4.13), the domain controller's answer to a logon:
 * the account, its groups, the user session key and the logon domain.
 */
export interface SamInfo4 {
  readonly effectiveName: string;
  readonly fullName: string;
  readonly userId: number;
  readonly primaryGroupId: number;
  readonly groupIds: readonly { relativeId: number; attributes: number }[];
  readonly userFlags: number;
  readonly userSessionKey: Buffer;
  readonly logonServer: string;
  readonly logonDomainName: string;
  readonly logonDomainId: string | undefined;
  readonly userAccountControl: number;
  readonly extraSids: readonly { sid: string; attributes: number }[];
  readonly dnsLogonDomainName: string;
  readonly upn: string;
}

export interface SamLogonExResponse {
  /** Undefined when the DC refused the logon (see `status`). */
  readonly validation: SamInfo4 | undefined;
  readonly authoritative: number;
  readonly status: number;
}

function readGroupIds(r: NdrReader, pointer: number, count: number) {
  if (pointer === 0) {
    if (count !== 0) malformed('SAM_INFO4 GroupIds');
    return [];
  }
  if (r.count(MAX_GROUPS) !== count) malformed('SAM_INFO4 GroupIds');
  const groups: { relativeId: number; attributes: number }[] = [];
  for (let i = 0; i < count; i++) groups.push({ relativeId: r.u32(), attributes: r.u32() });
  return groups;
}

function readExtraSids(r: NdrReader, pointer: number, count: number) {
  if (pointer === 0) {
    if (count !== 0) malformed('SAM_INFO4 ExtraSids');
    return [];
  }
  if (r.count(MAX_GROUPS) !== count) malformed('SAM_INFO4 ExtraSids');
  const entries: { pointer: number; attributes: number }[] = [];
  for (let i = 0; i < count; i++) entries.push({ pointer: r.u32(), attributes: r.u32() });
  return entries.map((entry) => {
    if (entry.pointer === 0) malformed('SAM_INFO4 ExtraSids');
    return { sid: readSid(r), attributes: entry.attributes };
  });
}

/** NETLOGON_VALIDATION_SAM_INFO4's fixed part, then its referents in declaration order. */
function readSamInfo4(r: NdrReader): SamInfo4 {
  for (let i = 0; i < 12; i++) r.u32(); // six OLD_LARGE_INTEGER times
  const names: UnicodeStringHeader[] = [];
  for (let i = 0; i < 6; i++) names.push(readUnicodeHeader(r));
  r.u16(); // LogonCount
  r.u16(); // BadPasswordCount
  const userId = r.u32();
  const primaryGroupId = r.u32();
  const groupCount = r.count(MAX_GROUPS);
  const groupPointer = r.u32();
  const userFlags = r.u32();
  const userSessionKey = r.bytes(16);
  const logonServerHeader = readUnicodeHeader(r);
  const logonDomainHeader = readUnicodeHeader(r);
  const domainIdPointer = r.u32();
  r.bytes(8); // LMKey
  const userAccountControl = r.u32();
  r.u32(); // SubAuthStatus
  for (let i = 0; i < 4; i++) r.u32(); // LastSuccessfulILogon, LastFailedILogon
  r.u32(); // FailedILogonCount
  r.u32(); // Reserved4
  const sidCount = r.count(MAX_GROUPS);
  const extraSidsPointer = r.u32();
  const tail: UnicodeStringHeader[] = [];
  for (let i = 0; i < 12; i++) tail.push(readUnicodeHeader(r)); // DnsLogonDomainName, Upn, 10 spare

  const strings = names.map((header) => readUnicodeBuffer(r, header));
  const groupIds = readGroupIds(r, groupPointer, groupCount);
  const logonServer = readUnicodeBuffer(r, logonServerHeader);
  const logonDomainName = readUnicodeBuffer(r, logonDomainHeader);
  const logonDomainId = domainIdPointer === 0 ? undefined : readSid(r);
  const extraSids = readExtraSids(r, extraSidsPointer, sidCount);
  const tailStrings = tail.map((header) => readUnicodeBuffer(r, header));
  return {
    effectiveName: strings[0] as string,
    fullName: strings[1] as string,
    userId,
    primaryGroupId,
    groupIds,
    userFlags,
    userSessionKey,
    logonServer,
    logonDomainName,
    logonDomainId,
    userAccountControl,
    extraSids,
    dnsLogonDomainName: tailStrings[0] as string,
    upn: tailStrings[1] as string,
  };
}

export function decodeSamLogonExResponse(stub: Buffer): SamLogonExResponse {
  const r = new NdrReader(stub);
  const tag = r.u16();
  const pointer = r.u32();
  let validation: SamInfo4 | undefined;
  if (pointer !== 0) {
    if (tag !== VALIDATION_SAM_INFO4) malformed('NETLOGON_VALIDATION (level)');
    validation = readSamInfo4(r);
  }
  const authoritative = r.u8();
  r.u32(); // ExtraFlags
  const status = r.u32();
  if (r.remaining > 0) malformed('NetrLogonSamLogonEx response (trailing bytes)');
  return { validation, authoritative, status };
}
