// One rank (or a lone process) of the data-parallel parity test: ResNet50 on tiny seeded grey images,
// a few SGD steps over the same global batches, the final state_dict written to a safetensors file.
// Runs dist/ (build it with `npx tsc -p tsconfig.json`). Argument: a JSON config (see distributed.test.ts).
// Single modules rather than dist/index.js: each worker starts faster.
import { mulberry32 } from '../../dist/random.js';
import { DistributedContext } from '../../dist/distributed.js';
import { loadModel } from '../../dist/model.js';
import { manualSeed, setNumThreads } from '../../dist/runtime.js';
import { rankSlice } from '../../dist/train/distributed.js';
import { Trainer } from '../../dist/train/trainer.js';
import { writeSafetensors } from '../../dist/weights/io.js';

const cfg = JSON.parse(process.argv[2]);
const { rank = 0, worldSize = 1, port, seed, slices = 1, steps, batch, side, crop, frozenBackbone = false, out } = cfg;
setNumThreads(cfg.threads ?? 1);

manualSeed(1234); // the same initial weights everywhere (rank 0's are broadcast anyway)
const model = await loadModel({ arch: 'resnet50', numClasses: 2, inChannels: 1 });
if (frozenBackbone) {
  model.setFrozenBatchNorm('frozen');
  model.freeze([0, 1]);
}
const trainer = new Trainer(model, { optimizer: 'sgd', crop, mean: [0.5], std: [0.25], seed, batchSlices: slices });
const ctx =
  worldSize > 1 ? await DistributedContext.join({ rank, worldSize, masterPort: port, timeoutMs: 60000 }) : null;
if (ctx) await trainer.attachDistributed(ctx);
if (cfg.dieAfterJoin) process.exit(3); // a peer that dies: the others' next collective must fail clearly

const headWeight = async () => {
  const state = model.stateDict();
  const w = await state['fc.weight'].data();
  for (const t of Object.values(state)) t.dispose();
  return w;
};
const head0 = await headWeight();

// The dataset: 2 * batch images, the global batch of step s is images [s*batch % 2batch, +batch).
const rand = mulberry32(99);
const images = Uint8Array.from({ length: 2 * batch * side * side }, () => Math.floor(rand() * 256));
const targets = Float32Array.from({ length: 2 * batch * 2 }, (_, i) => (i === 5 ? NaN : rand() < 0.5 ? 0 : 1));
const losses = [];
for (let s = 0; s < steps; s++) {
  const start = (s % 2) * batch;
  const { offset, count } = rankSlice(batch, rank, worldSize);
  const px = side * side;
  const r = await trainer.step({
    images: images.subarray((start + offset) * px, (start + offset + count) * px),
    shape: [count, 1, side, side],
    targets: targets.subarray((start + offset) * 2, (start + offset + count) * 2),
    lrs: [0.01, 0.01, 0.01],
    momenta: [0.9, 0.9, 0.9],
    step: s,
    slice: { offset, total: batch },
  });
  losses.push(r.loss);
}
const head1 = await headWeight();
const headMoved = Math.max(...head1.map((v, i) => Math.abs(v - head0[i])));
const t0 = performance.now();
const timed = cfg.timeSteps ?? 0;
for (let s = 0; s < timed; s++) {
  const { offset, count } = rankSlice(batch, rank, worldSize);
  await trainer.step({
    images: images.subarray(offset * side * side, (offset + count) * side * side),
    shape: [count, 1, side, side],
    targets: targets.subarray(offset * 2, (offset + count) * 2),
    lrs: [0, 0, 0],
    momenta: [0.9, 0.9, 0.9],
    step: steps + s,
    slice: { offset, total: batch },
  });
}
const msPerStep = timed ? (performance.now() - t0) / timed : null;
await writeSafetensors(out, model.stateDict());
process.stdout.write(JSON.stringify({ rank, losses, headMoved, msPerStep }) + '\n');
trainer.dispose();
model.dispose();
ctx?.dispose();
