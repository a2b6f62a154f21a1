// Drives the reader fuzzer: writes a batch of mutants, reads them in a child process (so a segfault
// or abort is seen as the child's signal, not our own death), times out hung cases, and restarts
// the child after the culprit. Used by test/fuzz-readers.test.ts and scripts/fuzz.mjs.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeInputSeeds } from './inputs.mjs';
import { formatOf, mutant } from './mutate.mjs';
import { watchRss } from './watchdog.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The hostile shapes of mutate.mjs, counted per run: weights (floods, nesting, aliasing, header floods)
// and DICOM (undefined-length sequences and elements, encapsulated fragments, deflated bodies and bombs).
const HOSTILE_SHAPES = [
  /flood/,
  /nested/,
  /aliased|tensors over the range/,
  /header of \d+ zeros/,
  /undefined-length|length undefined/,
  /encapsulated/,
  /deflated/,
  /dicom declares/,
  /png declares|jpeg (progressive )?declares/,
  /db: /,
  /spec (nGrid|\d+ seeds|name|an absolute|a size|\d+ arms|a target|a negative)/,
];

/**
 * @param {object} o
 * @param {string} o.seedsDir   valid files (seeds.py)
 * @param {string} o.workDir    scratch space for mutants
 * @param {number} o.seed
 * @param {number} [o.cases]    stop after this many cases...
 * @param {number} [o.seconds]  ...or after this long
 * @param {number} [o.batch]    cases per child process
 * @param {number} [o.jobs]     child processes at once
 * @param {number} [o.caseTimeoutMs]  a case without an answer for this long is a hang
 * @param {number} [o.maxRssMiB]      a child above this resident size is killed: a memory failure
 * @param {string} [o.crashDir] where failing inputs are copied
 * @param {(line: string) => void} [o.log]
 */
