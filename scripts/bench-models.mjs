#!/usr/bin/env node
// Forward (eval, no grad) time of a classifier on this machine: node scripts/bench-models.mjs
//   [--arch densenet121|resnet50] [--batch 16] [--size 224] [--iters 5] [--threads N] [--channels-last]
// Needs the built addon (build/Release/torchxfer.node) and dist/ (npx tsc -p tsconfig.json).
import { parseArgs } from 'node:util';

import { getNumThreads, loadModel, setNumThreads } from '../dist/index.js';

const { values: opt } = parseArgs({
  options: {
    arch: { type: 'string', default: 'densenet121' },
    batch: { type: 'string', default: '16' },
    size: { type: 'string', default: '224' },
    iters: { type: 'string', default: '5' },
    threads: { type: 'string' },
    'channels-last': { type: 'boolean', default: false },
  },
});
if (opt.threads) setNumThreads(Number(opt.threads));
const [batch, size, iters] = [Number(opt.batch), Number(opt.size), Number(opt.iters)];
const model = await loadModel({ arch: opt.arch, numClasses: 1, channelsLast: opt['channels-last'] });
const input = new Float32Array(batch * 3 * size * size).map(() => Math.random() * 2 - 1);
await model.predict(input, [batch, 3, size, size]); // warm-up (allocator, oneDNN primitives)
const times = [];
for (let i = 0; i < iters; i++) {
  const t0 = process.hrtime.bigint();
  await model.predict(input, [batch, 3, size, size]);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
console.log(
  JSON.stringify({
    arch: opt.arch,
    batch,
    size,
    threads: getNumThreads(),
    channelsLast: opt['channels-last'],
    iters,
    medianMs: Math.round(median),
    minMs: Math.round(times[0]),
    imagesPerSecond: Number(((batch * 1000) / median).toFixed(2)),
  }),
);
model.dispose();
