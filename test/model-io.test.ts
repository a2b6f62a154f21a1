// Model.save() and loadModel({ weights: file | registry name }).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadCheckpoint } from '../src/checkpoint.js';
import { loadModel } from '../src/model.js';
import { manualSeed } from '../src/runtime.js';

describe('Model.save and loadModel({ weights })', () => {
  it('a saved model loads back from its file and predicts the same logits', async () => {
    manualSeed(1);
    const a = await loadModel({ arch: 'resnet50', numClasses: 2, inChannels: 1 });
    const path = join(mkdtempSync(join(tmpdir(), 'torchxfer-model-')), 'm.safetensors');
    await a.save(path, { labels: ['x', 'y'] });
    const meta = (await loadCheckpoint(path)).metadata;
    expect(meta.architecture).toBe('resnet50');
    expect(meta.labels).toEqual(['x', 'y']);

    manualSeed(2); // a different init, replaced by the file's weights
    const b = await loadModel({ arch: 'resnet50', numClasses: 2, inChannels: 1, weights: path });
    const input = new Float32Array(2 * 32 * 32).map((_, i) => Math.sin(i));
    const [pa, pb] = await Promise.all([a.predict(input, [2, 1, 32, 32]), b.predict(input, [2, 1, 32, 32])]);
    expect(Array.from(pb)).toEqual(Array.from(pa));
    manualSeed(2);
    const c = await loadModel({ arch: 'resnet50', numClasses: 2, inChannels: 1 });
    expect(Array.from(await c.predict(input, [2, 1, 32, 32]))).not.toEqual(Array.from(pa));
    for (const m of [a, b, c]) m.dispose();
  });

  it('an unknown weights name is refused naming it and the registry', async () => {
    await expect(loadModel({ arch: 'densenet121', weights: 'no-such-weights' })).rejects.toThrow(
      /'no-such-weights' is neither a file nor a registry name/,
    );
  });
});
