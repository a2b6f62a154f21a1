/**
 * One crop rule (236/250 of the image side unless given) for the CLI, the library and specs; a source
 * task's recipe starts from the spec's base like every arm; a job's failure names spec keys, never flags.
 */
import { describe, expect, it } from 'vitest';

import { configFromArgs } from '../src/commands/run-config.js';
import { OptionError } from '../src/errors.js';
import { jobTrainConfig } from '../src/experiments/layout.js';
import { planExperiment, planJobs, sourceJob } from '../src/experiments/plan.js';
import { pairedP } from '../src/experiments/paired.js';
import { validateSpec } from '../src/experiments/spec.js';
import { inSpecTerms } from '../src/experiments/spec-terms.js';
import { jobTrainOptions } from '../src/experiments/train-runner.js';
import { defaultCrop, PHANTOM_DEFAULTS, resolveTrainConfig } from '../src/train/config.js';

const spec = (
  base: Record<string, unknown>,
  targetOptions: Record<string, unknown> = {},
  sourceTrain: Record<string, unknown> = {},
) =>
  validateSpec(
    {
      name: 'o',
      mode: 'grid',
      nGrid: [50],
      seeds: [0],
      targets: [{ name: 'pneumonia', dataset: 'csv', root: '/data/table.csv', label: 'A', options: targetOptions }],
      sources: [{ name: 'limbs', dataset: 'mura', root: '/data/mura', n: 'all', train: sourceTrain }],
      base: { epochs: 2, maxLr: 0.001, ...base },
      arms: [
        { name: 'a', source: 'limbs' },
        { name: 'b', source: 'none' },
      ],
    },
    {},
  );

describe('the crop follows the image size unless given, everywhere', () => {
  it('the rule: 236 of 250, never more than the image nor less than the smallest crop (32)', () => {
    expect([250, 64, 112, 32, 33, 34, 4096].map(defaultCrop)).toEqual([236, 60, 106, 32, 32, 32, 3867]);
    // The smallest image sizes train at their default crop (30 of 32 was refused as a crop).
    expect(resolveTrainConfig({ out: 'o', data: '/d', imageSize: 32 }).crop).toBe(32);
  });

  it('the library: imageSize alone trains at the protocol crop; a crop given is kept and checked', () => {
    expect(resolveTrainConfig({ out: 'o', data: '/data/x' }).crop).toBe(236);
    // No data: the phantom demo's pair, as on the command line (one set of defaults).
    expect(resolveTrainConfig({ out: 'o' }).crop).toBe(PHANTOM_DEFAULTS.crop);
    expect(resolveTrainConfig({ out: 'o', imageSize: 64 }).crop).toBe(60);
    expect(resolveTrainConfig({ out: 'o', imageSize: 64, crop: 48 }).crop).toBe(48);
    expect(() => resolveTrainConfig({ out: 'o', imageSize: 64, crop: 236 })).toThrow(
      'Expected an integer between 32 and 64 for crop but received 236',
    );
  });

  it('the CLI: --image-size alone (with or without --data) takes the rule; the phantom demo keeps its own pair', () => {
    const resolved = (args: Record<string, unknown>) => resolveTrainConfig({ ...configFromArgs(args), out: 'o' });
    expect(resolved({ 'image-size': 64 }).crop).toBe(60);
    expect(resolved({ 'image-size': 64, data: '/data/x' }).crop).toBe(60);
    expect(resolved({})).toMatchObject({ imageSize: PHANTOM_DEFAULTS.imageSize, crop: PHANTOM_DEFAULTS.crop });
  });

  it('specs: the same rule through resolveTrainConfig (crop left to it), an explicit crop kept', async () => {
    const job = (options: Record<string, unknown>) =>
      planJobs(planExperiment(spec({ source: 'none', init: 'default' }, options), () => undefined, pairedP)).find(
        (j) => j.kind === 'target',
      )!;
    expect(resolveTrainConfig(await jobTrainOptions(job({ imageSize: 64 }))).crop).toBe(60);
    expect(resolveTrainConfig(await jobTrainOptions(job({ imageSize: 64, crop: 50 }))).crop).toBe(50);
    expect(resolveTrainConfig(await jobTrainOptions(job({}))).crop).toBe(236);
  });
});

