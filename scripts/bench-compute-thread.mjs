#!/usr/bin/env node
// Benchmark: how early a small file read finishes while LibTorch work is queued on the compute thread.
// All LibTorch work runs in order on one compute thread, not on libuv's pool (docs/benchmarks.md), so a
// read queued behind 8 matmuls should finish in milliseconds, among the first of the 9 completions.
// This is the timing half of test/native-runtime.test.ts's compute-thread test (which checks order only).
// usage: node scripts/bench-compute-thread.mjs [repeats=5] [n=1536]   (needs dist/ built)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { median } from '../dist/stats/describe.js';
import { tensor } from '../dist/tensor.js';

const repeats = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 1536);
const dir = mkdtempSync(join(tmpdir(), 'torchxfer-bench-compute-'));
try {
  const file = join(dir, 'small.txt');
  writeFileSync(file, 'hello');
  const a = tensor(new Float32Array(n * n).fill(0.25), [n, n]);
  await a.matmul(a); // warm-up
  const readMs = [];
  const ranks = [];
  const lastMatmulMs = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const done = [];
    const jobs = Array.from({ length: 8 }, (_, i) =>
      a.matmul(a).then(() => done.push({ what: `matmul ${i}`, ms: performance.now() - t0 })),
    );
    const read = readFile(file, 'utf8').then(() => done.push({ what: 'read', ms: performance.now() - t0 }));
    await Promise.all([...jobs, read]);
    const at = done.findIndex((d) => d.what === 'read');
    readMs.push(done[at].ms);
    ranks.push(at + 1);
    lastMatmulMs.push(done.at(-1).ms);
  }
  console.log(`${n}x${n} matmuls x8 queued, then a 5-byte file read; ${repeats} repeats`);
  console.log(
    `read done after  median ${median(readMs).toFixed(1)} ms (max ${Math.max(...readMs).toFixed(1)} ms), completion rank median ${median(ranks)} of 9 (worst ${Math.max(...ranks)})`,
  );
  console.log(`last matmul done median ${median(lastMatmulMs).toFixed(0)} ms`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
