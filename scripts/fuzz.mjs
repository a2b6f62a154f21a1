#!/usr/bin/env node
// Long-running fuzzer of the weight and DICOM readers (the test runs a bounded version).
// usage: node scripts/fuzz.mjs [--seconds 600] [--seed 1] [--batch 400] [--out fuzz-crashes]
// Needs dist/ (npx tsc -p tsconfig.json) and the addon. Seeds are made with /usr/bin/python3
// (torch.save, pydicom); every failing input is copied to --out with a .txt naming its seed,
// case index and mutations. Exit code 1 when anything crashed, hung, leaked memory or rejected badly.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { fuzzReaders } from './fuzz/run.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    seed: { type: 'string', default: '1' },
    batch: { type: 'string', default: '400' },
    out: { type: 'string', default: 'fuzz-crashes' },
  },
});
const num = (v, name) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`Expected a positive integer for --${name} but received '${v}'`);
  return n;
};
const seconds = num(values.seconds, 'seconds'),
  seed = num(values.seed, 'seed'),
  batch = num(values.batch, 'batch');
const work = mkdtempSync(join(tmpdir(), 'torchxfer-fuzz-'));
try {
  const seedsDir = join(work, 'seeds');
  execFileSync(
    process.env.TORCHXFER_PYTHON ?? '/usr/bin/python3',
    [new URL('./fuzz/seeds.py', import.meta.url).pathname, seedsDir],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const stats = await fuzzReaders({
    seedsDir,
    workDir: work,
    seed,
    seconds,
    batch,
    crashDir: resolve(values.out),
    log: (l) => console.error(l),
  });
  console.log(
    JSON.stringify(
      {
        seed,
        cases: stats.cases,
        seconds: stats.seconds,
        ok: stats.ok,
        rejected: stats.err,
        byFormat: stats.byFormat,
        maxRssMiB: Math.round(stats.maxRssKiB / 1024),
        shapes: stats.shapes,
        costliest: stats.peakCases,
        failures: stats.failures,
      },
      null,
      2,
    ),
  );
  process.exitCode = stats.failures.length ? 1 : 0;
} finally {
  rmSync(work, { recursive: true, force: true });
}
