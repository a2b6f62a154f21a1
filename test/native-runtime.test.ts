// Foundation contract of the native boundary: tensors, errors, threads, async, dispose, loading.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { explainLoadFailure, native, packageRoot } from '../src/native.js';
import { distributedAvailable } from '../src/distributed.js';
import {
  cpuCacheStats,
  getNumThreads,
  manualSeed,
  releaseCpuCache,
  runtimeInfo,
  setNumThreads,
} from '../src/runtime.js';
import { tensor } from '../src/tensor.js';
import { HEAVY_TEST_MS } from './helpers/limits.js';
import { runAsync } from './helpers/processes.js';

describe('tensor round trips', () => {
  const cases: [string, () => ArrayLike<number | bigint> & { length: number }][] = [
    ['float32', () => new Float32Array([1.5, -2.25, 3, 4e-8, 5, 6])],
    ['float64', () => new Float64Array([1e300, -2, Math.PI, 4, 5, 6])],
    ['int32', () => new Int32Array([2 ** 31 - 1, -(2 ** 31), 0, 1, 2, 3])],
    ['int64', () => new BigInt64Array([2n ** 62n, -5n, 0n, 1n, 2n, 3n])],
    ['uint8', () => new Uint8Array([0, 255, 7, 8, 9, 10])],
    ['int8', () => new Int8Array([-128, 127, 0, 1, 2, 3])],
    ['int16', () => new Int16Array([-32768, 32767, 0, 1, 2, 3])],
  ];
  for (const [dtype, make] of cases) {
    it(`${dtype} survives the trip with shape [2, 3]`, async () => {
      const data = make();
      const t = tensor(data as never, [2, 3]);
      expect(t.dtype).toBe(dtype);
      expect(t.shape).toEqual([2, 3]);
      expect(t.numel).toBe(6);
      expect(Array.from(t.dataSync() as never)).toEqual(Array.from(data as never));
      expect(Array.from((await t.data()) as never)).toEqual(Array.from(data as never));
      t.dispose();
    });
  }

  it('copies its input: changing the TypedArray later does not change the tensor', () => {
    const data = new Float32Array([1, 2, 3]);
    const t = tensor(data);
    data[0] = 99;
    expect([...t.dataSync()]).toEqual([1, 2, 3]);
  });

  it('honours a TypedArray view with a byte offset', () => {
    const buf = new Float32Array([9, 9, 1, 2, 3, 4]);
    const view = new Float32Array(buf.buffer, 8, 4);
    expect([...tensor(view, [2, 2]).dataSync()]).toEqual([1, 2, 3, 4]);
  });

  it('rejects unsupported dtypes and wrong shapes, naming the argument', () => {
    expect(() => tensor(new Uint16Array(4) as never, [4])).toThrow(
      /Expected a Float32Array.* for data but received a Uint16Array/,
    );
    expect(() => tensor(new Float32Array(6), [4, 2])).toThrow(/Expected dimensions whose product is 6 for shape/);
    expect(() => tensor(new Float32Array(6), [-1, 6] as never)).toThrow(/for shape\[0\]/);
    // The native layer checks too, whatever the TS layer lets through.
    const Raw = native().Tensor;
    expect(() => new Raw(new Float32Array(6), [4, 2])).toThrow(/shape \[4, 2\] holds 8 elements but the data has 6/);
    expect(() => new Raw(new Uint16Array(2) as never, [2])).toThrow(/for data but received a TypedArray/);
  });
});

describe('errors from LibTorch', () => {
  it('arrive as a JS Error carrying LibTorch message, without the C++ backtrace', async () => {
    const a = tensor(new Float32Array(6), [2, 3]);
    const b = tensor(new Float32Array(8), [4, 2]);
    const err = await a.matmul(b).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)/);
    expect((err as Error).message).not.toMatch(/Exception raised from|frame #/);
  });

  it('a bad device name is refused with the name in the message', () => {
    expect(() => native().parseDevice('tpu')).toThrow(/unknown device 'tpu'/);
  });
});

