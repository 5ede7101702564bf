/**
 * The machine account's secret, read once at start-up: a password (inline or in a file), or its
 * NT hash (32 hex digits in a file, what `samba-tool`-style exports and keytab tools can give).
 * Files are read with a trailing newline dropped; an empty or malformed secret is a config error.
 */
import { readFileSync } from 'node:fs';
import { HttpAuthError } from '../errors.js';
import { machineNtHash } from './schannel.js';

/**
 * The machine account's secret for the NETLOGON secure channel, part of {@link
 * DomainControllerOptions}: exactly one of the password, a file holding it, or a file holding its
 * NT hash.
 */
export interface MachineSecretOptions {
  readonly machinePassword?: string;
  readonly machinePasswordFile?: string;
  /** A file holding the NT hash (MD4 of the UTF-16LE password) as 32 hex digits. */
  readonly machineNtHashFile?: string;
}

function invalid(cause?: unknown): never {
  throw new HttpAuthError(
    'ERR_HTTPAUTH_INVALID_OPTIONS',
    cause === undefined ? undefined : { cause },
  );
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (error) {
    return invalid(error);
  }
}

export function loadMachineSecret(options: MachineSecretOptions): Buffer {
  const given = [options.machinePassword, options.machinePasswordFile, options.machineNtHashFile];
  if (given.filter((value) => value !== undefined).length !== 1) invalid();
  if (options.machineNtHashFile !== undefined) {
    const hex = readSecretFile(options.machineNtHashFile).trim();
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) invalid();
    return Buffer.from(hex, 'hex');
  }
  const password = options.machinePassword ?? readSecretFile(options.machinePasswordFile as string);
  if (typeof password !== 'string' || password.length === 0) invalid();
  return machineNtHash(password);
}
