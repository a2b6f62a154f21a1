/**
 * Child processes for tests, awaited without blocking: spawnSync and execFileSync stop the test worker's
 * event loop for as long as the child runs, and on a busy machine vitest's worker RPC (60 s) times out
 * meanwhile. runAsync keeps the loop turning and answers like spawnSync.
 */
import { spawn } from 'node:child_process';

export interface ProcessResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin (default: no stdin). */
  input?: string;
}

export function runAsync(command: string, args: string[], opts: ProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const stdin = opts.input === undefined ? 'ignore' : 'pipe';
    const child = spawn(command, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: [stdin, 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** runAsync of `node script args`, resolving to its stdout; rejects with the exit status and stderr. */
export async function runNode(args: string[], opts: ProcessOptions = {}): Promise<string> {
  const r = await runAsync(process.execPath, args, opts);
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}
