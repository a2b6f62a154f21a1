#!/usr/bin/env node
// Benchmark: reading torchvision DenseNet121 weights (random init, ~32 MB) with readStateDict.
// Target (issue 3): <= 0.5 s per read. Needs /usr/bin/python3 with torch + torchvision, and dist/ built.
// usage: node scripts/bench-weights.mjs [repeats=5]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readStateDict, writeSafetensors } from '../dist/weights/io.js';

const repeats = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'torchxfer-bench-weights-'));
try {
  execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `
import torch, torchvision
sd = torchvision.models.densenet121().state_dict()
torch.save(sd, '${dir}/densenet121.pth')
torch.save(sd, '${dir}/densenet121-legacy.pth', _use_new_zipfile_serialization=False)
`,
    ],
    { stdio: 'inherit' },
  );
  const sd = await readStateDict(join(dir, 'densenet121.pth'));
  await writeSafetensors(join(dir, 'densenet121.safetensors'), sd);
  for (const file of ['densenet121.pth', 'densenet121-legacy.pth', 'densenet121.safetensors']) {
    const path = join(dir, file);
    const times = [];
    let count = 0;
    for (let i = 0; i < repeats; i++) {
      const t0 = performance.now();
      const tensors = await readStateDict(path);
      times.push((performance.now() - t0) / 1000);
      count = Object.keys(tensors).length;
    }
    times.sort((a, b) => a - b);
    const mb = statSync(path).size / 1e6;
    console.log(
      `${file.padEnd(26)} ${mb.toFixed(1)} MB  ${count} tensors  median ${times[times.length >> 1].toFixed(3)} s  best ${times[0].toFixed(3)} s  (target <= 0.5 s)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