describe('threads and async work', () => {
  it('defaults to the machine cores and uses them on the compute thread', async () => {
    const info = runtimeInfo();
    expect(getNumThreads()).toBe(info.hardwareThreads);
    expect(await native().workerThreads()).toBe(info.hardwareThreads);
    setNumThreads(1);
    try {
      expect(await native().workerThreads()).toBe(1);
    } finally {
      setNumThreads(info.hardwareThreads);
    }
    expect(await native().workerThreads()).toBe(info.hardwareThreads);
    expect(() => setNumThreads(0)).toThrow(/Expected an integer between 1 and 4096 for threads but received 0/);
    expect(() => setNumThreads(4097)).toThrow(/for threads but received 4097/);
    expect(() => manualSeed(-1)).toThrow(/Expected an integer between 0 and 9007199254740991 for seed but received -1/);
  });

  it('keeps the event loop turning during a heavy native call', async () => {
    const n = 1536;
    const a = tensor(new Float32Array(n * n).fill(0.5), [n, n]);
    const order: string[] = [];
    // Seconds of native work: the call returns a pending Promise at once, and the loop turns (the
    // immediate runs) long before the work ends. A call that blocked the JS thread would finish first.
    const work = (async () => {
      let c = await a.matmul(a);
      for (let i = 0; i < 5; i++) c = await c.matmul(a);
      order.push('native work done');
    })();
    setImmediate(() => order.push('event loop turned'));
    await work;
    expect(order).toEqual(['event loop turned', 'native work done']);
  });
});

describe('the compute thread', () => {
  it('runs LibTorch work in submission order, off the libuv pool: file reads are not held up by queued compute', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'torchxfer-compute-'));
    const file = join(dir, 'small.txt');
    writeFileSync(file, 'hello');
    const n = 1536;
    const a = tensor(new Float32Array(n * n).fill(0.25), [n, n]);
    const done: string[] = [];
    // More jobs than libuv has pool threads (4): on the pool they would occupy every thread, and the
    // read (open, stat, read, close: four pool round trips) would wait for several of them to finish.
    const jobs = Array.from({ length: 8 }, (_, i) => a.matmul(a).then(() => done.push(`matmul ${i}`)));
    const read = readFile(file, 'utf8').then((text) => done.push(`read ${text}`));
    await Promise.all([...jobs, read]);
    // An ordering check, not a timing one: the read (milliseconds) is done before the last of eight
    // 1536x1536 matmuls (seconds of queued compute); how early exactly is for the benchmarks.
    expect(done.indexOf('read hello')).toBeLessThan(done.indexOf('matmul 7'));
    expect(done.filter((d) => d.startsWith('matmul'))).toEqual(Array.from({ length: 8 }, (_, i) => `matmul ${i}`));
  });
});

describe('the caching CPU allocator', () => {
  const script = join(packageRoot, 'test', 'helpers', 'train-steps.mjs');
  // Training steps in a child process, awaited without blocking this worker (see test/helpers/processes.ts).
  const run = async (env: Record<string, string>) => {
    const r = await runAsync(process.execPath, [script], { env: { ...process.env, ...env } });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      losses: number[];
      probs: number[];
      cache: ReturnType<typeof cpuCacheStats>;
    };
  };

  it('reuses freed blocks of a size class and gives them back on request', async () => {
    expect(cpuCacheStats().installed).toBe(true);
    const n = 256; // 256 KiB per float32 tensor: above the 64 KiB floor
    const before = cpuCacheStats();
    for (let i = 0; i < 5; i++)
      (await tensor(new Float32Array(n * n).fill(1), [n, n]).matmul(tensor(new Float32Array(n * n), [n, n]))).dispose();
    const after = cpuCacheStats();
    expect(after.hits).toBeGreaterThan(before.hits);
    expect(after.cachedBytes).toBeGreaterThan(0);
    releaseCpuCache();
    expect(cpuCacheStats().cachedBytes).toBe(0);
  });

  it(
    'changes no result: training and TTA evaluation are bit-identical with and without it',
    async () => {
      const withCache = await run({});
      const without = await run({ TORCHXFER_CPU_CACHE: 'off' });
      expect(withCache.cache.installed).toBe(true);
      expect(withCache.cache.hits).toBeGreaterThan(withCache.cache.misses); // steps 2 and 3 reuse step 1's blocks
      expect(without.cache.installed).toBe(false);
      expect(withCache.losses).toEqual(without.losses);
      expect(withCache.probs).toEqual(without.probs);
    },
    HEAVY_TEST_MS,
  );

  it(
    'keeps nothing beyond TORCHXFER_CPU_CACHE_MB',
    async () => {
      const capped = await run({ TORCHXFER_CPU_CACHE_MB: '0' });
      expect(capped.cache.limitBytes).toBe(0);
      expect(capped.cache.cachedBytes).toBe(0);
      expect(capped.cache.hits).toBe(0);
    },
    HEAVY_TEST_MS,
  );

  it('reports a malformed setting and keeps the default instead of failing to load', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        "import('" +
          join(packageRoot, 'dist', 'runtime.js') +
          "').then((m) => console.log(JSON.stringify(m.cpuCacheStats())))",
      ],
      {
        env: { ...process.env, TORCHXFER_CPU_CACHE_MB: '12abc', TORCHXFER_CPU_CACHE: 'yes' },
        encoding: 'utf8',
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ignoring TORCHXFER_CPU_CACHE='yes' \(expected 'off' or 'on'\)/);
    expect(r.stderr).toMatch(/ignoring TORCHXFER_CPU_CACHE_MB='12abc' \(expected a whole number of megabytes\)/);
    const stats = JSON.parse(r.stdout) as ReturnType<typeof cpuCacheStats>;
    expect(stats.installed).toBe(true);
    expect(stats.limitBytes).toBe(cpuCacheStats().limitBytes); // the default
  });
});