describe("a source task's recipe starts from the spec's base", () => {
  it('base source none: the source trains from scratch (it used to start from ImageNet)', () => {
    const s = spec({ source: 'none', init: 'default' });
    expect(sourceJob(s, s.sources[0]!, 'densenet121', 0).arm).toMatchObject({
      source: 'none',
      init: 'default',
      epochs: 2,
    });
    const imagenet = spec({ source: 'imagenet', init: 'pretrained', policy: 'regular' });
    expect(sourceJob(imagenet, imagenet.sources[0]!, 'resnet50', 0).arm).toMatchObject({
      source: 'imagenet',
      init: 'pretrained',
      policy: 'regular',
      arch: 'resnet50',
    });
  });

  it("the source's train wins; a base naming a source task starts the source from ImageNet (tasks do not chain)", () => {
    const s = spec({ source: 'none', init: 'default' }, {}, { source: 'imagenet', init: 'pretrained', epochs: 5 });
    expect(sourceJob(s, s.sources[0]!, 'densenet121', 0).arm).toMatchObject({
      source: 'imagenet',
      init: 'pretrained',
      epochs: 5,
    });
    const chained = spec({ source: 'limbs', init: 'pretrained' });
    expect(sourceJob(chained, chained.sources[0]!, 'densenet121', 0).arm).toMatchObject({
      source: 'imagenet',
      init: 'pretrained',
    });
  });
});

describe('a job that fails says what to change in the spec', () => {
  const s = spec({ source: 'imagenet', init: 'pretrained' }, { imageSize: 64 });
  const source = sourceJob(s, s.sources[0]!, 'densenet121', 0);
  const target = planJobs(planExperiment(s, () => undefined, pairedP)).find(
    (j) => j.kind === 'target' && j.arm.source === 'none',
  )!;

  it('advice naming a flag becomes the spec key, where it goes', () => {
    const missing = new Error(
      "weights 'densenet121-imagenet' are not in the cache and could not be downloaded (offline). On a machine with internet: `torchxfer weights fetch densenet121-imagenet`; or use --init none.",
    );
    expect(inSpecTerms(missing, source).message).toMatch(/; or use train: \{ source: "none" \} \(source 'limbs'\)\.$/);
    expect(inSpecTerms(missing, target).message).toMatch(
      /; or use source: "none" in the arm \(target 'pneumonia'\)\.$/,
    );
    const split = new Error('Try: --split by-image if the images are independent; another --seed; --max-lr 0.0001.');
    expect(inSpecTerms(split, target).message).toBe(
      "Try: options: { split: \"by-image\" } (target 'pneumonia') if the images are independent; another seeds; maxLr: 0.0001 in the arm (target 'pneumonia').",
    );
    expect(inSpecTerms(split, target).message).not.toMatch(/--/);
  });

  it("an option error names the spec's key, not the training config's or a flag", async () => {
    const config = await jobTrainOptions(target);
    const err = (() => {
      try {
        resolveTrainConfig({ ...config, crop: 300 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(OptionError);
    expect(inSpecTerms(err, target).message).toBe(
      "Expected an integer between 32 and 64 for options.crop of target 'pneumonia' but received 300",
    );
    expect(inSpecTerms(new OptionError('maxLr', 'a number', 'x'), source).message).toBe(
      "Expected a number for train.maxLr of source 'limbs' but received 'x'",
    );
    // Planning (--plan, --estimate) reads the same config: the same words.
    const tooBig = spec({ source: 'none', init: 'default' }, { imageSize: 64, crop: 100 });
    const job = planJobs(planExperiment(tooBig, () => undefined, pairedP)).find((j) => j.kind === 'target')!;
    await expect(jobTrainConfig(job)).rejects.toThrow(
      "Expected an integer between 32 and 64 for options.crop of target 'pneumonia' but received 100",
    );
    // Errors with nothing of the CLI in them pass unchanged.
    const plain = new Error('disk full');
    expect(inSpecTerms(plain, target)).toBe(plain);
  });
});
