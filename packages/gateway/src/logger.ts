/**
 * Structured JSON logs, one object per line. Callers pass only fields that are safe to log: the
 * gateway logs the path without its query string, the principal name and stable error codes,
 * never an Authorization header, a cookie, a token or a password.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void;
  /**
   * Whether a line at this level would be written; callers skip building the fields of a line
   * nobody reads (one per request). Absent: every level is written.
   */
  enabled?(level: Exclude<LogLevel, 'silent'>): boolean;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = ORDER[level];
  return {
    enabled: (entryLevel) => ORDER[entryLevel] >= threshold,
    log(entryLevel, msg, fields = {}) {
      if (ORDER[entryLevel] < threshold) return;
      write(
        JSON.stringify({ time: new Date().toISOString(), level: entryLevel, msg, ...fields }) +
          '\n',
      );
    },
  };
}
