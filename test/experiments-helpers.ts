// Shared by the experiments tests: the deterministic fake ArmRunner (written as a module so a CLI
// child process can register it through the library API), CLI spawning and record comparison.
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { packageRoot } from '../src/native.js';

/**
 * AUC rises with N; one-cycle, gradual unfreezing and the same-anatomy source help; tiny noise from
 * the job key. Source jobs write their checkpoint; dependent jobs check theirs exists. FAKE_DELAY_MS
 * slows every epoch; FAKE_HANG_AFTER=K finishes K runs, then the next one never ends (the kill test
 * kills the process while that run is marked running); FAKE_FAIL_DATA makes jobs on that dataset throw,
 * FAKE_FAIL_ARM=option=value jobs whose arm has that value (e.g. strategy=feature-extractor). Results carry
 * what the real runner records: method, counts (binary N > 400 is short of unique images), evaluation sizes.
 */
export const FAKE_RUNNER_SOURCE = `
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
const h = (s) => createHash('sha256').update(s).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sizeOf = (job) => (job.n === 'all' ? 1000 : job.n);
export function fakeAuc(job) {
  const n = sizeOf(job);
  const a = job.arm;
  const bonus = (a.policy === 'one-cycle' ? 0.04 : 0) + (a.strategy === 'gradual-unfreeze' || a.strategy === 'discriminative' ? 0.02 : 0)
    + (a.source === 'chest-source' ? 0.05 : a.source === 'msk-source' ? 0.01 : 0);
  const noise = (parseInt(h(job.key).slice(0, 6), 16) / 0xffffff - 0.5) * 0.004;
  return Math.min(0.99, 0.55 + 0.3 * (1 - Math.exp(-n / 150)) + bonus + noise);
}
let started = 0;
export default {
  async run(job, ctx) {
    if (process.env.FAKE_FAIL_DATA === job.data.name) throw new Error('fake failure on ' + job.data.name);
    const failArm = (process.env.FAKE_FAIL_ARM ?? '').split('=');
    if (failArm.length === 2 && String(job.arm[failArm[0]]) === failArm[1]) throw new Error('fake failure of arm ' + failArm.join('='));
    if (process.env.FAKE_HANG_AFTER && ++started > Number(process.env.FAKE_HANG_AFTER)) await sleep(1e9);
    if (job.dependsOn && !(job.initCheckpoint && existsSync(job.initCheckpoint))) throw new Error('source checkpoint missing: ' + job.initCheckpoint);
    const auc = fakeAuc(job);
    const n = sizeOf(job);
    const delay = Number(process.env.FAKE_DELAY_MS || 0);
    const epochs = [];
    for (let e = 1; e <= job.arm.epochs; e++) {
      if (delay) await sleep(delay);
      const m = { epoch: e, trainLoss: 1 / e, valLoss: 1 / e + 0.1, valAuc: auc * (0.9 + 0.1 * e / job.arm.epochs), lr: 0.001 / e };
      epochs.push(m);
      ctx.onEpoch(m);
    }
    let checkpoint;
    if (job.kind === 'source') { writeFileSync(job.checkpointOut, 'fake weights ' + job.key); checkpoint = job.checkpointOut; }
    const labels = job.data.labels ?? ['y'];
    return {
      testAuc: auc, testAucTta: job.arm.tta ? Math.min(0.995, auc + 0.01) : null, testAucCi: [auc - 0.03, Math.min(1, auc + 0.03)],
      perLabelAuc: Object.fromEntries(labels.map((l, i) => [l, auc - 0.001 * i])),
      valLoss: 0.1 + 1 / job.arm.epochs, bestEpoch: job.arm.epochs, epochs,
      timings: { trainS: 1.5, evalS: 0.25 }, sampleIdsHash: h(job.data.name + ':' + job.n + ':' + job.seed),
      checkpoint, schedule: { step: [0, 1, 2, 3], lr: [0.0001, 0.001, 0.0005, 0.00001] },
      lrFinder: job.kind === 'target' && job.n === 50 ? { lr: [1e-6, 1e-4, 1e-2, 1], loss: [0.7, 0.6, 0.4, 2], chosen: 1e-2 } : undefined,
      // A found max LR (the finder runs where the job reuses none), else the one given to it.
      maxLr: job.maxLr ?? (job.arm.maxLr === 'auto' ? 1e-3 * (1 + parseInt(h(job.key).slice(0, 4), 16) / 0xffff) : job.arm.maxLr),
      versions: { torch: 'fake' },
      method: job.arm.method ?? 'cnn', simulated: job.data.dataset.startsWith('phantom'),
      counts: { nRequested: n, nTrained: n, uniqueImages: Math.min(n, 400 + n / 2), uniquePositives: Math.min(n / 2, 200), droppedFiles: 0, poolPositives: 200 },
      // As the real runner: each seed draws its own validation set (its patient split).
      evalSizes: { val: 40 - 2 * job.seed, test: 100, valPositives: 20 - job.seed, testPositives: 50 },
      lrRule: job.arm.maxLr === 'auto' ? (job.maxLr !== undefined ? 'reused' : 'minimum') : 'given',
    };
  },
};
`;

