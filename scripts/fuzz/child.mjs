// Reads each case of a batch with torchxfer's readers and reports one line per case on stdout:
//   B <i>                 before case i (so a crash or hang is pinned on it)
//   E <i> ok|err|bad <maxRSS KiB so far> <detail>
//   R <maxRSS KiB>        at the end
// usage: node child.mjs CASES.json FIRST   (CASES: [{path, format}]); needs dist/ (npx tsc).
import { readFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { readStateDict, readSafetensors, inspectWeights, tensorBytes } = await import(
  join(root, 'dist', 'weights', 'io.js')
);
const { decodeGrey } = await import(join(root, 'dist', 'data', 'decode.js'));
const { ResultsDb } = await import(join(root, 'dist', 'experiments', 'db.js'));
const { loadSpec } = await import(join(root, 'dist', 'experiments', 'spec.js'));
const { native } = await import(join(root, 'dist', 'native.js'));
// One intra-op thread: tiny files need no more, and LibTorch 1.13 rebuilds its thread pool on every
// worker call when more are set (about 100 ms per call on a loaded machine).
native().setNumThreads(1);

const [casesFile, first] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const pause = new Int32Array(new SharedArrayBuffer(4));
// Synchronous, so a line survives a crash right after it. Once the DICOM decoder has started worker
// threads, stdout is a non-blocking pipe: a full pipe answers EAGAIN, and the line is retried.
function say(line) {
  const bytes = Buffer.from(line.replace(/\n/g, ' ') + '\n');
  for (let offset = 0; offset < bytes.length;) {
    try {
      offset += writeSync(1, bytes, offset);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

/** A results database as report, export and merge read it: every experiment, run and epoch. */
function readDb(path) {
  const db = new ResultsDb(path, { readonly: true });
  try {
    let epochs = 0;
    const runs = db.runs();
    for (const r of runs) epochs += db.epochs(r.key).length;
    return `${db.experiments().length} experiments, ${runs.length} runs, ${epochs} epochs`;
  } finally {
    db.close();
  }
}

async function readAll(c) {
  if (c.format === 'dicom') {
    const img = await decodeGrey(c.path, { width: 16, height: 16 });
    return `${img.width}x${img.height}`;
  }
  if (c.format === 'png' || c.format === 'jpeg') {
    const img = await decodeGrey(c.path, { width: 250, height: 250 });
    return `${img.width}x${img.height}`;
  }
  if (c.format === 'db') return readDb(c.path);
  if (c.format === 'spec') return `spec ${loadSpec(c.path, { env: {} }).name}`;
  const sd = await readStateDict(c.path);
  let bytes = 0;
  for (const t of Object.values(sd)) bytes += tensorBytes(t).bytes.length; // touches every element
  const info = await inspectWeights(c.path);
  if (c.format === 'safetensors') await readSafetensors(c.path);
  return `${info.tensors.length} tensors, ${bytes} bytes`;
}

const rss = () => process.resourceUsage().maxRSS;
for (let i = Number(first); i < cases.length; i++) {
  say(`B ${i}`);
  try {
    const detail = await readAll(cases[i]);
    say(`E ${i} ok ${rss()} ${detail}`);
  } catch (err) {
    const msg = err instanceof Error ? err.message : undefined;
    if (typeof msg !== 'string' || msg.trim() === '')
      say(`E ${i} bad ${rss()} rejected with ${String(err)} (not an Error with a message)`);
    else if (!msg.includes(basename(cases[i].path)))
      say(`E ${i} bad ${rss()} message does not name the file: ${msg.slice(0, 300)}`);
    else say(`E ${i} err ${rss()} ${msg.slice(0, 300)}`);
  }
}
say(`R ${process.resourceUsage().maxRSS}`);