export async function fuzzReaders(o) {
  await writeInputSeeds(o.seedsDir, join(here, '..', '..', 'dist'));
  const seeds = readdirSync(o.seedsDir)
    .filter((f) => /\.(pth|safetensors|dcm|png|jpg|db|json)$/.test(f))
    .sort();
  const bytes = seeds.map((f) => readFileSync(join(o.seedsDir, f)));
  const batch = o.batch ?? 400;
  const limitCases = o.cases ?? Infinity;
  const deadline = o.seconds ? Date.now() + o.seconds * 1000 : Infinity;
  const started = Date.now();
  // peakCases: the cases that raised a child's peak resident size most (what each hostile shape costs);
  // byFormat[f].maxRiseKiB: the most one case of that format raised it.
  // shapes: how many cases carried each hostile shape (mutate.mjs `shapes`).
  const stats = { cases: 0, ok: 0, err: 0, failures: [], maxRssKiB: 0, byFormat: {}, peakCases: [], shapes: {} };
  let nextStart = 0;
  // `jobs` children at once: a loaded machine spends most of a case waiting, not computing.
  const worker = async () => {
    while (nextStart < limitCases && Date.now() < deadline) {
      const start = nextStart;
      const n = Math.min(batch, limitCases - start);
      nextStart += n;
      const dir = join(o.workDir, `batch-${start}`);
      mkdirSync(dir, { recursive: true });
      const cases = [];
      for (let k = 0; k < n; k++) {
        const index = start + k;
        const s = index % seeds.length;
        const format = formatOf(seeds[s]);
        const m = mutant(bytes[s], format, o.seed, index);
        const path = join(dir, `case-${index}${extname(seeds[s])}`);
        writeFileSync(path, m.bytes);
        cases.push({ path, format, index, seedFile: seeds[s], what: m.what });
      }
      writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
      await runBatch(dir, cases, o, stats);
      rmSync(dir, { recursive: true, force: true });
      o.log?.(
        `${stats.cases} cases, ${stats.failures.length} failures, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    }
  };
  await Promise.all(Array.from({ length: o.jobs ?? 2 }, worker));
  stats.seconds = (Date.now() - started) / 1000;
  return stats;
}

async function runBatch(dir, cases, o, stats) {
  let next = 0;
  while (next < cases.length) {
    const r = await runChild(join(dir, 'cases.json'), next, o.caseTimeoutMs ?? 10_000, o.maxRssMiB ?? 1536);
    let before; // the child's first case also pays for loading LibTorch: it sets the baseline
    for (const [i, outcome, detail, rssKiB] of r.done) {
      stats.cases++;
      const c = cases[i];
      stats.byFormat[c.format] ??= { ok: 0, err: 0, maxRiseKiB: 0 };
      if (before !== undefined && rssKiB > before) notePeak(stats, c, rssKiB, rssKiB - before);
      for (const shape of HOSTILE_SHAPES)
        if (shape.test(c.what)) stats.shapes[shape.source] = (stats.shapes[shape.source] ?? 0) + 1;
      before = Math.max(before ?? 0, rssKiB);
      if (outcome === 'ok' || outcome === 'err') {
        stats[outcome]++;
        stats.byFormat[c.format][outcome]++;
      } else fail(stats, o, c, 'bad-error', detail);
    }
    if (r.rssKiB) stats.maxRssKiB = Math.max(stats.maxRssKiB, r.rssKiB);
    if (r.rssKiB > (o.maxRssMiB ?? 1536) * 1024)
      fail(stats, o, cases[cases.length - 1], 'memory', `child reached ${r.rssKiB} KiB resident`);
    if (r.killedForMemory && r.current !== undefined) {
      stats.cases++;
      fail(
        stats,
        o,
        cases[r.current],
        'memory',
        `killed above ${o.maxRssMiB ?? 1536} MiB resident (peak seen ${r.peakKiB} KiB)`,
      );
      next = r.current + 1;
      continue;
    }
    if (r.current === undefined) {
      if (r.done.length === 0 && r.rssKiB === undefined && next < cases.length)
        throw new Error(`fuzz child failed to start: ${r.stderr.slice(-2000)}`);
      break;
    }
    stats.cases++;
    const why = r.hung
      ? `no answer within ${o.caseTimeoutMs ?? 10_000} ms`
      : `child died (signal ${r.signal}, exit code ${r.code}): ${r.stderr.slice(-600)}`;
    fail(stats, o, cases[r.current], r.hung ? 'hang' : 'crash', why);
    next = r.current + 1;
  }
}

function notePeak(stats, c, rssKiB, riseKiB) {
  const f = stats.byFormat[c.format];
  f.maxRiseKiB = Math.max(f.maxRiseKiB, riseKiB);
  stats.peakCases.push({ index: c.index, format: c.format, mutation: c.what, rssKiB, riseKiB });
  stats.peakCases.sort((a, b) => b.riseKiB - a.riseKiB);
  stats.peakCases.length = Math.min(stats.peakCases.length, 10);
}

function fail(stats, o, c, kind, detail) {
  const f = { kind, index: c.index, seed: o.seed, seedFile: c.seedFile, mutation: c.what, detail };
  stats.failures.push(f);
  if (o.crashDir) {
    mkdirSync(o.crashDir, { recursive: true });
    const name = `${kind}-seed${o.seed}-case${c.index}-${c.seedFile}`;
    copyFileSync(c.path, join(o.crashDir, name));
    writeFileSync(join(o.crashDir, `${name}.txt`), JSON.stringify(f, null, 2) + '\n');
  }
}

/** One child over cases[first..]: the cases it answered, and the one it was on when it died or hung. */
function runChild(casesFile, first, timeoutMs, maxRssMiB) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(here, 'child.mjs'), casesFile, String(first)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
    const watch = watchRss(child, maxRssMiB);
    const done = [];
    let current;
    let rssKiB;
    let hung = false;
    let stderr = '';
    let buf = '';
    let timer;
    const arm = (ms = timeoutMs) => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, ms);
    };
    arm(Math.max(60_000, timeoutMs)); // loading LibTorch and sharp can take long on a loaded machine
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-8000);
    });
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const [tag, idx, outcome, rss, ...rest] = line.split(' ');
        if (tag === 'B') {
          current = Number(idx);
          arm();
        } else if (tag === 'E') {
          done.push([Number(idx), outcome, rest.join(' '), Number(rss)]);
          current = undefined;
          arm();
        } else if (tag === 'R') rssKiB = Number(idx);
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const clean = code === 0 && signal === null;
      // A death between cases (a finalizer, say) is pinned on the case answered last.
      const last = done.length ? done[done.length - 1][0] : first;
      resolveRun({
        done,
        current: clean && !hung ? undefined : (current ?? last),
        hung,
        code,
        signal,
        rssKiB,
        stderr,
        killedForMemory: watch.killed(),
        peakKiB: watch.peakKiB(),
      });
    });
  });
}