const made: string[] = [];

export function tempDir(prefix = 'txexp-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every folder tempDir made (call from afterAll). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Writes the fake runner module into `dir`, returns its path. */
export function writeFakeRunner(dir: string): string {
  const path = join(dir, 'fake-runner.mjs');
  writeFileSync(path, FAKE_RUNNER_SOURCE);
  return path;
}

export const CLI = join(packageRoot, 'bin', 'torchxfer.js');

/**
 * Writes the fake runner and a CLI entry point into `dir` that registers it (registerArmRunner, as an
 * embedding program would) before running the compiled CLI; returns the entry's path for runCli/spawnCli.
 */
export function writeFakeCli(dir: string): string {
  const runner = writeFakeRunner(dir);
  const path = join(dir, 'fake-cli.mjs');
  const dist = (file: string) => JSON.stringify(pathToFileURL(join(packageRoot, 'dist', file)).href);
  writeFileSync(
    path,
    `import { main } from ${dist('cli.js')};
import { registerArmRunner } from ${dist('index.js')};
import fake from ${JSON.stringify(pathToFileURL(runner).href)};
registerArmRunner(() => fake);
process.exitCode = await main(process.argv.slice(2));
`,
  );
  return path;
}

export function runCli(args: string[], env: Record<string, string> = {}, cli = CLI): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

/**
 * runCli for long commands: asynchronous (a synchronous child over 60 s starves vitest's RPC) and with
 * no time limit of its own (the test's timeout bounds it).
 */
export function runCliAsync(
  args: string[],
  env: Record<string, string> = {},
  cli = CLI,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env, cli);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export function spawnCli(args: string[], env: Record<string, string> = {}, cli = CLI) {
  return spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Export JSON minus what legitimately differs between runs of the same job (times, attempts, paths). */
export function comparableRecords(exported: string): unknown {
  const j = JSON.parse(exported) as { experiments: Record<string, unknown>[]; runs: Record<string, unknown>[] };
  return {
    experiments: j.experiments.map(({ created_at: _c, ...e }) => e),
    runs: j.runs.map(({ started_at: _s, finished_at: _f, attempts: _a, host: _h, ...r }) => ({
      ...r,
      checkpoint: r.checkpoint ? basename(r.checkpoint as string) : null,
    })),
  };
}

/** Headless Chromium's flags for a report test, with a fresh profile folder (removed with the temp dirs). */
export function chromiumFlags(): string[] {
  const profile = tempDir('txchrome-');
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
  ];
}

/** The DOM of an HTML file as headless Chromium renders it (scripts run, nothing fetched). */
export function chromiumDom(html: string, flags = chromiumFlags()): string {
  return execFileSync('/usr/bin/chromium', [...flags, '--dump-dom', `file://${html}`], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}
