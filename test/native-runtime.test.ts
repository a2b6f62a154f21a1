// Foundation contract of the native boundary: tensors, errors, threads, async, dispose, loading.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { explainLoadFailure, native, packageRoot } from '../src/native.js';
import { getNumThreads, runtimeInfo, setNumThreads } from '../src/runtime.js';
import { tensor } from '../src/tensor.js';

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
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
  });

  it('honours a TypedArray view with a byte offset', () => {
    const buf = new Float32Array([9, 9, 1, 2, 3, 4]);
    const view = new Float32Array(buf.buffer, 8, 4);
    expect(Array.from(tensor(view, [2, 2]).dataSync())).toEqual([1, 2, 3, 4]);
  });

  it('rejects unsupported dtypes and wrong shapes, naming the argument', () => {
    expect(() => tensor(new Uint16Array(4) as never, [4])).toThrow(/Expected a Float32Array.* for data but received a Uint16Array/);
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
    const err = await a.matmul(b).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x2\)/);
    expect((err as Error).message).not.toMatch(/Exception raised from|frame #/);
  });

  it('a bad device name is refused with the name in the message', () => {
    expect(() => native().parseDevice('tpu')).toThrow(/unknown device 'tpu'/);
  });
});

describe('threads and async work', () => {
  it('defaults to the machine cores and uses them inside libuv workers', async () => {
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
  });

  it('keeps the event loop ticking during a heavy native call', async () => {
    const n = 1536;
    const a = tensor(new Float32Array(n * n).fill(0.5), [n, n]);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 2);
    const start = performance.now();
    let c = await a.matmul(a);
    for (let i = 0; i < 5; i++) c = await c.matmul(a);
    const elapsed = performance.now() - start;
    clearInterval(timer);
    // The native work takes well over 10 ms; a blocked loop would tick about once per await.
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThan(Math.min(10, elapsed / 10));
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
    expect(r.stderr).toMatch(/failed to load: .*Rebuild it with `npm run build:native`/);
  });

  it('torchxfer info --json reports version, CUDA and threads', () => {
    const out = execFileSync(process.execPath, [join(packageRoot, 'bin', 'torchxfer.js'), 'info', '--json'], { encoding: 'utf8' });
    const info = JSON.parse(out) as Record<string, unknown>;
    expect(info.torchVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof info.cudaAvailable).toBe('boolean');
    expect(info.numThreads).toBe(runtimeInfo().hardwareThreads);
  });
});
