/**
 * Checks for configuration values: each returns the value (or a fallback) and records a problem
 * with the setting's path, so validation reports every problem at once.
 */
import { isAbsolute, resolve } from 'node:path';
import type { ChannelBindingMode } from '@httpauth/core';
import { HEADER_NAME } from './config-types.js';

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class ConfigChecks {
  readonly problems: string[] = [];

  /** `baseDir`: relative file paths resolve against it (the configuration file's folder). */
  constructor(private readonly baseDir: string) {}

  readonly str = (value: unknown, path: string, fallback?: string): string => {
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) {
      this.problems.push(`${path} must be a non-empty string`);
      return fallback ?? '';
    }
    return value;
  };
  readonly num = (
    value: unknown,
    path: string,
    fallback: number,
    min: number,
    max: number,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      this.problems.push(`${path} must be a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  readonly bool = (value: unknown, path: string, fallback: boolean): boolean => {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.problems.push(`${path} must be true or false`);
      return fallback;
    }
    return value;
  };
  readonly file = (value: unknown, path: string): string => {
    const text = this.str(value, path);
    return text === '' ? text : isAbsolute(text) ? text : resolve(this.baseDir, text);
  };
  readonly strings = (value: unknown, path: string): string[] | undefined => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) {
      this.problems.push(`${path} must be a list of strings`);
      return undefined;
    }
    return value as string[];
  };
  readonly header = (value: unknown, path: string, fallback: string): string => {
    const text = this.str(value, path, fallback);
    if (!HEADER_NAME.test(text)) this.problems.push(`${path} "${text}" is not a valid header name`);
    return text.toLowerCase();
  };
  /** An object setting; with `keys`, every other key is reported (a typo must not pass silently). */
  readonly section = (value: unknown, path: string, keys?: readonly string[]): Json => {
    if (value === undefined) return {};
    if (!isObject(value)) {
      this.problems.push(`${path} must be an object`);
      return {};
    }
    if (keys !== undefined)
      for (const key of Object.keys(value))
        if (!keys.includes(key)) this.problems.push(`unknown setting "${path}.${key}"`);
    return value;
  };

  readonly bindingMode = (value: unknown, path: string): ChannelBindingMode | undefined => {
    if (value === undefined) return undefined;
    if (value === 'none' || value === 'allow' || value === 'require') return value;
    this.problems.push(`${path} must be none, allow or require`);
    return undefined;
  };
}
