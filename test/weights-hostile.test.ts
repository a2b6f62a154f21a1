/**
 * Resource exhaustion by hostile weight files: deep nesting, self-containing lists, opcode floods, aliased
 * zip members and safetensors ranges, long tensor names, '__proto__' keys. Each file is built here
 * (test/helpers/hostile_weights.py) and read in a child process under a resident-memory watchdog: it must
 * end cleanly (no signal) with a message naming the file and the limit, below 1.5 GB resident.
 * Needs dist/ (npx tsc) and the addon.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// @ts-expect-error plain JavaScript shared with the fuzzer
import { watchRss } from '../scripts/fuzz/watchdog.mjs';
import { native } from '../src/native.js';
import { readSafetensors, readStateDict, tensorBytes } from '../src/weights/io.js';
import { helpersDir, PYTHON } from './helpers/python.js';

const root = join(helpersDir, '..', '..');
// Under scripts/sanitize.sh, ASan's shadow memory and quarantine alone take about 1 GiB.
const limitMiB = process.env.LD_PRELOAD?.includes('libasan') ? 4096 : 1536;
let dir: string;
let made: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-hostile-'));
  made = JSON.parse(
    execFileSync(PYTHON, [join(helpersDir, 'hostile_weights.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 20 }),
  );
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
  peakMiB: number;
  killed: boolean;
}

/** Reads `file` as readStateDict does (and touches every tensor) in a child under the watchdog. */
function readInChild(file: string): Promise<Outcome> {
  const script = `
    const { readStateDict, tensorBytes } = await import(${JSON.stringify(join(root, 'dist', 'weights', 'io.js'))});
    const { native } = await import(${JSON.stringify(join(root, 'dist', 'native.js'))});
    native().setNumThreads(1);
    try { const sd = await readStateDict(process.argv[1]); for (const t of Object.values(sd)) tensorBytes(t); console.log('resolved ' + Object.keys(sd).length); }
    catch (e) { console.log('rejected: ' + e.message); }
    console.log('maxrss ' + process.resourceUsage().maxRSS);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const watch = watchRss(child, limitMiB);
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const reported = Number(/maxrss (\d+)/.exec(stdout)?.[1] ?? 0);
      resolve({
        stdout,
        stderr,
        code,
        signal,
        peakMiB: Math.max(reported, watch.peakKiB()) / 1024,
        killed: watch.killed(),
      });
    });
  });
}

describe('hostile weight files end cleanly, naming the file and the limit, below 1.5 GB', () => {
  it.each([
    ['deep-ordereddict.pth', /pickle nests deeper than 256 levels/],
    ['deep-ordereddict-legacy.pth', /pickle nests deeper than 256 levels/],
    ['self-list.pth', /pickle puts a list inside itself/],
    ['flood-none.pth', /pickle needs more than its memory budget of \d+ MiB \(for a pickle of 500000\d bytes/],
    ['flood-list.pth', /memory budget of \d+ MiB/],
    ['flood-dict.pth', /memory budget of \d+ MiB/],
    ['flood-tuple.pth', /memory budget of \d+ MiB/],
    ['flood-legacy.pth', /memory budget of \d+ MiB/],
    ['flood-ints.pth', /memory budget of \d+ MiB/],
    ['long-name.pth', /tensor name of 200\d{3} bytes is longer than the 1024-byte limit/],
    ['zip-alias.pth', /overlaps the next member; members must be disjoint/],
    [
      'alias.safetensors',
      /tensor 'w\d+' starts at data byte 0, not 1048576 \(tensors' byte ranges must be disjoint and contiguous\)/,
    ],
    ['header-flood.safetensors', /more than \d+ values, the limit for 500000\d bytes of header/],
    ['header-flood-cap.safetensors', /more than 4000000 values, the limit for 4000001\d bytes of header/],
  ])(
    '%s',
    async (file, limit) => {
      expect(made[file]).toBeDefined();
      const path = join(dir, file);
      const r = await readInChild(path);
      expect(r.killed, `watchdog killed the reader at ${limitMiB} MiB`).toBe(false);
      expect(r.signal, r.stderr).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`rejected: ${path}`);
      expect(r.stdout).toMatch(limit);
      expect(r.peakMiB).toBeLessThan(1536);
    },
    180_000,
  );
});

describe('names from the file stay data', () => {
  it("a tensor named '__proto__' is an own key of the returned object and can be disposed", async () => {
    native().setNumThreads(1);
    for (const file of ['proto.safetensors', 'proto.pth']) {
      const sd = await readStateDict(join(dir, file));
      expect(Object.keys(sd)).toContain('__proto__');
      expect(Object.getPrototypeOf(sd)).toBeNull();
      const proto = Object.getOwnPropertyDescriptor(sd, '__proto__')?.value;
      expect(Array.from(tensorBytes(proto).bytes.subarray(0, 4))).toEqual(
        Array.from(Buffer.from(new Float32Array([file.endsWith('.pth') ? 5 : 1]).buffer)),
      );
      for (const t of Object.values(sd)) t.dispose();
    }
    const st = await readSafetensors(join(dir, 'proto.safetensors'));
    expect(Object.keys(st.tensors)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(st.metadata, '__proto__')?.value).toBe('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a legitimate [0, 5] tensor in a file with no data bytes is read', async () => {
    const sd = await readStateDict(join(dir, 'empty-tensor.safetensors'));
    expect(tensorBytes(sd.w).shape).toEqual([0, 5]);
  });

  it('a shape whose product wraps around 2^64 is a mismatch, not an empty tensor', () => {
    const Tensor = (native() as unknown as { Tensor: new (data: Float32Array, shape: number[]) => unknown }).Tensor;
    expect(() => new Tensor(new Float32Array(0), [2 ** 32, 2 ** 32])).toThrow(
      /shape \[4294967296, 4294967296\] holds more than 2\^64 elements but the data has 0/,
    );
  });

  it('a 200 KB key handed to loadStateDict is reported, not matched by a recursive regex', async () => {
    const { loadModel } = await import('../src/model.js');
    const model = await loadModel({ arch: 'densenet121', numClasses: 2 });
    try {
      const [name, t] = [
        `features.denselayer1.${'x'.repeat(200_000)}.norm.1.weight`,
        (await readStateDict(join(dir, 'empty-tensor.safetensors'))).w,
      ];
      const report = model.loadStateDict({ [name]: t }, { strict: false });
      expect(report.unexpected).toEqual([name]);
      t.dispose();
    } finally {
      model.dispose();
    }
  }, 120_000);
});
