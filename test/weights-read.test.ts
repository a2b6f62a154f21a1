// Reading torch.save (zip and legacy) and safetensors files made by Python's torch; refusals; writing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { inspectWeights, readSafetensors, readStateDict, tensorBytes, writeSafetensors } from '../src/weights/io.js';
import type { NativeTensor } from '../src/native.js';

const PY = '/usr/bin/python3';
const HELPER = join(__dirname, 'helpers', 'weights_fixtures.py');
type Described = [string, string, number[], string][];

let dir: string;
let reference: Record<string, Described>;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-weights-'));
  execFileSync(PY, [HELPER, 'make', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  reference = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
}, 120_000);

/** [name, dtype, shape, sha256 of the row-major bytes] of each tensor, in order: comparable with Python's. */
function describeTensors(tensors: Record<string, NativeTensor>): Described {
  return Object.entries(tensors).map(([name, t]) => {
    const raw = tensorBytes(t);
    return [name, raw.dtype, raw.shape, createHash('sha256').update(raw.bytes).digest('hex')];
  });
}

describe('torch.save files, values equal to Python', () => {
  for (const [file, ref] of [
    ['resnet18-part.pth', 'resnet18-part'],
    ['resnet18-part-legacy.pth', 'resnet18-part'],
    ['zoo.pth', 'zoo'],
    ['zoo-legacy.pth', 'zoo'],
    ['checkpoint.pth', 'checkpoint'],
    ['old-style.pth', 'old-style'],
    ['exported.safetensors', 'exported'],
  ] as const) {
    it(`${file}: names in file order, dtypes, shapes and bytes match torch`, async () => {
      const sd = await readStateDict(join(dir, file));
      expect(describeTensors(sd)).toEqual(reference[ref]);
    });
  }

  it('views of one storage share it (strides and offsets honoured)', async () => {
    const sd = await readStateDict(join(dir, 'zoo.pth'));
    expect(sd.transposed!.shape).toEqual([6, 4]);
    expect(sd.strided!.shape).toEqual([4, 3]);
    expect(Array.from(sd.rows!.dataSync() as Float32Array)).toEqual(
      Array.from(sd.base!.dataSync() as Float32Array).slice(6, 18),
    );
  });

  it('inspect names the format of each', async () => {
    expect((await inspectWeights(join(dir, 'zoo.pth'))).format).toBe('torch-zip');
    expect((await inspectWeights(join(dir, 'zoo-legacy.pth'))).format).toBe('torch-legacy');
    const st = await inspectWeights(join(dir, 'python.safetensors'));
    expect(st.format).toBe('safetensors');
    expect(st.tensors.map((t) => t.dtype)).toEqual(reference['python.safetensors']!.map((r) => r[1]));
  });
});

