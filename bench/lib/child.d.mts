// Types of child.mjs, for the TypeScript suites (the bench scripts are plain JavaScript).
export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The child is killed after this long (default 300 s). */
  readonly timeoutMs?: number;
  readonly cwd?: string;
}
/** The JSON object the command prints on its last stdout line. */
export function runJson(
  command: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<any>;
/** Everything the command printed, trimmed, with one final newline. */
export function runText(
  command: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<string>;
/** `node --import tsx <script>`: runJson of a TypeScript bench script. */
export function runTs(script: string, args: readonly string[], options?: RunOptions): Promise<any>;
