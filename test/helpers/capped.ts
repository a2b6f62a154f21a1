/**
 * Runs a command in a child process the way a hostile input should meet it: under an address-space
 * cap (ulimit -v, 6 GiB as in the review that found these), a wall-clock timeout, and with its peak
 * resident size measured (GNU time's %M where /usr/bin/time exists, else /proc polling by the fuzzer's
 * watchdog). V8's WebAssembly trap handler reserves tens of GiB of address space per memory, so the
 * child runs with it disabled (bounds checks instead), through NODE_OPTIONS so decode workers get it too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { helpersDir } from './python.js';

/** Every hostile input must stay under this peak resident size. */
export const PEAK_RSS_LIMIT_KIB = 1.5 * 1024 * 1024;
/** The address-space cap of the child. */
export const ADDRESS_SPACE_CAP_KIB = 6 * 1024 * 1024;

export interface CappedResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hung: boolean;
  /** Peak resident set size of the child (KiB). */
  maxRssKiB: number;
  seconds: number;
}

const TIME = '/usr/bin/time';

/**
 * The torchxfer whose bin/ and dist/ run: this checkout, or TXF_ROOT (another checkout's, e.g. main's,
 * to measure what a hostile input cost before a fix).
 */
export const txfRoot = process.env.TXF_ROOT ?? join(helpersDir, '..', '..');
export const dist = (...parts: string[]) => join(txfRoot, 'dist', ...parts);

/** `node ARGS...` under the cap; `cli` runs bin/torchxfer.js with the args. */
export function capped(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; cli?: boolean } = {},
): Promise<CappedResult> {
  const nodeArgs = opts.cli === false ? args : [join(txfRoot, 'bin', 'torchxfer.js'), ...args];
  const scratch = mkdtempSync(join(tmpdir(), 'txf-capped-'));
  const rssFile = join(scratch, 'rss');
  const withTime = existsSync(TIME);
  // ulimit in a shell, then exec: the cap holds for node and everything it starts.
  const script = `ulimit -v ${ADDRESS_SPACE_CAP_KIB} && exec "$@"`;
  const command = withTime
    ? [TIME, '-f', '%M', '-o', rssFile, process.execPath, ...nodeArgs]
    : [process.execPath, ...nodeArgs];
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script, 'sh', ...command], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, NODE_OPTIONS: '--disable-wasm-trap-handler' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let peak = 0;
    // Also polled (GNU time reports nothing for a child killed on timeout): node is the shell's own
    // process without GNU time, else GNU time's child.
    const poll = setInterval(() => {
      const pids = withTime ? childrenOf(child.pid) : [child.pid];
      for (const pid of pids) {
        const kib = procRssKiB(pid);
        if (kib !== undefined) peak = Math.max(peak, kib);
      }
    }, 20);
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      try {
        process.kill(-child.pid!, 'SIGKILL'); // the whole group: time, node and its workers
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs ?? 120_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      const report = withTime ? safeRead(rssFile) : '';
      const measured = Number(/^(\d+)\s*$/m.exec(report)?.[1] ?? NaN);
      rmSync(scratch, { recursive: true, force: true });
      // GNU time says so when node was killed by a signal (it then exits with 128 + the signal).
      const killed = /Command terminated by signal (\d+)/.exec(report);
      resolve({
        status: killed ? null : status,
        signal: killed ? (osSignalName(Number(killed[1])) ?? 'SIGKILL') : signal,
        stdout,
        stderr,
        hung,
        maxRssKiB: Number.isFinite(measured) ? Math.max(measured, peak) : peak,
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}

function osSignalName(n: number): NodeJS.Signals | undefined {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] as NodeJS.Signals | undefined;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function childrenOf(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  return safeRead(`/proc/${pid}/task/${pid}/children`).split(/\s+/).filter(Boolean).map(Number);
}

/** VmRSS of `pid` (KiB), undefined once it has exited. */
function procRssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