describe('refusals', () => {
  it('a pickle calling os.system is refused, naming the global, and nothing runs', async () => {
    await expect(readStateDict(join(dir, 'evil.pth'))).rejects.toThrow(/evil\.pth.*refusing pickle global os\.system/);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });
  it('a pickled whole torch.nn model is read as data: the state_dict export-state-dict.py gives', async () => {
    expect(describeTensors(await readStateDict(join(dir, 'whole-model.pt')))).toEqual(reference.exported);
    expect((await inspectWeights(join(dir, 'whole-model.pt'))).container).toBe(
      'pickled module of class torch.nn.modules.container.Sequential, read as data',
    );
  });
  it('an unknown storage type is refused by name', async () => {
    await expect(readStateDict(join(dir, 'complex.pth'))).rejects.toThrow(/ComplexFloatStorage/);
  });
  it('a truncated zip, a truncated legacy file, random bytes and a missing file give errors naming the file', async () => {
    await expect(readStateDict(join(dir, 'truncated.pth'))).rejects.toThrow(/truncated\.pth: truncated or corrupt zip/);
    await expect(readStateDict(join(dir, 'truncated-legacy.pth'))).rejects.toThrow(/truncated-legacy\.pth: truncated/);
    await expect(readStateDict(join(dir, 'random.bin'))).rejects.toThrow(/random\.bin: not a weights file/);
    await expect(readStateDict(join(dir, 'missing.pth'))).rejects.toThrow(/missing\.pth: cannot open/);
  });
  it('a corrupted tensor inside a zip fails its CRC check', async () => {
    const bytes = readFileSync(join(dir, 'resnet18-part.pth'));
    const at = bytes.length - 200_000; // inside conv1 or layer1 data
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(join(dir, 'flipped.pth'), bytes);
    await expect(readStateDict(join(dir, 'flipped.pth'))).rejects.toThrow(
      /flipped\.pth: zip member .* is corrupt \(CRC-32 mismatch\)/,
    );
  });
  it('an unsupported safetensors dtype is named', async () => {
    await expect(readStateDict(join(dir, 'f8.safetensors'))).rejects.toThrow(
      /f8\.safetensors: tensor 'x' has unsupported dtype F8_E4M3/,
    );
  });
  it('a truncated safetensors file is reported as such', async () => {
    const bytes = readFileSync(join(dir, 'python.safetensors'));
    writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 5));
    await expect(readSafetensors(join(dir, 'cut.safetensors'))).rejects.toThrow(
      /cut\.safetensors: tensor '.' lies outside the file \(truncated\?\)/,
    );
    writeFileSync(join(dir, 'cut2.safetensors'), bytes.subarray(0, 20));
    await expect(readSafetensors(join(dir, 'cut2.safetensors'))).rejects.toThrow(
      /cut2\.safetensors: truncated safetensors file/,
    );
  });
  it('corrupted pickles and headers (seeded mutations) are read or refused with an error naming the file, never a crash', async () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const [file, span] of [
      ['zoo-legacy.pth', 1600],
      ['python.safetensors', 250],
    ] as const) {
      const original = readFileSync(join(dir, file));
      const target = join(dir, `mutant-${file}`);
      let refused = 0;
      for (let i = 0; i < 120; i++) {
        // each native call costs ~40 ms on a loaded 2-core machine
        const bytes = Buffer.from(original);
        for (let k = 0; k < 1 + (i % 3); k++) bytes[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
        writeFileSync(target, bytes);
        try {
          await readStateDict(target);
        } catch (err) {
          refused++;
          expect((err as Error).message.startsWith(target)).toBe(true);
        }
      }
      expect(refused).toBeGreaterThan(40);
    }
  });

  it('options are validated before crossing to native', () => {
    expect(() => readStateDict(3 as never)).toThrow(/Expected a non-empty string for path but received 3/);
    expect(() => writeSafetensors(join(dir, 'x.safetensors'), {}, { a: 1 } as never)).toThrow(
      /Expected a string for metadata\['a'\]/,
    );
  });
});

describe('safetensors', () => {
  it('reads a file Python wrote with struct + json, metadata included', async () => {
    const f = await readSafetensors(join(dir, 'python.safetensors'));
    expect(describeTensors(f.tensors)).toEqual(reference['python.safetensors']);
    expect(f.metadata).toEqual(reference['python.safetensors.metadata']);
  });

  it('round trip: every dtype and view written, read back by us and by Python with equal bytes', async () => {
    const zoo = await readStateDict(join(dir, 'zoo.pth'));
    const out = join(dir, 'zoo.safetensors');
    await writeSafetensors(out, zoo, { note: 'héllo "quoted"\n', n: '1' });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const back = await readSafetensors(out);
    expect(describeTensors(back.tensors)).toEqual(reference.zoo);
    expect(back.metadata).toEqual({ note: 'héllo "quoted"\n', n: '1' });
    const py = JSON.parse(execFileSync(PY, [HELPER, 'read-safetensors', out], { encoding: 'utf8' }));
    expect(py.tensors).toEqual(reference.zoo);
    expect(py.metadata).toEqual({ note: 'héllo "quoted"\n', n: '1' });
  });

  it('a failed write leaves neither the target nor a temp file', async () => {
    await expect(writeSafetensors(join(dir, 'no-such-dir', 'a.safetensors'), {})).rejects.toThrow(
      /no-such-dir\/a\.safetensors: cannot create a temporary file/,
    );
  });
});
