// Runs a few seeded ResNet50 training steps at 64 px and prints {losses, cache} as JSON: the CPU cache
// tests compare runs with and without the caching allocator (TORCHXFER_CPU_CACHE=off) in fresh processes.
import { loadModel } from '../../dist/model.js';
import { cpuCacheStats, manualSeed } from '../../dist/runtime.js';
import { Trainer } from '../../dist/train/trainer.js';

const [batch, size, steps] = [4, 64, 3];
manualSeed(7);
const model = await loadModel({ arch: 'resnet50', numClasses: 2, inChannels: 3, device: 'cpu' });
const trainer = new Trainer(model, { crop: size, augment: true, device: 'cpu', seed: 3 });
const images = new Uint8Array(batch * 3 * size * size).map((_, i) => (i * 2654435761) % 251);
const targets = new Float32Array(batch * 2).map((_, i) => (i % 3 === 0 ? 1 : 0));
const losses = [];
for (let step = 0; step < steps; step++) {
  const r = await trainer.step({
    images,
    shape: [batch, 3, size, size],
    targets,
    lrs: [1e-3, 1e-3, 1e-3],
    momenta: [0.9, 0.9, 0.9],
    step,
  });
  losses.push(r.loss);
}
const probs = Array.from((await trainer.evaluate({ images, shape: [batch, 3, size, size], tta: 1, seed: 5 })).output);
console.log(JSON.stringify({ losses, probs, cache: cpuCacheStats() }));
