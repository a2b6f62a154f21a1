// DenseNet121 / ResNet50 against torchvision 0.14: logits, names, head replacement, load reports,
// layer groups, freezing with the frozen-BatchNorm policies and "moments" re-initialisation.
// References are computed at test time by test/reference/torchvision_models.py with /usr/bin/python3.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { OptionError } from '../src/errors.js';
import { loadModel, type Arch, type Model } from '../src/model.js';
import { native, packageRoot } from '../src/native.js';
import { tensor, type Tensor } from '../src/tensor.js';

interface Entry {
  name: string;
  dtype: 'float32' | 'int64';
  shape: number[];
  offset: number;
}
interface Reference {
  names: string[];
  arrays: Map<string, { data: Float32Array | BigInt64Array; shape: number[] }>;
  cases: Record<string, { input: Float32Array; logits: Float32Array; inputShape: [number, number, number, number] }>;
}

let dir = '';
const refs = new Map<Arch, Reference>();
const HEAD: Record<Arch, string> = { densenet121: 'classifier', resnet50: 'fc' };
const FIRST_CONV: Record<Arch, string> = { densenet121: 'features.conv0.weight', resnet50: 'conv1.weight' };
const isBuffer = (name: string) => /\.(running_mean|running_var|num_batches_tracked)$/.test(name);

function readFloat32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

function reference(arch: Arch): Reference {
  const cached = refs.get(arch);
  if (cached) return cached;
  const base = join(dir, arch);
  const index = JSON.parse(readFileSync(join(base, 'weights.json'), 'utf8')) as Entry[];
  const bin = readFileSync(join(base, 'weights.bin'));
  const arrays: Reference['arrays'] = new Map();
  for (const e of index) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const bytes = bin.buffer.slice(
      bin.byteOffset + e.offset,
      bin.byteOffset + e.offset + n * (e.dtype === 'int64' ? 8 : 4),
    );
    arrays.set(e.name, {
      data: e.dtype === 'int64' ? new BigInt64Array(bytes) : new Float32Array(bytes),
      shape: e.shape,
    });
  }
  const meta = JSON.parse(readFileSync(join(base, 'meta.json'), 'utf8')) as {
    cases: Record<string, { inputShape: [number, number, number, number] }>;
  };
  const cases: Reference['cases'] = {};
  for (const [name, c] of Object.entries(meta.cases)) {
    cases[name] = {
      input: readFloat32(join(base, `${name}.input.bin`)),
      logits: readFloat32(join(base, `${name}.logits.bin`)),
      inputShape: c.inputShape,
    };
  }
  const ref = { names: index.map((e) => e.name), arrays, cases };
  refs.set(arch, ref);
  return ref;
}

/** Fresh native tensors of the reference state_dict, optionally renamed or filtered. */
function weights(arch: Arch, rename: (name: string) => string | undefined = (n) => n): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, a] of reference(arch).arrays) {
    const key = rename(name);
    if (key !== undefined) out[key] = tensor(a.data, a.shape);
  }
  return out;
}

function relativeError(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return diff / scale;
}

async function expectParity(model: Model, arch: Arch, caseName: string): Promise<void> {
  const c = reference(arch).cases[caseName]!;
  const logits = await model.predict(c.input, c.inputShape);
  expect(relativeError(logits, c.logits)).toBeLessThanOrEqual(1e-4);
}

