// Runs one measurement in its own process, so that peers never share a heap, a JIT state, a
// replay cache or a thread pool, and collects the JSON object it prints on its last stdout line
// (or, for scripts that print their own markdown, all of stdout).
import { spawn } from 'node:child_process';

export function runJson(command, args, options = {}) {
  return run(command, args, options).then(({ stdout, label }) => {
    const last = stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last);
    } catch {
      throw new Error(`${label} printed no JSON result: ${stdout.slice(-500)}`);
    }
  });
}

/** A script that prints its own markdown: everything it printed, trimmed. */
export function runText(command, args, options = {}) {
  return run(command, args, options).then(({ stdout }) => stdout.trim() + '\n');
}

function run(command, args, { env = process.env, timeoutMs = 300_000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const label = `${command} ${args.join(' ')}`;
      if (code !== 0) {
        reject(new Error(`${label} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
        return;
      }
      resolve({ stdout, label });
    });
  });
}

/** `node --import tsx <script>`: TypeScript bench scripts run straight from source. */
export function runTs(script, args, options) {
  return runJson(process.execPath, ['--import', 'tsx', script, ...args], options);
}
