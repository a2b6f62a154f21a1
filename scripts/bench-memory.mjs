#!/usr/bin/env node --expose-gc
// Memory over a long run: trains a small model for N steps (default 2000) through the real Trainer,
// with an evaluation and a state-dict snapshot every 100 steps, and prints RSS at intervals. Pass:
// RSS flat within 5% after warm-up. Then checks that tensors left to the garbage collector (no
// dispose()) are freed by their finalizers.
// Usage: node --expose-gc scripts/bench-memory.mjs [--steps 2000] [--size 32] [--batch 8]
import { parseArgs } from 'node:util';

import { loadModel } from '../dist/model.js';
import { native } from '../dist/native.js';
import { tensor } from '../dist/tensor.js';
import { Trainer } from '../dist/train/trainer.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '2000' },
    size: { type: 'string', default: '32' },
    batch: { type: 'string', default: '8' },
    arch: { type: 'string', default: 'resnet50' },
  },
});
const steps = Number(values.steps);
const size = Number(values.size);
const batch = Number(values.batch);
if (typeof global.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const mib = () => process.memoryUsage().rss / 2 ** 20;

const model = await loadModel({ arch: values.arch, numClasses: 2, inChannels: 1 });
const trainer = new Trainer(model, { crop: size - 4, seed: 1, mean: [0.449], std: [0.226] });
const images = new Uint8Array(batch * size * size).map((_, i) => (i * 7919) % 256);
const targets = new Float32Array(batch * 2).map((_, i) => i % 2);
const samples = [];
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  model.setTraining(true);
  await trainer.step({
    images,
    shape: [batch, 1, size, size],
    targets,
    lrs: [1e-4, 1e-4, 1e-4],
    momenta: [0.9, 0.9, 0.9],
    step: s,
  });
  if ((s + 1) % 100 === 0) {
    model.setTraining(false);
    await trainer.evaluate({ images, shape: [batch, 1, size, size], targets, tta: 2 });
    const snapshot = model.stateDict();
    for (const t of Object.values(snapshot)) t.dispose();
    global.gc();
    samples.push({ step: s + 1, rssMiB: mib() });
    console.log(
      `step ${String(s + 1).padStart(5)}  rss ${mib().toFixed(1)} MiB  (${((performance.now() - t0) / (s + 1)).toFixed(1)} ms/step)`,
    );
  }
}
trainer.dispose();
model.dispose();
const after = samples.filter((x) => x.step >= Math.min(500, steps / 4));
const lo = Math.min(...after.map((x) => x.rssMiB));
const hi = Math.max(...after.map((x) => x.rssMiB));
const drift = hi / lo - 1;
console.log(
  `after warm-up: min ${lo.toFixed(1)} MiB, max ${hi.toFixed(1)} MiB, spread ${(100 * drift).toFixed(2)}% -> ${drift <= 0.05 ? 'PASS (<= 5%)' : 'FAIL (> 5%)'}`,
);

// Finalizers: 200 MiB of tensors dropped without dispose() must come back after GC.
global.gc();
const base = mib();
const liveBefore = native().liveTensors();
let held = [];
for (let i = 0; i < 50; i++) held.push(tensor(new Float32Array(1 << 20).fill(i), [1 << 20]));
const peak = mib();
held = null;
for (let i = 0; i < 5; i++) {
  global.gc();
  await new Promise((r) => setTimeout(r, 50));
}
const released = mib();
const liveAfter = native().liveTensors();
// RSS need not fall (glibc keeps freed heap); the live-tensor count says whether finalizers ran.
console.log(
  `finalizers: 50 x 4 MiB tensors dropped without dispose(): live tensors ${liveBefore} -> ${liveBefore + 50} -> ${liveAfter} after GC (${liveAfter === liveBefore ? 'PASS: freed' : 'FAIL: not freed'}); rss ${base.toFixed(1)} -> ${peak.toFixed(1)} -> ${released.toFixed(1)} MiB`,
);
process.exitCode = drift <= 0.05 && liveAfter === liveBefore ? 0 : 1;