describe('dispose', () => {
  it('is idempotent and later use fails clearly', () => {
    const t = tensor(new Float32Array([1, 2]));
    expect(t.disposed).toBe(false);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => t.dataSync()).toThrow(/Tensor has been disposed/);
    const other = tensor(new Float32Array([1, 2]), [2, 1]);
    expect(() => other.matmul(t)).toThrow(/other has been disposed/);
  });

  it('an async call in flight survives the JS side disposing the tensor', async () => {
    const n = 512;
    const a = tensor(new Float32Array(n * n).fill(1), [n, n]);
    const pending = a.matmul(a);
    a.dispose();
    const c = await pending;
    expect(c.shape).toEqual([n, n]);
    expect((await c.data())[0]).toBe(n);
  });
});

describe('loading the addon', () => {
  it('explains a missing addon with the build command and the variables', () => {
    const msg = explainLoadFailure('/nowhere/torchxfer.node', new Error('Cannot find module'));
    expect(msg).toMatch(/npm run build:native/);
    expect(msg).toMatch(/LIBTORCH/);
  });

  it('the CLI reports a missing addon instead of crashing', () => {
    const r = spawnSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), 'info'], {
      env: { ...process.env, TORCHXFER_ADDON: '/nonexistent/torchxfer.node' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/native addon was not found at \/nonexistent\/torchxfer.node.*npm run build:native/s);
  });

  it('the CLI reports a corrupt addon file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'txf-'));
    const bad = join(dir, 'torchxfer.node');
    writeFileSync(bad, 'not an ELF file');
    const r = spawnSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), 'info'], {
      env: { ...process.env, TORCHXFER_ADDON: bad },
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/failed to load: .*Rebuild it with `npm rebuild torchxfer`.*`npm run build:native`/);
  });

  it('torchxfer info --json reports version, CUDA and threads', () => {
    const out = execFileSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), 'info', '--json'], {
      encoding: 'utf8',
    });
    const info = JSON.parse(out) as Record<string, unknown>;
    expect(info.torchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.cudaAvailable).toBe('boolean');
    expect(info.numThreads).toBe(runtimeInfo().hardwareThreads);
    const features = info.features as Record<string, boolean>;
    expect(Object.keys(features).sort()).toEqual(['cuda', 'cudnn', 'gloo', 'nccl']);
    expect(features.cuda).toBe(info.cudaCompiled);
    expect(features.gloo).toBe(distributedAvailable().gloo);
  });

  it('torchxfer info prints the features line', () => {
    const out = execFileSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), 'info'], {
      encoding: 'utf8',
    });
    const f = runtimeInfo().features;
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    expect(out).toContain(
      `features   Gloo ${yes(f.gloo)}, CUDA ${yes(f.cuda)}, cuDNN ${yes(f.cudnn)}, NCCL ${yes(f.nccl)}`,
    );
  });
});
