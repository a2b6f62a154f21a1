#!/usr/bin/env node
// Time per training step of 1 process vs N data-parallel processes (Gloo on 127.0.0.1), same global
// batch, ResNet50 on grey images. Usage: node scripts/bench-distributed.mjs [--side 64] [--batch 16] [--steps 5]
// [--nproc 2]
// Needs dist/ (npx tsc -p tsconfig.json). Threads: all cores for 1 process, cores/N for each rank.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePort } from '../dist/train/distributed.js';

const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const side = arg('side', 64),
  batch = arg('batch', 16),
  steps = arg('steps', 5),
  nproc = arg('nproc', 2);
const worker = join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'helpers', 'distributed-worker.mjs');
const dir = mkdtempSync(join(tmpdir(), 'torchxfer-bench-dist-'));
const cores = availableParallelism();

const run = (cfg) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited ${code}`))));
  });

const common = { seed: 1, steps: 1, timeSteps: steps, batch, side, crop: side - 4 };
const one = await run({ ...common, threads: cores, out: join(dir, 'one.safetensors') });
const port = await freePort();
const many = await Promise.all(
  Array.from({ length: nproc }, (_, rank) =>
    run({
      ...common,
      rank,
      worldSize: nproc,
      port,
      threads: Math.max(1, Math.floor(cores / nproc)),
      out: join(dir, `r${rank}.safetensors`),
    }),
  ),
);
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    cores,
    side,
    batch,
    steps,
    oneProcessMsPerStep: +one.msPerStep.toFixed(1),
    [`${nproc}ProcessesMsPerStep`]: +many[0].msPerStep.toFixed(1),
  }),
);
