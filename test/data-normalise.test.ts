// uint8 -> Float32 normalisation against torchvision's ToTensor + Normalize, computed at test time.
import { describe, expect, it } from 'vitest';

import { normalisationTable, normaliseBatch } from '../src/data/normalise.js';
import { python } from './helpers/python.js';

describe('normaliseBatch', () => {
  it('matches torchvision Normalize on [0,1] pixels for every uint8 value', () => {
    const pixels = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);
    const ref = python<number[]>(
      'import sys,json,torch\nfrom torchvision import transforms as T\nx=torch.tensor(json.loads(sys.stdin.read()),dtype=torch.uint8).view(1,16,32)\ny=T.Normalize([0.449],[0.226])(x.float().div(255))\nprint(json.dumps(y.flatten().tolist()))',
      [],
      JSON.stringify(Array.from(pixels)),
    );
    const out = normaliseBatch(pixels, normalisationTable({ mean: 0.449, std: 0.226 }));
    expect(out).toBeInstanceOf(Float32Array);
    const maxErr = Math.max(...Array.from(out, (v, i) => Math.abs(v - ref[i])));
    expect(maxErr).toBeLessThan(2e-6);
    expect(() => normalisationTable({ mean: 0.5, std: 0 })).toThrow(
      'Expected a finite number > 0 for std but received 0',
    );
    expect(() => normaliseBatch(pixels, normalisationTable({ mean: 0, std: 1 }), new Float32Array(3))).toThrow(
      /for out but received a Float32Array/,
    );
  });
});
