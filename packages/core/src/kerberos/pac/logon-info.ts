/**
 * PAC_LOGON_INFO (MS-PAC §2.5): KERB_VALIDATION_INFO serialised with NDR type serialisation v1
 * (MS-RPCE §2.2.6): an 8-byte common header (version 1, little-endian 0x10, length 8, filler),
 * an 8-byte private header (object length, filler), a referent id for the top-level pointer,
 * then the structure, whose pointers' referents follow it in declaration order:
 *
 *   FILETIME LogonTime, LogoffTime, KickOffTime, PasswordLastSet, PasswordCanChange, PasswordMustChange
 *   RPC_UNICODE_STRING EffectiveName, FullName, LogonScript, ProfilePath, HomeDirectory, HomeDirectoryDrive
 *   USHORT LogonCount, BadPasswordCount
 *   ULONG UserId, PrimaryGroupId, GroupCount;  PGROUP_MEMBERSHIP GroupIds
 *   ULONG UserFlags;  USER_SESSION_KEY UserSessionKey (16 bytes)
 *   RPC_UNICODE_STRING LogonServer, LogonDomainName;  PISID LogonDomainId
 *   ULONG Reserved1[2], UserAccountControl, SubAuthStatus
 *   FILETIME LastSuccessfulILogon, LastFailedILogon;  ULONG FailedILogonCount, Reserved3
 *   ULONG SidCount;  PKERB_SID_AND_ATTRIBUTES ExtraSids
 *   PISID ResourceGroupDomainSid;  ULONG ResourceGroupCount;  PGROUP_MEMBERSHIP ResourceGroupIds
 *
 *   RPC_UNICODE_STRING ::= USHORT Length, USHORT MaximumLength, [unique] WCHAR* Buffer
 *     referent: conformant varying array (MaxCount, Offset, ActualCount, WCHARs)
 *   GROUP_MEMBERSHIP ::= ULONG RelativeId, ULONG Attributes
 *   KERB_SID_AND_ATTRIBUTES ::= PISID Sid, ULONG Attributes
 *   RPC_SID referent ::= ULONG MaxCount (conformance), UCHAR Revision, UCHAR SubAuthorityCount,
 *     BYTE IdentifierAuthority[6], ULONG SubAuthority[SubAuthorityCount]
 */
import { fail } from '../../errors.js';
import { formatSid, NdrReader } from './ndr.js';

/** Groups per list: AD's token limit is about 1015; this bounds hostile counts. */
const MAX_GROUPS = 4096;
const MAX_STRING_CHARS = 32 * 1024;

/**
 * GROUP_MEMBERSHIP (MS-PAC §2.2.2): a group's relative id in a domain and its SE_GROUP_*
 * attributes.
 */
export interface GroupMembership {
  readonly relativeId: number;
  readonly attributes: number;
}

/**
 * KERB_SID_AND_ATTRIBUTES (MS-PAC §2.2.1): a SID (as `S-1-5-...` text) and its SE_GROUP_*
 * attributes.
 */
export interface SidAndAttributes {
  readonly sid: string;
  readonly attributes: number;
}

/**
 * KERB_VALIDATION_INFO (MS-PAC §2.5), the PAC_LOGON_INFO buffer: the user's account data and group
 * memberships as the domain controller issued them, plus the user, primary group and group SIDs
 * assembled from them.
 */
export interface KerbValidationInfo {
  readonly logonTime: bigint;
  readonly effectiveName: string;
  readonly fullName: string;
  readonly logonScript: string;
  readonly profilePath: string;
  readonly homeDirectory: string;
  readonly homeDirectoryDrive: string;
  readonly logonCount: number;
  readonly badPasswordCount: number;
  readonly userId: number;
  readonly primaryGroupId: number;
  readonly groupIds: readonly GroupMembership[];
  readonly userFlags: number;
  readonly logonServer: string;
  readonly logonDomainName: string;
  readonly logonDomainId: string | undefined;
  readonly userAccountControl: number;
  readonly extraSids: readonly SidAndAttributes[];
  readonly resourceGroupDomainSid: string | undefined;
  readonly resourceGroupIds: readonly GroupMembership[];
  /** The user's SID: LogonDomainId + UserId. */
  readonly userSid: string | undefined;
  /** LogonDomainId + PrimaryGroupId. */
  readonly primaryGroupSid: string | undefined;
  /**
   * Every group SID the logon proved, in order: domain groups (LogonDomainId + RID), extra SIDs,
   * resource groups (ResourceGroupDomainSid + RID), without duplicates.
   */
  readonly groupSids: readonly string[];
}

interface UnicodeStringHeader {
  readonly length: number;
  readonly pointer: number;
}

function readUnicodeHeader(r: NdrReader): UnicodeStringHeader {
  const length = r.u16();
  const maximumLength = r.u16();
  const pointer = r.u32();
  if (length % 2 !== 0 || length > maximumLength) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  return { length, pointer };
}

function readUnicodeReferent(r: NdrReader, header: UnicodeStringHeader): string {
  if (header.pointer === 0) {
    if (header.length !== 0) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
    return '';
  }
  const maxCount = r.count(MAX_STRING_CHARS);
  const offset = r.u32();
  const actual = r.count(MAX_STRING_CHARS);
  if (offset !== 0 || actual > maxCount || actual * 2 !== header.length) {
    fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  }
  return r.bytes(actual * 2).toString('utf16le');
}

