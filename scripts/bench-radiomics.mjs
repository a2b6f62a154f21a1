#!/usr/bin/env node
// Radiomic features (79 per image) of the same images with torchxfer and with scikit-image + scipy
// (/usr/bin/python3), side by side: per-image times and the ratio. Target: torchxfer >= 20x faster.
// Usage: node scripts/bench-radiomics.mjs [--images 200] [--size 250] [--python /usr/bin/python3]
// Needs the built addon and dist/ (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { radiomicFeatures } from '../dist/radiomics/features.js';
import { getNumThreads, setNumThreads } from '../dist/runtime.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    size: { type: 'string', default: '250' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const n = Number(values.images);
const size = Number(values.size);

// Radiograph-like test images: smooth structure (sums of broad sinusoids) plus noise, 8-bit.
function makeImages(seed) {
  let s = seed >>> 0;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const data = new Uint8Array(n * size * size);
  for (let k = 0; k < n; k++) {
    const f = [1 + 4 * rand(), 1 + 4 * rand(), 2 * Math.PI * rand(), 20 + 40 * rand()];
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) {
        const v =
          128 +
          f[3] * Math.sin(((f[0] * r) / size) * Math.PI + f[2]) * Math.cos(((f[1] * c) / size) * Math.PI) +
          25 * (rand() - 0.5) +
          (r / size) * 40;
        data[k * size * size + r * size + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  }
  return data;
}

const PYTHON = `
import sys, time
import numpy as np
from scipy.stats import moment
from skimage.feature import graycomatrix, graycoprops
from skimage.measure import shannon_entropy
n, size = int(sys.argv[2]), int(sys.argv[3])
imgs = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(n, size, size)
props = ['contrast', 'dissimilarity', 'homogeneity', 'ASM', 'energy', 'correlation']
out = np.zeros((n, 79))
t0, c0 = time.perf_counter(), time.process_time()
for k in range(n):
    img = imgs[k]
    P = graycomatrix(img, [1, 2, 4, 6], [0, np.pi / 4, np.pi / 2], levels=256, symmetric=False, normed=True)
    f = np.concatenate([graycoprops(P, p).ravel() for p in props])
    x = img.astype(np.float64).ravel()
    out[k] = np.concatenate([f, [x.mean(), x.std()], [moment(x, moment=m) for m in (2, 3, 4, 5)], [shannon_entropy(img)]])
t, c = time.perf_counter() - t0, time.process_time() - c0
out.tofile(sys.argv[4])
print(t, c)
`;

const images = makeImages(1);
const dir = mkdtempSync(join(tmpdir(), 'bench-radiomics-'));
try {
  writeFileSync(join(dir, 'images.u8'), images);
  const py = spawnSync(
    values.python,
    ['-c', PYTHON, join(dir, 'images.u8'), String(n), String(size), join(dir, 'ref.f64')],
    { encoding: 'utf8' },
  );
  if (py.status !== 0) throw new Error(`python reference failed: ${py.stderr}`);
  const [pyMs, pyCpuMs] = py.stdout
    .trim()
    .split(' ')
    .map((v) => (Number(v) * 1000) / n);
  const { readFileSync } = await import('node:fs');
  const ref = new Float64Array(readFileSync(join(dir, 'ref.f64')).buffer.slice(0));

  const threads = getNumThreads();
  await radiomicFeatures(images.subarray(0, size * size), [1, size, size]); // warm-up
  const time = async () => {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = await radiomicFeatures(images, [n, size, size]);
    const cpu = process.cpuUsage(c0);
    return { out, ms: Number(process.hrtime.bigint() - t0) / 1e6 / n, cpuMs: (cpu.user + cpu.system) / 1000 / n };
  };
  setNumThreads(1);
  const single = await time();
  setNumThreads(threads);
  const multi = await time();

  let maxRel = 0;
  for (let i = 0; i < ref.length; i++)
    maxRel = Math.max(maxRel, Math.abs(multi.out[i] - ref[i]) / Math.max(Math.abs(ref[i]), 1e-9));
  console.log(`radiomic features, ${n} images of ${size}x${size} (79 features each)`);
  // Wall time shows what a user waits; CPU time is what the work costs (steadier on a shared machine).
  const row = (name, wall, cpu) =>
    `  ${name.padEnd(32)} ${wall.toFixed(3).padStart(9)} ms/image wall (${(pyMs / wall).toFixed(1).padStart(6)}x)  ${cpu.toFixed(3).padStart(9)} ms/image CPU (${(pyCpuMs / cpu).toFixed(1).padStart(6)}x)`;
  console.log(row('scikit-image + scipy, 1 thread', pyMs, pyCpuMs));
  console.log(row('torchxfer, 1 thread', single.ms, single.cpuMs));
  console.log(row(`torchxfer, ${threads} threads`, multi.ms, multi.cpuMs));
  console.log(`  (ratios: times faster than scikit-image + scipy)`);
  console.log(`  max relative difference to the reference: ${maxRel.toExponential(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
