/**
 * Structured JSON logs, one object per line. Callers pass only fields that are safe to log: the
 * gateway logs the path without its query string, the principal name and stable error codes,
 * never an Authorization header, a cookie, a token or a password.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const threshold = ORDER[level];
  return {
    log(entryLevel, msg, fields = {}) {
      if (ORDER[entryLevel] < threshold) return;
      write(
        JSON.stringify({ time: new Date().toISOString(), level: entryLevel, msg, ...fields }) +
          '\n',
      );
    },
  };
}
