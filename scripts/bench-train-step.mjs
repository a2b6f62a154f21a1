#!/usr/bin/env node
// Times one DenseNet121 training step (augmentation, forward, BCE, backward, Adam) on the CPU,
// NCHW and channels_last. Usage: node scripts/bench-train-step.mjs [--batch 16] [--size 224]
// [--iters 3] [--arch densenet121] [--device cpu] [--threads N]. Needs `npx tsc -p tsconfig.json` (runs dist/).
import { performance } from 'node:perf_hooks';

import { native } from '../dist/native.js';
import { augmentBatch, Trainer } from '../dist/train/trainer.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const batch = Number(arg('batch', 16));
const size = Number(arg('size', 224));
const iters = Number(arg('iters', 3));
const arch = arg('arch', 'densenet121');
const device = arg('device', 'cpu');
if (arg('threads')) native().setNumThreads(Number(arg('threads')));
// Stored images are 250 wide; crop to `size` as training does (236 by default; 224 here for comparability).
const stored = size + 14;
const images = new Uint8Array(batch * stored * stored).map((_, i) => (i * 2654435761) >>> 24);
const targets = new Float32Array(batch).map((_, i) => i % 2);
const shape = [batch, 1, stored, stored];

const info = native().info();
const results = { arch, batch, size, device, threads: info.numThreads, torch: info.torchVersion, runs: [] };

let t0 = performance.now();
const aug = await augmentBatch(images, shape, { crop: size, device }, 1);
results.augmentMs = performance.now() - t0;
aug.dispose();

for (const channelsLast of [false, true]) {
  const model = new (native().Model)({ arch, numClasses: 1 });
  const trainer = new Trainer(model, { optimizer: 'adam', crop: size, channelsLast, device });
  const step = (i) =>
    trainer.step({ images, shape, targets, lrs: [1e-4, 1e-4, 1e-4], momenta: [0.9, 0.9, 0.9], step: i });
  await step(0); // warm-up (allocations, oneDNN primitive caches)
  const times = [];
  for (let i = 1; i <= iters; i++) {
    t0 = performance.now();
    await step(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  results.runs.push({
    layout: channelsLast ? 'channels_last' : 'NCHW',
    medianMs: times[Math.floor(times.length / 2)],
    minMs: times[0],
    times,
  });
  trainer.dispose();
  model.dispose();
}
console.log(JSON.stringify(results, null, 2));
