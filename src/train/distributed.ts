/**
 * Data-parallel helpers of the training loop: joining the group the launcher described, each rank's
 * contiguous slice of a global batch, and `--nproc N` (N local workers of the same command, the
 * torchrun way). Rank 0 alone prints, validates, tests and writes; every rank steps every batch.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';

import { DistributedContext, distributedFromEnv } from '../distributed.js';

/** Generous: rank 0 validates and writes checkpoints while the others wait in a collective. */
export const LOOP_TIMEOUT_MS = 30 * 60 * 1000;

/** Joins the group described by RANK/WORLD_SIZE (or SLURM_*) in the environment; null when not launched so. */
export async function joinFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<DistributedContext | null> {
  const found = distributedFromEnv(env);
  if (!found || found.worldSize === 1) return null;
  const timeoutMs = env.TORCHXFER_DIST_TIMEOUT_MS ? Number(env.TORCHXFER_DIST_TIMEOUT_MS) : LOOP_TIMEOUT_MS;
  const backend = env.TORCHXFER_DIST_BACKEND === 'nccl' ? 'nccl' : 'gloo';
  return DistributedContext.join({
    rank: found.rank,
    worldSize: found.worldSize,
    localRank: found.localRank,
    masterAddr: found.masterAddr,
    masterPort: found.masterPort,
    backend,
    timeoutMs,
  });
}

/** --device cuda or auto (resolved to a GPU) means this rank's own GPU, cuda:LOCAL_RANK, when data-parallel. */
export function rankDevice(spec: string, resolved: string, ctx: DistributedContext | null): string {
  return ctx && (spec === 'cuda' || spec === 'auto') && resolved.startsWith('cuda')
    ? `cuda:${ctx.localRank}`
    : resolved;
}

/** Rows [offset, offset + count) of a global batch of n for `rank` of `worldSize`: contiguous, in global order. */
export function rankSlice(n: number, rank: number, worldSize: number): { offset: number; count: number } {
  const lo = Math.floor((rank * n) / worldSize);
  const hi = Math.floor(((rank + 1) * n) / worldSize);
  return { offset: lo, count: hi - lo };
}

/** A TCP port free on this machine right now (for MASTER_PORT). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Prefixes every complete line of a stream. */
function prefixLines(stream: NodeJS.ReadableStream, prefix: string, out: NodeJS.WritableStream): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split(/\r?\n/);
    pending = lines.pop()!;
    for (const line of lines) out.write(`${prefix}${line}\n`);
  });
  stream.on('end', () => pending && out.write(`${prefix}${pending}\n`));
}

/**
 * Runs `args` (this CLI's arguments without --nproc) as `nproc` local ranks over Gloo on 127.0.0.1.
 * Rank 0's output passes through; the others' stdout is dropped and their stderr prefixed "[rank r]".
 * When a rank fails the others are stopped. Resolves to the exit code (the first failure's, else 0).
 */
export async function launchLocal(nproc: number, args: string[], script = process.argv[1]!): Promise<number> {
  const port = await freePort();
  const threads = args.some((a) => a === '--threads' || a.startsWith('--threads='))
    ? []
    : ['--threads', String(Math.max(1, Math.floor(availableParallelism() / nproc)))];
  const children: ChildProcess[] = [];
  const exits = Array.from({ length: nproc }, (_, rank) => {
    const env = {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(nproc),
      LOCAL_RANK: String(rank),
      LOCAL_WORLD_SIZE: String(nproc),
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
    };
    // Own process groups: a terminal's Ctrl-C reaches the launcher only, which forwards it once to each rank.
    const child = spawn(process.execPath, [script, ...args, ...threads], {
      env,
      detached: true,
      stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', rank === 0 ? 'inherit' : 'pipe'],
    });
    if (rank > 0) prefixLines(child.stderr!, `[rank ${rank}] `, process.stderr);
    children.push(child);
    return new Promise<number>((resolve) => {
      child.on('error', (err) => {
        process.stderr.write(`[rank ${rank}] could not start: ${err.message}\n`);
        resolve(1);
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + 1 : 1)));
    });
  });
  const forward = (sig: NodeJS.Signals) => () => children.forEach((c) => c.exitCode === null && c.kill(sig));
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let failure = 0;
  await Promise.all(
    exits.map((p, rank) =>
      p.then((code) => {
        if (code !== 0 && failure === 0) {
          failure = code;
          process.stderr.write(`torchxfer: rank ${rank} exited with code ${code}; stopping the other ranks\n`);
          children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGTERM'));
        }
      }),
    ),
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  return failure;
}

/** This process's arguments without `--nproc N` / `--nproc=N`. */
export function argsWithoutNproc(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc') i++;
    else if (!argv[i]!.startsWith('--nproc=')) out.push(argv[i]!);
  }
  return out;
}
