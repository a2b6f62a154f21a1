#!/usr/bin/env node
// Data pipeline rates, CPU side: decode+cache build (images/s) and cache reads for batches of 16
// random indices, raw uint8 and with a simple normalisation to Float32 ((x/255 - mean)/std).
// Usage: npx tsc -p tsconfig.json && node scripts/bench-data.mjs [images=400] [seconds=3]
// Reads run both from memory and with positioned reads from the file (page cache warm).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';

import { openCache } from '../dist/data/cache.js';
import { normalisationTable, normaliseBatch } from '../dist/data/normalise.js';

const n = Number(process.argv[2] ?? 400);
const seconds = Number(process.argv[3] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'txf-bench-data-'));
const batch = 16;
const geometry = { width: 250, height: 250 };

try {
  // NIH-like inputs: 1024x1024 8-bit grey PNGs with some structure (compresses like a radiograph).
  mkdirSync(join(dir, 'img'));
  const samples = [];
  const base = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < base.length; i++) base[i] = ((i % 1024) ^ (i >> 10)) & 0xff;
  for (let i = 0; i < n; i++) {
    const path = join(dir, 'img', `${i}.png`);
    for (let k = 0; k < 4096; k++) base[(k * 7919 + i * 104729) % base.length] = (i * 31 + k) & 0xff;
    await sharp(base, { raw: { width: 1024, height: 1024, channels: 1 } })
      .png()
      .toFile(path);
    samples.push({ id: `${i}.png`, path, patientId: String(i), targets: [i % 2] });
  }
  const ds = { name: 'bench', labels: ['x'], samples, skipped: [] };

  let t = performance.now();
  const cache = await openCache(ds, { dir: join(dir, 'cache'), geometry, progress: null });
  const buildS = (performance.now() - t) / 1000;
  console.log(
    `decode+cache build: ${n} images 1024x1024 PNG -> 250x250 in ${buildS.toFixed(2)} s = ${(n / buildS).toFixed(0)} img/s`,
  );
  cache.close();

  const lut = normalisationTable({ mean: 0.449, std: 0.226 });
  for (const [mode, inMemoryBytes] of [
    ['memory', undefined],
    ['positioned reads', 0],
  ]) {
    const c = await openCache(ds, { dir: join(dir, 'cache'), geometry, progress: null, inMemoryBytes });
    const out = new Uint8Array(batch * c.frameBytes);
    const f32 = new Float32Array(batch * c.frameBytes);
    let seed = 1;
    const pick = () => Array.from({ length: batch }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % c.length);
    for (const normalise of [false, true]) {
      let images = 0;
      t = performance.now();
      while (performance.now() - t < seconds * 1000) {
        c.readBatch(pick(), out);
        if (normalise) normaliseBatch(out, lut, f32);
        images += batch;
      }
      const s = (performance.now() - t) / 1000;
      console.log(
        `read ${mode}${normalise ? ' + Float32 normalise' : ''}: ${(images / s).toFixed(0)} img/s (batches of ${batch} random indices)`,
      );
    }
    c.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
