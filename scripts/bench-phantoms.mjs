#!/usr/bin/env node
// Phantom generation speed: images/s for chest and msk sets at 256 px, with worker threads and in one
// thread, plus CPU time per image (process-wide, workers included), which a busy machine distorts less
// than wall time; cores * 1000 / (CPU ms per image) is the rate the machine sustains when otherwise idle.
// Run after `npx tsc -p tsconfig.json`. Usage: node scripts/bench-phantoms.mjs [n] [size]
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { synthesize } from '../dist/data/phantom/index.js';

const n = Number(process.argv[2] ?? 400);
const size = Number(process.argv[3] ?? 256);
const root = await mkdtemp(join(tmpdir(), 'torchxfer-bench-phantoms-'));
console.log(
  `cores ${availableParallelism()}, load average ${loadavg()
    .map((v) => v.toFixed(1))
    .join(' ')}, n ${n}, size ${size}`,
);
try {
  for (const kind of ['chest', 'msk']) {
    for (const threads of [undefined, 0]) {
      const out = join(root, `${kind}-${threads ?? 'auto'}`);
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      await synthesize({ kind, out, n, seed: 1, size, threads });
      const s = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      const cpuMs = (cpu.user + cpu.system) / 1000 / n;
      console.log(
        `${kind.padEnd(5)} threads ${String(threads ?? 'auto').padEnd(4)} ${(n / s).toFixed(0).padStart(5)} img/s  (${s.toFixed(2)} s)` +
          `  CPU ${cpuMs.toFixed(2)} ms/img -> idle-machine capacity ${((availableParallelism() * 1000) / cpuMs).toFixed(0)} img/s`,
      );
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