function readSidReferent(r: NdrReader): string {
  const conformance = r.count(15);
  const revision = r.u8();
  const count = r.u8();
  if (count !== conformance) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const authority = r.bytes(6);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) subs.push(r.u32());
  return formatSid(revision, authority, subs);
}

function readGroups(r: NdrReader, pointer: number, count: number): GroupMembership[] {
  if (pointer === 0) {
    if (count !== 0) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
    return [];
  }
  const maxCount = r.count(MAX_GROUPS);
  if (maxCount !== count) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  const groups: GroupMembership[] = [];
  for (let i = 0; i < count; i++) groups.push({ relativeId: r.u32(), attributes: r.u32() });
  return groups;
}

/**
 * Decodes a PAC_LOGON_INFO buffer (MS-PAC §2.5), NDR type serialisation v1 (MS-RPCE §2.2.6). Throws
 * `ERR_HTTPAUTH_KRB_PAC_INVALID` on a bad header, an out-of-range pointer or length, or a group
 * count above the bound.
 */
export function decodeLogonInfo(data: Buffer): KerbValidationInfo {
  if (data.length < 16) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  // Common type header: version 1, little-endian, header length 8 (MS-RPCE §2.2.6.1).
  if (data[0] !== 0x01 || data[1] !== 0x10 || data.readUInt16LE(2) !== 8) {
    fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  }
  const r = new NdrReader(data, 0);
  r.bytes(8);
  const objectLength = r.u32();
  r.u32();
  if (objectLength > data.length - 16) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  if (r.u32() === 0) fail('ERR_HTTPAUTH_KRB_PAC_INVALID'); // top-level referent

  const logonTime = r.filetime();
  for (let i = 0; i < 5; i++) r.filetime();
  const names: UnicodeStringHeader[] = [];
  for (let i = 0; i < 6; i++) names.push(readUnicodeHeader(r));
  const logonCount = r.u16();
  const badPasswordCount = r.u16();
  const userId = r.u32();
  const primaryGroupId = r.u32();
  const groupCount = r.count(MAX_GROUPS);
  const groupPointer = r.u32();
  const userFlags = r.u32();
  r.bytes(16); // UserSessionKey: unused by Kerberos (MS-PAC §2.5)
  const logonServerHeader = readUnicodeHeader(r);
  const logonDomainHeader = readUnicodeHeader(r);
  const logonDomainIdPointer = r.u32();
  r.u32();
  r.u32(); // Reserved1
  const userAccountControl = r.u32();
  r.u32(); // SubAuthStatus
  r.filetime();
  r.filetime();
  r.u32();
  r.u32();
  const sidCount = r.count(MAX_GROUPS);
  const extraSidsPointer = r.u32();
  const resourceDomainPointer = r.u32();
  const resourceGroupCount = r.count(MAX_GROUPS);
  const resourceGroupPointer = r.u32();

  // Deferred referents, in declaration order.
  const strings = names.map((header) => readUnicodeReferent(r, header));
  const groupIds = readGroups(r, groupPointer, groupCount);
  const logonServer = readUnicodeReferent(r, logonServerHeader);
  const logonDomainName = readUnicodeReferent(r, logonDomainHeader);
  const logonDomainId = logonDomainIdPointer === 0 ? undefined : readSidReferent(r);
  const extraSids: SidAndAttributes[] = [];
  if (extraSidsPointer !== 0) {
    const maxCount = r.count(MAX_GROUPS);
    if (maxCount !== sidCount) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
    const entries: { pointer: number; attributes: number }[] = [];
    for (let i = 0; i < sidCount; i++) entries.push({ pointer: r.u32(), attributes: r.u32() });
    for (const entry of entries) {
      if (entry.pointer === 0) fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
      extraSids.push({ sid: readSidReferent(r), attributes: entry.attributes });
    }
  } else if (sidCount !== 0) {
    fail('ERR_HTTPAUTH_KRB_PAC_INVALID');
  }
  const resourceGroupDomainSid = resourceDomainPointer === 0 ? undefined : readSidReferent(r);
  const resourceGroupIds = readGroups(r, resourceGroupPointer, resourceGroupCount);

  const groupSids: string[] = [];
  const seen = new Set<string>();
  const addSid = (sid: string): void => {
    if (!seen.has(sid)) {
      seen.add(sid);
      groupSids.push(sid);
    }
  };
  if (logonDomainId !== undefined) {
    for (const group of groupIds) addSid(`${logonDomainId}-${group.relativeId}`);
  }
  for (const extra of extraSids) addSid(extra.sid);
  if (resourceGroupDomainSid !== undefined) {
    for (const group of resourceGroupIds) addSid(`${resourceGroupDomainSid}-${group.relativeId}`);
  }

  return {
    logonTime,
    effectiveName: strings[0] as string,
    fullName: strings[1] as string,
    logonScript: strings[2] as string,
    profilePath: strings[3] as string,
    homeDirectory: strings[4] as string,
    homeDirectoryDrive: strings[5] as string,
    logonCount,
    badPasswordCount,
    userId,
    primaryGroupId,
    groupIds,
    userFlags,
    logonServer,
    logonDomainName,
    logonDomainId,
    userAccountControl,
    extraSids,
    resourceGroupDomainSid,
    resourceGroupIds,
    userSid: logonDomainId === undefined ? undefined : `${logonDomainId}-${userId}`,
    primaryGroupSid: logonDomainId === undefined ? undefined : `${logonDomainId}-${primaryGroupId}`,
    groupSids,
  };
}