function values(t: Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

/** Bitwise equality of two float arrays (fast on millions of elements). */
function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function moments(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  for (const v of a) s += v;
  const mean = s / a.length;
  let q = 0;
  for (const v of a) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / (a.length - 1)) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'torchxfer-models-'));
  execFileSync('/usr/bin/python3', [join(packageRoot, 'test', 'reference', 'torchvision_models.py'), dir], {
    stdio: 'pipe',
  });
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each(['densenet121', 'resnet50'] as Arch[])('%s', (arch) => {
  const head = HEAD[arch];

  it('loads a torchvision state_dict with no renaming and matches its logits (64x64 batch 2, 224x224)', async () => {
    const model = await loadModel({ arch, numClasses: 3, weights: weights(arch) });
    expect(model.loadReport).toEqual({
      missing: [],
      unexpected: [],
      mismatched: [],
      replaced: [],
      firstConvAdapted: false,
      backboneMissing: 0,
      prefix: '',
      headFound: head,
      headShape: [3, arch === 'densenet121' ? 1024 : 2048],
      headNote: '',
      leftOut: [],
      oldNames: false,
    });
    expect(Object.keys(model.stateDict()).sort()).toEqual([...reference(arch).names].sort());
    await expectParity(model, arch, 'rgb-64');
    await expectParity(model, arch, 'rgb-224');
    await model.to('cpu', true); // channels-last memory format: same logits
    await expectParity(model, arch, 'rgb-64');
    expect(model.device).toBe('cpu');
    model.dispose();
  });

  it('grey input, "sum": the first conv gets 1 channel summed over RGB and matches torchvision on grey replicated', async () => {
    const model = await loadModel({ arch, numClasses: 3, inChannels: 1, weights: weights(arch) });
    expect(model.loadReport!.firstConvAdapted).toBe(true);
    expect(model.loadReport!.mismatched).toEqual([]);
    expect(model.stateDict()[FIRST_CONV[arch]]!.shape).toEqual([64, 1, 7, 7]);
    await expectParity(model, arch, 'grey-64');
    model.dispose();
  });

  it('grey input, "replicate": the conv keeps 3 channels and forward repeats the grey channel', async () => {
    const model = await loadModel({
      arch,
      numClasses: 3,
      inChannels: 1,
      greyMode: 'replicate',
      weights: weights(arch),
    });
    expect(model.loadReport!.firstConvAdapted).toBe(false);
    expect(model.stateDict()[FIRST_CONV[arch]]!.shape).toEqual([64, 3, 7, 7]);
    await expectParity(model, arch, 'grey-64');
    model.dispose();
  });

  it('a head of a different size is left at its fresh init and reported; the backbone loads', async () => {
    const model = await loadModel({ arch, numClasses: 2, weights: weights(arch) });
    expect(model.loadReport!.replaced.sort()).toEqual([`${head}.bias`, `${head}.weight`]);
    expect(model.loadReport!.missing).toEqual([]);
    const sd = model.stateDict();
    expect(sd[`${head}.weight`]!.shape).toEqual([2, arch === 'densenet121' ? 1024 : 2048]);
    if (arch === 'densenet121') expect(Array.from(values(sd[`${head}.bias`]!))).toEqual([0, 0]); // torchvision's init
    for (const name of [
      FIRST_CONV[arch],
      arch === 'densenet121' ? 'features.norm5.running_var' : 'layer4.2.bn3.running_var',
    ]) {
      expect(Array.from(values(sd[name]!))).toEqual(Array.from(reference(arch).arrays.get(name)!.data as Float32Array));
    }
    const logits = await model.predict(reference(arch).cases['rgb-64']!.input, [2, 3, 64, 64]);
    expect(logits.length).toBe(4);
    model.dispose();
  });

  it('reports missing, unexpected and mismatched keys by name, and strict refuses them without changing the model', async () => {
    const dropped = arch === 'densenet121' ? 'features.denseblock3.denselayer5.conv1.weight' : 'layer3.1.conv2.weight';
    const resized = arch === 'densenet121' ? 'features.norm0.weight' : 'bn1.weight';
    const bad = weights(arch, (n) => (n === dropped ? undefined : n));
    bad[resized] = tensor(new Float32Array(5), [5]);
    bad['extra.weight'] = tensor(new Float32Array(2), [2]);

    const model = await loadModel({ arch, numClasses: 3 });
    const before = Array.from(values(model.stateDict()[FIRST_CONV[arch]]!));
    expect(() => model.loadStateDict(bad)).toThrow(
      new RegExp(
        `missing keys: ${dropped.replace(/\./g, '\\.')}.*unexpected keys: extra\\.weight.*shape mismatches: ${resized.replace(/\./g, '\\.')}: file \\[5\\] vs model \\[64\\]`,
      ),
    );
    expect(Array.from(values(model.stateDict()[FIRST_CONV[arch]]!))).toEqual(before);

    const report = model.loadStateDict(bad, { strict: false });
    expect(report.missing).toEqual([dropped]);
    expect(report.unexpected).toEqual(['extra.weight']);
    expect(report.mismatched).toEqual([`${resized}: file [5] vs model [64]`]);
    expect(report.replaced).toEqual([]);
    expect(Array.from(values(model.stateDict()[FIRST_CONV[arch]]!))).not.toEqual(before);
    model.dispose();
  });

  it("starts from torchvision's init without weights: kaiming_normal_ convs, BatchNorm 1/0", async () => {
    const model = await loadModel({ arch, numClasses: 3 });
    const sd = model.stateDict();
    // std sqrt(2 / fan): DenseNet uses fan_in, ResNet fan_out; both convs are 1x1 with in != out channels.
    const name = arch === 'densenet121' ? 'features.denseblock4.denselayer1.conv1.weight' : 'layer3.0.conv1.weight';
    const [out, inp] = sd[name]!.shape as [number, number];
    expect(out).not.toBe(inp);
    const fan = arch === 'densenet121' ? inp : out;
    const m = moments(values(sd[name]!));
    expect(Math.abs(m.mean)).toBeLessThan(0.01 * m.std + 1e-3);
    expect(m.std / Math.sqrt(2 / fan)).toBeCloseTo(1, 1);
    const bn = arch === 'densenet121' ? 'features.norm5' : 'layer4.2.bn3';
    expect(values(sd[`${bn}.weight`]!).every((v) => v === 1)).toBe(true);
    expect(values(sd[`${bn}.bias`]!).every((v) => v === 0)).toBe(true);
    model.dispose();
  });

  it('three layer groups partition every parameter, named as torchvision names them, as the protocol splits them', async () => {
    const model = await loadModel({ arch, numClasses: 3 });
    const groups = model.groups;
    const all = groups.flatMap((g) => g.parameterNames);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(
      reference(arch)
        .names.filter((n) => !isBuffer(n))
        .sort(),
    );
    expect(groups.reduce((s, g) => s + g.numParameters, 0)).toBe(model.numParameters);
    const members: Record<Arch, string[][]> = {
      densenet121: [
        [
          'features.conv0.weight',
          'features.norm0.bias',
          'features.denseblock1.denselayer6.conv2.weight',
          'features.transition1.conv.weight',
          'features.denseblock2.denselayer12.norm2.weight',
        ],
        [
          'features.transition2.norm.weight',
          'features.denseblock3.denselayer1.conv1.weight',
          'features.transition3.conv.weight',
          'features.denseblock4.denselayer16.conv2.weight',
          'features.norm5.bias',
        ],
        ['classifier.weight', 'classifier.bias'],
      ],
      resnet50: [
        ['conv1.weight', 'bn1.weight', 'layer1.0.downsample.0.weight', 'layer2.3.conv3.weight'],
        ['layer3.0.downsample.1.bias', 'layer3.5.bn2.weight', 'layer4.2.conv3.weight'],
        ['fc.weight', 'fc.bias'],
      ],
    };
    members[arch].forEach((names, g) => names.forEach((n) => expect(groups[g]!.parameterNames).toContain(n)));
    expect(groups[2]!.parameterNames.sort()).toEqual([`${head}.bias`, `${head}.weight`]);
    expect(groups[0]!.numParameters).toBeGreaterThan(0);
    expect(groups[1]!.numParameters).toBeGreaterThan(0);
    model.dispose();
  });

  it('freeze/unfreeze set requires_grad per group under each frozen-BatchNorm policy', async () => {
    const model = await loadModel({ arch, numClasses: 3 });
    const sd = model.stateDict();
    const bnAffine = (g: number) =>
      model.groups[g]!.parameterNames.filter(
        (n) => sd[n.replace(/\.(weight|bias)$/, '.running_mean')] !== undefined,
      ).reduce((s, n) => s + sd[n]!.numel, 0);
    const bnModules = (g: number) =>
      model.groups[g]!.parameterNames.filter((n) => n.endsWith('.weight') && sd[n.replace(/weight$/, 'running_mean')])
        .length;

    model.freeze([0, 1]);
    let groups = model.groups;
    expect(groups.map((g) => g.trainable)).toEqual([false, false, true]);
    expect(groups.map((g) => g.numTrainable)).toEqual([0, 0, groups[2]!.numParameters]);
    // update-stats (default): the whole model in train mode, BatchNorm of frozen groups included.
    model.setTraining(true);
    expect(model.groups.map((g) => g.batchNormTraining)).toEqual([bnModules(0), bnModules(1), 0]);

    model.setFrozenBatchNorm('frozen');
    expect(model.groups.map((g) => g.batchNormTraining)).toEqual([0, 0, 0]);
    model.unfreeze([1]);
    groups = model.groups;
    expect(groups.map((g) => g.batchNormTraining)).toEqual([0, bnModules(1), 0]);
    expect(groups[1]!.numTrainable).toBe(groups[1]!.numParameters);
    expect(groups[0]!.numTrainable).toBe(0);

    model.setFrozenBatchNorm('trainable');
    groups = model.groups;
    expect(groups[0]!.numTrainable).toBe(bnAffine(0));
    expect(bnAffine(0)).toBeGreaterThan(0);
    expect(bnAffine(0)).toBeLessThan(groups[0]!.numParameters);
    expect(groups[0]!.batchNormTraining).toBe(bnModules(0));

    // predict runs in eval mode and restores train mode afterwards.
    await model.predict(new Float32Array(2 * 3 * 32 * 32), [2, 3, 32, 32]);
    expect(model.groups[0]!.batchNormTraining).toBe(bnModules(0));
    model.setTraining(false);
    expect(model.groups.map((g) => g.batchNormTraining)).toEqual([0, 0, 0]);
    model.dispose();
  });

  it('"moments" replaces each weight tensor by noise with its own mean and std, seeded', async () => {
    const ref = reference(arch).arrays;
    const [a, b, c] = await Promise.all(
      [0, 1, 2].map(() => loadModel({ arch, numClasses: 3, weights: weights(arch) })),
    );
    a!.reinitMoments('all', 7);
    b!.reinitMoments('all', 7);
    c!.reinitMoments('conv', 7);
    const [sa, sb, sc] = [a!, b!, c!].map((m) => m.stateDict());
    let checked = 0;
    for (const name of Object.keys(sa!)) {
      if (name.endsWith('num_batches_tracked')) continue;
      const o = ref.get(name)!.data as Float32Array;
      const r = values(sa![name]!);
      expect(same(values(sb![name]!), r)).toBe(true); // same seed, same noise
      if (isBuffer(name)) {
        expect(same(r, o)).toBe(true); // running statistics are not weights
        continue;
      }
      expect(same(r, o)).toBe(false);
      expect(same(values(sc![name]!), o)).toBe(sa![name]!.shape.length !== 4); // "conv" changes conv weights only
      if (o.length >= 1000) {
        const mo = moments(o);
        const mr = moments(r);
        expect(Math.abs(mr.mean - mo.mean)).toBeLessThanOrEqual(0.2 * mo.std + 1e-6);
        expect(Math.abs(mr.std / mo.std - 1)).toBeLessThanOrEqual(0.1);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
    for (const m of [a!, b!, c!]) m.dispose();
  });
});

describe('densenet121 legacy files', () => {
  it('remaps old keys (norm.1, conv.2, ...) and files without num_batches_tracked, then matches torchvision', async () => {
    const old = weights('densenet121', (n) =>
      n.endsWith('num_batches_tracked')
        ? undefined
        : n.replace(/(denselayer\d+\.(?:norm|relu|conv))([12])\./, '$1.$2.'),
    );
    expect(Object.keys(old)).toContain('features.denseblock1.denselayer1.norm.1.weight');
    const model = await loadModel({ arch: 'densenet121', numClasses: 3, weights: old });
    expect(model.loadReport).toEqual({
      missing: [],
      unexpected: [],
      mismatched: [],
      replaced: [],
      firstConvAdapted: false,
      backboneMissing: 0,
      prefix: '',
      headFound: 'classifier',
      headShape: [3, 1024],
      headNote: '',
      leftOut: [],
      oldNames: true,
    });
    await expectParity(model, 'densenet121', 'rgb-64');
    model.dispose();
  });
});

describe('options and lifecycle', () => {
  it('validates options in TS with OptionError naming the option', async () => {
    await expect(loadModel({ arch: 'vgg16' as Arch })).rejects.toThrow(OptionError);
    await expect(loadModel({ arch: 'vgg16' as Arch })).rejects.toThrow(
      /Expected one of 'densenet121', 'resnet50' for arch but received 'vgg16'/,
    );
    await expect(loadModel({ arch: 'resnet50', numClasses: 0 })).rejects.toThrow(/for numClasses but received 0/);
    await expect(loadModel({ arch: 'resnet50', inChannels: 2 as 1 })).rejects.toThrow(
      /Expected 1 or 3 for inChannels but received 2/,
    );
    await expect(loadModel({ arch: 'resnet50', greyMode: 'mean' as 'sum' })).rejects.toThrow(
      /for greyMode but received 'mean'/,
    );
    await expect(loadModel({ arch: 'resnet50', dropout: 1 })).rejects.toThrow(/for dropout but received 1/);
    await expect(loadModel({ arch: 'resnet50', device: 'tpu' })).rejects.toThrow(/for device but received 'tpu'/);
    await expect(loadModel({ arch: 'resnet50', weights: [] as never })).rejects.toThrow(
      /Expected an object of named Tensors for weights/,
    );
  });

  it('the native layer validates too, naming the option or tensor', () => {
    const Native = native().Model as new (c: unknown) => unknown;
    expect(() => new Native({ arch: 'vgg16' })).toThrow(
      /Expected 'densenet121' or 'resnet50' for arch but received 'vgg16'/,
    );
    expect(() => new Native({ arch: 'resnet50', numClasses: 1.5 })).toThrow(
      /Expected an integer for numClasses but received 1.5/,
    );
    expect(() => new Native({ arch: 'resnet50', inChannels: 4 })).toThrow(
      /Expected 1 or 3 for inChannels but received 4/,
    );
  });

  it('bad input shapes and values are refused with clear messages; dispose is idempotent and final', async () => {
    const model = await loadModel({ arch: 'resnet50', inChannels: 1 });
    expect(() => model.predict(new Float32Array(2 * 3 * 32 * 32), [2, 3, 32, 32])).toThrow(
      /Expected 1 \(the model's inChannels\) for shape\[1\] but received 3/,
    );
    expect(() => model.predict(new Float32Array(10), [1, 1, 32, 32])).toThrow(/for shape but received/);
    await expect(model.handle.predict(new Float32Array(2 * 3 * 32 * 32), [2, 3, 32, 32])).rejects.toThrow(
      /Expected input of shape \[N, 1, H, W\] but received \[2, 3, 32, 32\]/,
    );
    expect(() => model.loadStateDict({ 'conv1.weight': 3 as never })).toThrow(
      /Expected a Tensor for tensors\['conv1\.weight'\]/,
    );
    expect(() => model.freeze([3])).toThrow(/for groups\[0\] but received 3/);
    expect(() => model.setFrozenBatchNorm('off' as 'frozen')).toThrow(/for frozenBatchNorm but received 'off'/);
    expect(() => model.reinitMoments('bias' as 'all', 1)).toThrow(/for which but received 'bias'/);
    const logits = await model.predict(new Float32Array(32 * 32), [1, 1, 32, 32]);
    expect(logits.length).toBe(1);
    model.dispose();
    model.dispose();
    expect(model.disposed).toBe(true);
    expect(() => model.predict(new Float32Array(32 * 32), [1, 1, 32, 32])).toThrow(/Model has been disposed/);
    expect(() => model.stateDict()).toThrow(/Model has been disposed/);
  });
});
