/** The bad-input battery's CLI runner and its one verdict: a clean failure or a reported skip. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

import { helpersDir } from './python.js';

export const CLI = join(helpersDir, '..', '..', 'bin', 'torchxfer.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
}

/** Runs `node bin/torchxfer.js ...args` (needs dist/: npx tsc -p tsconfig.json), killed after `timeoutMs`. */
export function cli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal: hung ? null : signal, stdout, stderr, hung });
    });
  });
}

/** Exited by itself (no hang, no native abort or segfault), without a JS stack trace. */
function expectNoCrash(r: CliResult): void {
  const where = `stdout: ${r.stdout.slice(-500)}\nstderr: ${r.stderr.slice(-1500)}`;
  expect(r.hung, `hung; ${where}`).toBe(false);
  expect(r.signal, `killed by a signal; ${where}`).toBeNull();
  expect(r.stderr, 'a stack trace instead of a message').not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
  expect(r.stderr).not.toMatch(/Segmentation fault|Aborted|core dumped|terminate called/);
}

/** A failure: non-zero exit code and a message naming the culprit (file, option, line...). */
export function expectCleanFailure(r: CliResult, ...culprits: (string | RegExp)[]): void {
  expectNoCrash(r);
  expect(r.status, `exit code; stderr: ${r.stderr.slice(-1500)}`).not.toBe(0);
  for (const c of culprits)
    expect(r.stderr).toMatch(typeof c === 'string' ? new RegExp(c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : c);
}

/** A reported skip: exit code 0, the culprit named on stderr. */
export function expectReportedSkip(r: CliResult, ...culprits: (string | RegExp)[]): void {
  expectNoCrash(r);
  expect(r.status, `exit code; stderr: ${r.stderr.slice(-1500)}`).toBe(0);
  for (const c of culprits)
    expect(r.stderr).toMatch(typeof c === 'string' ? new RegExp(c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : c);
}
