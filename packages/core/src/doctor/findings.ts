/**
 * What `httpauth doctor` reports: a list of findings, each a check's name, a level and one line
 * for the operator. The doctor runs on the server, for the operator; it prints principal names
 * and file paths, never a key, a password or a hash.
 */
export type FindingLevel = 'ok' | 'info' | 'warn' | 'fail';

/**
 * One result of a doctor check: which check, how bad, and one line of text for the operator. Print
 * a list with {@link renderFindings}; {@link passed} tells whether any failed.
 */
export interface Finding {
  /** Which check: 'keytab', 'spn', 'dns', 'ticket', 'digest-file', ... */
  readonly check: string;
  readonly level: FindingLevel;
  readonly message: string;
}

export const finding = (check: string, level: FindingLevel, message: string): Finding => ({
  check,
  level,
  message,
});

const MARK: Record<FindingLevel, string> = { ok: 'ok  ', info: 'info', warn: 'WARN', fail: 'FAIL' };

/** One line per finding, `LEVEL check: message`. */
export function renderFindings(findings: readonly Finding[]): string {
  return findings.map((f) => `${MARK[f.level]} ${f.check}: ${f.message}`).join('\n');
}

/** True when no finding failed. */
export function passed(findings: readonly Finding[]): boolean {
  return findings.every((f) => f.level !== 'fail');
}
