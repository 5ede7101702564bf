/**
 * Reading a configuration document the schema has already checked (config-schema.ts): each
 * reader returns the value when it has the right shape, else the schema's default (or an empty
 * value), so building the configuration never throws on a bad document: the schema's problems
 * are reported instead. Settings whose checks a schema cannot express (URLs, canonical paths,
 * settings that depend on each other) add their problems to the same list.
 */
import { isAbsolute, resolve } from 'node:path';
import { checkNode, schemaAt } from './config-schema.js';

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConfigReader {
  /** `problems`: the list validateConfig reports; `baseDir`: where relative files resolve. */
  constructor(
    readonly problems: string[],
    private readonly baseDir: string,
  ) {}

  /** The schema default of a setting (`schemaPath` as config-schema's schemaAt takes it). */
  #default(schemaPath: string): unknown {
    return schemaAt(schemaPath).default;
  }

  readonly str = (value: unknown, schemaPath: string): string => {
    if (typeof value === 'string' && value !== '') return value;
    const fallback = this.#default(schemaPath);
    return typeof fallback === 'string' ? fallback : '';
  };
  /** A string setting without a default: undefined when absent (or invalid, already reported). */
  readonly optionalStr = (value: unknown): string | undefined =>
    typeof value === 'string' && value !== '' ? value : undefined;
  readonly num = (value: unknown, schemaPath: string): number => {
    const node = schemaAt(schemaPath);
    const valid =
      typeof value === 'number' &&
      Number.isFinite(value) &&
      value >= (node.minimum ?? -Infinity) &&
      value <= (node.maximum ?? Infinity);
    return valid ? value : (node.default as number);
  };
  readonly bool = (value: unknown, schemaPath: string): boolean =>
    typeof value === 'boolean' ? value : (this.#default(schemaPath) as boolean);
  /** One of the setting's enum values, else its default. */
  readonly choice = <T extends string>(value: unknown, schemaPath: string): T => {
    const node = schemaAt(schemaPath);
    return (node.enum?.includes(value as string) === true ? value : node.default) as T;
  };
  /** A file path, resolved against the configuration file's folder. */
  readonly file = (value: unknown): string => {
    const text = this.optionalStr(value) ?? '';
    return text === '' || isAbsolute(text) ? text : resolve(this.baseDir, text);
  };
  readonly optionalFile = (value: unknown): string | undefined =>
    value === undefined ? undefined : this.file(value);
  readonly strings = (value: unknown): string[] | undefined =>
    Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '')
      ? (value as string[])
      : undefined;
  /** A header name setting, lower-cased as Node gives header names. */
  readonly header = (value: unknown, schemaPath: string): string =>
    this.str(value, schemaPath).toLowerCase();
  readonly section = (value: unknown): Json => (isObject(value) ? value : {});

  /**
   * Check a value given outside the file (an environment variable or a flag) against the
   * setting's schema; `label` names it in the problem. True when it is valid.
   */
  readonly override = (value: unknown, schemaPath: string, label: string): boolean => {
    const found: string[] = [];
    checkNode(schemaAt(schemaPath), value, label, found);
    this.problems.push(...found);
    return found.length === 0;
  };
}
