// Spec validation, grid expansion, stage-wise winner selection, sharding, merge, lock and export.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { DbLockedError, ResultsDb } from '../src/experiments/db.js';
import { packageRoot } from '../src/native.js';
import { parseCsv } from '../src/data/csv.js';
import { exportCsv, exportJson, RUN_COLUMNS } from '../src/experiments/export.js';
import { shardOf } from '../src/experiments/keys.js';
import { mergeDatabases } from '../src/experiments/merge.js';
import { pairedP } from '../src/experiments/paired.js';
import { planExperiment, planJobs } from '../src/experiments/plan.js';
import { describeJob, doneLookup, runExperiment } from '../src/experiments/run.js';
import { loadSpec, validateSpec } from '../src/experiments/spec.js';
import type { ArmRunner, ExperimentSpec } from '../src/experiments/types.js';
import { experimentReport } from '../src/report/data.js';
import { departures } from '../src/report/departures.js';
import { writeReport } from '../src/report/index.js';
import { comparableRecords, tempDir, removeTempDirs, writeFakeRunner } from './experiments-helpers.js';

let fake: ArmRunner;
afterAll(removeTempDirs);
beforeAll(async () => {
  fake = ((await import(writeFakeRunner(tempDir()))) as { default: ArmRunner }).default;
});

const gridRaw = () => ({
  name: 'g',
  mode: 'grid',
  nGrid: [50, 100, 200],
  seeds: [0, 1],
  targets: [
    { name: 't1', dataset: 'phantom-chest', label: 'Emphysema' },
    { name: 't2', dataset: 'phantom-chest', labels: ['Hernia', 'Mass'] },
  ],
  sources: [{ name: 'chest-source', dataset: 'phantom-chest', n: 300 }],
  base: { epochs: 2, maxLr: 0.001 },
  arms: [
    { name: 'plain', source: 'none', init: 'default' },
    { name: 'one-cycle', policy: 'one-cycle' },
    { name: 'chest', source: 'chest-source' },
  ],
});

const stageRaw = () => ({
  name: 's',
  mode: 'stagewise',
  nGrid: [50, 100, 200, 400],
  seeds: [0],
  targets: [{ name: 'chest', dataset: 'phantom-chest', label: 'Emphysema' }],
  sources: [
    { name: 'chest-source', dataset: 'phantom-chest', n: 300, train: { epochs: 1 } },
    { name: 'msk-source', dataset: 'phantom-msk', n: 300, train: { epochs: 1 } },
  ],
  base: { policy: 'regular', strategy: 'fine-tune', source: 'none', init: 'default', epochs: 2, maxLr: 0.001 },
  stages: [
    { name: 'policy', vary: 'policy', values: ['regular', 'one-cycle'] },
    {
      name: 'source',
      arms: [{ source: 'none' }, { source: 'chest-source' }, { source: 'msk-source' }],
      base: { init: 'pretrained' },
    },
    {
      name: 'strategy',
      vary: 'strategy',
      values: ['fine-tune', 'gradual-unfreeze'],
      winner: { rule: 'paired-t', alpha: 0.05, simpler: 'fine-tune' },
    },
  ],
});

/** How a spec in old spellings is announced (src/experiments/spellings.ts). */
const NOTICE =
  'torchxfer: notice: the spec uses old spellings, read as torchxfer train writes them (run keys are unchanged): ';
describe('spec validation', () => {
  const bad = (mutate: (s: ReturnType<typeof stageRaw>) => void, message: RegExp) => {
    const s = stageRaw();
    mutate(s);
    expect(() => validateSpec(s, {})).toThrow(message);
  };
  it('names the path of a bad value', () => {
    bad(
      (s) => ((s.stages[1]!.arms![0] as Record<string, unknown>).epochs = -1),
      /Expected an integer between 1 and 100000 for stages\[1\]\.arms\[0\]\.epochs but received -1/,
    );
    bad((s) => (s.nGrid[2] = 100), /for nGrid\[2\] but received 100/);
    bad(
      (s) => ((s.stages[0] as Record<string, unknown>).vary = 'colour'),
      /Expected one of 'policy'.* for stages\[0\]\.vary but received 'colour'/,
    );
    bad(
      (s) => ((s.stages[1]!.arms![2] as Record<string, unknown>).source = 'imagenett'),
      /stages\[1\]\.values\[2\] but received 'imagenett'/,
    );
    bad(
      (s) => ((s.stages[1]!.arms![1] as Record<string, unknown>).policy = 'regular'),
      /Expected exactly one option .* for stages\[1\]\.arms\[1\]/,
    );
    bad(
      (s) => ((s.stages[2]!.winner as Record<string, unknown>).simpler = 'none'),
      /for stages\[2\]\.winner\.simpler but received 'none'/,
    );
    bad((s) => ((s.targets[0] as Record<string, unknown>).lable = 'x'), /for targets\[0\]\.lable/);
    bad(
      (s) => ((s as Record<string, unknown>).mode = 'sweep'),
      /Expected one of 'grid', 'stagewise' for mode but received 'sweep'/,
    );
    bad((s) => (s.sources[1]!.name = 'chest-source'), /for sources\[1\]\.name but received 'chest-source'/);
    // Figures, decisions taken in advance, stage targets, named arms, sources tied to a target.
    bad(
      (s) => ((s.stages[2] as Record<string, unknown>).winner = { rule: 'fixed', value: 'frozen' }),
      /for stages\[2\]\.winner\.value but received 'frozen'/,
    );
    bad(
      (s) => ((s.stages[0] as Record<string, unknown>).targets = ['lungs']),
      /Expected one of 'chest' for stages\[0\]\.targets\[0\] but received 'lungs'/,
    );
    bad(
      (s) => ((s.stages[0] as Record<string, unknown>).buildsOn = 'later'),
      /'base' or the name of an earlier stage .* for stages\[0\]\.buildsOn/,
    );
    bad(
      (s) => ((s.stages[1] as Record<string, unknown>).arms = [{ name: 'a', method: 'radiomics' }, { name: 'b' }]),
      /at least one option besides its name for stages\[1\]\.arms\[1\]/,
    );
    bad(
      (s) =>
        ((s.stages[1] as Record<string, unknown>).arms = [
          { name: 'a', method: 'pca' },
          { name: 'b', source: 'none' },
        ]),
      /Expected one of 'cnn', 'radiomics' for stages\[1\]\.arms\[0\]\.method/,
    );
    bad(
      (s) => ((s.sources[0] as Record<string, unknown>).disjointFromTarget = 'lungs'),
      /for sources\[0\]\.disjointFromTarget but received 'lungs'/,
    );
    bad(
      (s) => ((s.sources[0] as Record<string, unknown>).targets = ['lungs']),
      /for sources\[0\]\.targets\[0\] but received 'lungs'/,
    );
    bad((s) => {
      s.targets[0] = { ...s.targets[0]!, label: undefined, labels: ['Emphysema', 'Hernia'] } as never;
      (s.sources[0] as Record<string, unknown>).disjointFromTarget = 'chest';
    }, /a binary target \(one label\) for sources\[0\]\.disjointFromTarget/);
  });

  it('a source offered to some targets only appears in their stages; named arms set several options', () => {
    const s = stageRaw();
    s.targets.push({ name: 'other', dataset: 'phantom-chest', label: 'Hernia' });
    (s.sources[0] as Record<string, unknown>).targets = ['chest'];
    (s.stages[0] as Record<string, unknown>).buildsOn = 'base';
    (s.stages as unknown[]).unshift({
      name: 'fig3',
      figure: 3,
      targets: ['other'],
      buildsOn: 'base',
      arms: [
        { name: 'rad', method: 'radiomics' },
        { name: 'cnn', source: 'none', policy: 'one-cycle' },
      ],
    });
    const spec = validateSpec(s, {});
    const plan = planExperiment(spec, () => undefined, pairedP);
    expect(
      plan.arms
        .filter((a) => a.stage === 'fig3')
        .map((a) => [a.figure, a.target, a.name, a.arm.method ?? 'cnn', a.arm.policy]),
    ).toEqual([
      ['3', 'other', 'rad', 'radiomics', 'regular'],
      ['3', 'other', 'cnn', 'cnn', 'one-cycle'],
    ]);
    // Radiomics jobs ignore what the stage carried; they tune no learning rate.
    expect(plan.arms[0]!.jobs.every((j) => j.lrFrom === undefined && j.dependsOn === undefined)).toBe(true);
    const sourcesFor = (t: string) =>
      new Set(
        planExperiment(spec, () => ({ testAuc: 0.7, testAucTta: 0.7 }), pairedP)
          .arms.filter((a) => a.stage === 'source' && a.target === t)
          .map((a) => a.arm.source),
      );
    expect(sourcesFor('chest')).toEqual(new Set(['none', 'chest-source', 'msk-source']));
    expect(sourcesFor('other')).toEqual(new Set(['none', 'msk-source']));
  });
  it("a stage may run part of the spec's N grid; its found max LR is tuned at the stage's largest size", () => {
    const s = stageRaw();
    (s.stages[1] as Record<string, unknown>).nGrid = [50, 200];
    (s.stages[1] as Record<string, unknown>).base = { init: 'pretrained', maxLr: 'auto' };
    const spec = validateSpec(s, {});
    const plan = planExperiment(spec, () => ({ testAuc: 0.7, testAucTta: 0.7 }), pairedP);
    const sizes = (stage: string) => [
      ...new Set(plan.arms.filter((a) => a.stage === stage).flatMap((a) => a.jobs.map((j) => j.n))),
    ];
    expect(sizes('policy')).toEqual([50, 100, 200, 400]);
    expect(sizes('source')).toEqual([50, 200]);
    const chest = plan.arms.find((a) => a.stage === 'source' && a.name === 'chest-source')!;
    const tuning = chest.jobs.find((j) => j.n === 200)!;
    expect(tuning.lrFrom).toBeUndefined();
    expect(chest.jobs.find((j) => j.n === 50)!.lrFrom).toBe(tuning.key);
    // A size outside the spec's grid, or out of order, is named by its path.
    const bad = (nGrid: unknown) => () =>
      validateSpec({ ...stageRaw(), stages: [{ ...stageRaw().stages[0], nGrid }] }, {});
    expect(bad([50, 150])).toThrow(
      /a size of the spec's nGrid \(50, 100, 200, 400\) for stages\[0\]\.nGrid\[1\] but received 150/,
    );
    expect(bad([200, 100])).toThrow(/larger than stages\[0\]\.nGrid\[0\] \(200\) for stages\[0\]\.nGrid\[1\]/);
    expect(bad([])).toThrow(/stages\[0\]\.nGrid/);
  });

  it('the documented example (docs/experiment-spec.md) is a valid spec', () => {
    const md = readFileSync(join(packageRoot, 'docs', 'experiment-spec.md'), 'utf8');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(md)![1]!;
    const dir = tempDir();
    writeFileSync(join(dir, 'example.yaml'), yaml);
    const spec = loadSpec(join(dir, 'example.yaml'), { env: { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c' } });
    expect(spec.stages.map((st) => [st.name, st.vary, st.buildsOn])).toEqual([
      ['radiomics-vs-cnn', 'arm', undefined],
      ['policy', 'policy', undefined],
      ['source', 'source', 'policy'],
      ['strategy', 'strategy', 'policy'],
      ['source-resnet50', 'source', 'policy'],
    ]);
    expect(spec.stages[0]!.arms).toEqual([{ method: 'radiomics' }, { source: 'imagenet' }]);
    expect(spec.stages[3]!.winner).toEqual({ rule: 'fixed', metric: 'testAucTta', value: 'gradual-unfreeze' });
    expect(spec.sources[0]!.root).toBe('/c');
    expect(spec.sources[1]!.targets).toEqual(['emphysema']);
  });

  it('expands ${VAR} in roots and names a missing variable', () => {
    const s = stageRaw();
    (s.targets[0] as Record<string, unknown>).root = '${MY_ROOT}/nih';
    expect(validateSpec(s, { MY_ROOT: '/data' }).targets[0]!.root).toBe('/data/nih');
    expect(() => validateSpec(s, {})).toThrow(/environment variable MY_ROOT .* for targets\[0\]\.root/);
  });
  it('reads YAML and JSON files, naming the file on errors; presets validate', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'a.yaml'),
      'name: y\nmode: grid\nnGrid: [50]\ntargets: [{name: t, dataset: phantom-chest}]\narms: [{name: a, epochs: 0}]\n',
    );
    expect(() => loadSpec(join(dir, 'a.yaml'))).toThrow(
      /a\.yaml: Expected an integer between 1 and 100000 for arms\[0\]\.epochs but received 0/,
    );
    writeFileSync(join(dir, 'b.json'), '{"name": "j", "mode": "grid", ');
    expect(() => loadSpec(join(dir, 'b.json'))).toThrow(/Cannot parse the spec .*b\.json/);
    expect(() => loadSpec('nonesuch')).toThrow(/preset name \(paper, demo\) for SPEC but received 'nonesuch'/);
    const demo = loadSpec('demo');
    expect(demo.stages.map((s) => s.figure)).toEqual(['4', '6', '3']);
    // The run log and --dry-run say radiomics for a radiomics job, not a network's settings.
    const demoJobs = planJobs(planExperiment(demo, () => ({ testAuc: 0.7, testAucTta: 0.7 }), pairedP));
    const words = demoJobs.map(describeJob);
    expect(words.filter((w) => w.endsWith(' radiomics'))).toEqual(
      demo.seeds.map((seed) => `target cardiomegaly n=50 seed=${seed} radiomics`),
    );
    expect(words).toContain(
      'target cardiomegaly n=50 seed=0 densenet121 regular fine-tune source=chest-source init=pretrained',
    );
    expect(() => loadSpec('paper', { env: {} })).toThrow(/NIH_ROOT/);
    const paper = loadSpec('paper', { env: { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c', MURA_ROOT: '/m' } });
    expect(paper.nGrid).toEqual([50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000]);
  });
});

describe('planning', () => {
  it('grid: targets x arms x N x seeds, plus one source job per architecture used', () => {
    const spec = validateSpec(gridRaw(), {});
    const plan = planExperiment(spec, () => undefined, pairedP);
    expect(plan.arms.length).toBe(2 * 3);
    expect(plan.arms.flatMap((a) => a.jobs).length).toBe(2 * 3 * 3 * 2);
    expect(plan.sources.length).toBe(1);
    const jobs = planJobs(plan);
    expect(jobs.length).toBe(36 + 1);
    expect(jobs[0]!.kind).toBe('source');
    expect(new Set(jobs.map((j) => j.key)).size).toBe(jobs.length);
    // Keys are deterministic: same spec, same keys.
    expect(planJobs(planExperiment(validateSpec(gridRaw(), {}), () => undefined, pairedP)).map((j) => j.key)).toEqual(
      jobs.map((j) => j.key),
    );
  });
  it('accepts the old spellings (onecycle, gradual) as the same arms and keys, naming each in a notice', () => {
    const keys = (raw: ReturnType<typeof stageRaw>) =>
      planJobs(planExperiment(validateSpec(raw, {}), () => undefined, pairedP)).map((j) => j.key);
    const oldNames = stageRaw();
    oldNames.stages[0]!.values = ['regular', 'onecycle'];
    const winner = { rule: 'paired-t', alpha: 0.05, simpler: 'gradual' };
    oldNames.stages[2] = { name: 'strategy', vary: 'strategy', values: ['fine-tune', 'gradual'], winner };
    const notice = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const spec = validateSpec(oldNames, {});
      expect(spec.stages![0]!.values).toEqual(['regular', 'one-cycle']);
      expect(spec.stages![2]!.values).toEqual(['fine-tune', 'gradual-unfreeze']);
      expect(spec.stages![2]!.winner).toMatchObject({ simpler: 'gradual-unfreeze' });
      expect(notice.mock.calls.map((c) => String(c[0]))).toEqual([
        NOTICE +
          "stages[0].values[1]: 'onecycle' (now 'one-cycle'), stages[2].values[1]: 'gradual' (now 'gradual-unfreeze'), " +
          "stages[2].winner.simpler: 'gradual' (now 'gradual-unfreeze')",
      ]);
      const current = stageRaw();
      current.stages[2]!.winner = { rule: 'paired-t', alpha: 0.05, simpler: 'gradual-unfreeze' };
      expect(keys(oldNames)).toEqual(keys(current));
    } finally {
      notice.mockRestore();
    }
    const bad = stageRaw();
    bad.stages[0]!.values = ['regular', 'one_cycle'];
    expect(() => validateSpec(bad, {})).toThrow(/for stages\[0\]\.values\[1\] but received 'one_cycle'/);
  });

  it("tta is a count of copies, as the CLI's --tta; the old boolean loads with a notice and keeps its run keys", () => {
    const withTta = (tta: unknown) => ({ ...gridRaw(), base: { epochs: 2, maxLr: 0.001, tta } });
    const keys = (raw: object) =>
      planJobs(planExperiment(validateSpec(raw, {}), () => undefined, pairedP)).map((j) => j.key);
    expect(validateSpec(gridRaw(), {}).base.tta).toBe(4);
    expect(validateSpec(withTta(2), {}).base.tta).toBe(2);
    expect(validateSpec({ ...gridRaw(), arms: [{ name: 'plain', tta: 0 }] }, {}).arms![0]!.arm.tta).toBe(0);
    const warn = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(validateSpec(withTta(true), {}).base.tta).toBe(4);
      expect(validateSpec({ ...gridRaw(), arms: [{ name: 'plain', tta: false }] }, {}).arms![0]!.arm.tta).toBe(0);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
        `${NOTICE}base.tta: true (now 4)`,
        `${NOTICE}arms[0].tta: false (now 0)`,
      ]);
      // 4 copies is what true meant: the same runs, so the same keys (and those made before the count).
      expect(keys(withTta(4))).toEqual(keys(withTta(true)));
      const before = { ...gridRaw(), base: { epochs: 2, maxLr: 0.001 } };
      expect(keys(before)).toEqual(keys(withTta(4)));
    } finally {
      warn.mockRestore();
    }
    expect(keys(withTta(2))).not.toEqual(keys(withTta(4)));
    expect(keys(withTta(0))).not.toEqual(keys(withTta(4)));
    expect(() => validateSpec(withTta(65), {})).toThrow(
      /Expected an integer between 0 and 64 for base\.tta but received 65/,
    );
    expect(() => validateSpec(withTta('yes'), {})).toThrow(/for base\.tta but received 'yes'/);
  });

  it('keys ignore where the data sits (root) but not what it is', () => {
    const at = (root: string, label = 'Emphysema') => {
      const raw = gridRaw();
      raw.targets[0] = { ...raw.targets[0]!, label, root } as never;
      return planJobs(planExperiment(validateSpec(raw, {}), () => undefined, pairedP)).map((j) => j.key);
    };
    expect(at('/mnt/a')).toEqual(at('/data/b'));
    expect(at('/mnt/a')).not.toEqual(at('/mnt/a', 'Hernia'));
  });

  it('shards are stable and balanced', () => {
    const keys = planJobs(
      planExperiment(
        validateSpec({ ...gridRaw(), seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] }, {}),
        () => undefined,
        pairedP,
      ),
    ).map((j) => j.key);
    const counts = [0, 1, 2, 3].map((i) => keys.filter((k) => shardOf(k, 4) === i).length);
    expect(counts.reduce((a, b) => a + b)).toBe(keys.length);
    for (const c of counts) expect(Math.abs(c - keys.length / 4)).toBeLessThan(keys.length / 4 / 2);
  });
});

describe('published weights as a source (nothing trained)', () => {
  const withWeights = (source: Record<string, unknown>) => {
    const raw = gridRaw();
    return {
      ...raw,
      sources: [...raw.sources, { name: 'xrv', ...source }],
      arms: [...raw.arms, { name: 'xrv', source: 'xrv' }],
    };
  };

  it('a registry name brings its architecture; arms naming it start from the weights, keyed by them, with no source job', () => {
    const spec = validateSpec(withWeights({ weights: 'densenet121-res224-chex' }));
    expect(spec.weightSources).toEqual([{ name: 'xrv', weights: 'densenet121-res224-chex', arch: 'densenet121' }]);
    const plan = planExperiment(spec, () => undefined, pairedP);
    const xrv = plan.arms.filter((a) => a.name === 'xrv').flatMap((a) => a.jobs);
    expect(xrv.length).toBe(2 * 3 * 2);
    expect(xrv.every((j) => j.initWeights === 'densenet121-res224-chex' && j.dependsOn === undefined)).toBe(true);
    // Only the trained source task is a source job.
    expect(new Set(plan.sources.map((j) => j.data.name))).toEqual(new Set(['chest-source']));
    // Other weights under the same source name are other runs.
    const other = planExperiment(
      validateSpec(withWeights({ weights: 'densenet121-res224-pc' })),
      () => undefined,
      pairedP,
    );
    const otherKeys = new Set(other.arms.filter((a) => a.name === 'xrv').flatMap((a) => a.jobs.map((j) => j.key)));
    expect(xrv.some((j) => otherKeys.has(j.key))).toBe(false);
    // A spec without weight sources keeps its shape (and so its hash in existing databases).
    expect('weightSources' in validateSpec(gridRaw())).toBe(false);
  });

  it('bad weight sources are named by their path', () => {
    expect(() => validateSpec(withWeights({ weights: 'no-such-weights' }))).toThrow(
      "Expected a registry name (torchxfer weights list) or an existing weights file for sources[1].weights but received 'no-such-weights'",
    );
    expect(() => validateSpec(withWeights({ weights: 'densenet121-res224-chex', arch: 'resnet50' }))).toThrow(
      /sources\[1\]\.arch/,
    );
    const file = join(tempDir(), 'chest.pt');
    writeFileSync(file, 'x');
    expect(() => validateSpec(withWeights({ weights: file }))).toThrow(
      /the architecture of the weights file .* for sources\[1\]\.arch/,
    );
    expect(validateSpec(withWeights({ weights: file, arch: 'densenet121' })).weightSources![0]!.weights).toBe(file);
    expect(() => validateSpec(withWeights({ weights: 'densenet121-res224-chex', n: 5 }))).toThrow(/sources\[1\]/);
    // An arm of another architecture cannot start from them: said when planning.
    const spec = validateSpec({
      ...withWeights({ weights: 'densenet121-res224-chex' }),
      base: { epochs: 2, maxLr: 0.001, arch: 'resnet50' },
    });
    expect(() => planExperiment(spec, () => undefined, pairedP)).toThrow(
      /source 'xrv' is densenet121 weights .* trains resnet50/,
    );
  });

  it('the train runner initialises such a job from the weights', async () => {
    const { jobTrainOptions } = await import('../src/experiments/train-runner.js');
    const spec = validateSpec(withWeights({ weights: 'densenet121-res224-chex' }));
    const job = planExperiment(spec, () => undefined, pairedP).arms.find((a) => a.name === 'xrv')!.jobs[0]!;
    const config = await jobTrainOptions({ ...job, data: { ...job.data, dataset: 'nih', root: '/data/nih' } });
    expect(config.init).toBe('densenet121-res224-chex');
  });

  it('the paper preset offers same-anatomy weights in Fig. 6 to every target, refusing weights that saw NIH images', () => {
    const env = { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c', MURA_ROOT: '/m' };
    const spec = loadSpec('paper', { env, preset: { sameAnatomyWeights: 'densenet121-res224-chex' } });
    const plan = planExperiment(spec, () => undefined, pairedP);
    const arms = plan.arms.filter((a) => a.arm.source === 'xrv-chex');
    expect(arms.map((a) => `${a.figure}:${a.target}`).sort()).toEqual([
      '6:chestxray14',
      '6:emphysema',
      '6:hernia',
      '6:pneumonia',
    ]);
    expect(
      arms.every(
        (a) => a.arm.arch === 'densenet121' && a.jobs.every((j) => j.initWeights === 'densenet121-res224-chex'),
      ),
    ).toBe(true);
    // 648 jobs without them; the new arm adds one N grid per target and no source task.
    expect(planJobs(plan).length).toBe(648 + 4 * 12 + 5);
    for (const w of ['densenet121-res224-nih', 'densenet121-res224-all', 'densenet121-res224-rsna']) {
      expect(() => loadSpec('paper', { env, preset: { sameAnatomyWeights: w } })).toThrow(
        /--same-anatomy-weights .*trained on/,
      );
    }
    expect(() => loadSpec('paper', { env, preset: { sameAnatomyWeights: 'resnet50-res512-all' } })).toThrow(
      /DenseNet121 weights/,
    );
  });
});

describe('running', () => {
  it('stage-wise: each stage builds on the winner of the one before', async () => {
    const spec = validateSpec(stageRaw(), {});
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    db.acquireWriter();
    const before = planExperiment(spec, doneLookup(db), pairedP);
    expect(before.arms.map((a) => a.stage)).toEqual(['policy', 'policy']); // later stages unknown yet
    const s = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s.failed).toEqual([]);
    const o = Object.fromEntries(s.plan.outcomes.map((x) => [x.stage, x.decision!]));
    expect(o.policy!.winner).toBe('one-cycle');
    expect(o.source!.winner).toBe('chest-source');
    // Stage 3's options only differ by 0.02 AUC over 4 pairs with tiny noise: the t-test decides.
    expect(o.strategy!.pValue).toBeLessThan(0.05);
    expect(o.strategy!.winner).toBe('gradual-unfreeze');
    const stage2 = s.plan.arms.filter((a) => a.stage === 'source');
    expect(stage2.every((a) => a.arm.policy === 'one-cycle')).toBe(true);
    const stage3 = s.plan.arms.filter((a) => a.stage === 'strategy');
    expect(stage3.every((a) => a.arm.source === 'chest-source' && a.arm.policy === 'one-cycle')).toBe(true);
    // Same config in two stages is one run: 2 + 3 + 2 arms x 4 N, minus 2 shared arms, plus 2 sources.
    expect(db.runs().filter((r) => r.status === 'done').length).toBe((2 + 3 + 2 - 2) * 4 + 2);
    expect(db.epochs(db.runs()[0]!.key).length).toBeGreaterThan(0);
    // A second pass runs nothing.
    const again = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(again.ran).toBe(0);
    db.close();
  });

  it('the paired-t rule keeps the simpler option without a significant gain', async () => {
    const raw = stageRaw();
    raw.stages = [
      {
        name: 'strategy',
        vary: 'strategy',
        values: ['fine-tune', 'gradual-unfreeze'],
        winner: { rule: 'paired-t', alpha: 1e-30, simpler: 'fine-tune' },
      },
    ] as never;
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const s = await runExperiment(validateSpec(raw, {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s.plan.outcomes[0]!.decision!.winner).toBe('fine-tune');
    expect(s.plan.outcomes[0]!.decision!.means[1]).toBeGreaterThan(s.plan.outcomes[0]!.decision!.means[0]!);
    db.close();
  });

  it('on a stage with one N the paired-t rule pairs the seeds (one mean over N would be one pair, never a test)', async () => {
    const raw = { ...stageRaw(), seeds: [0, 1, 2, 3] };
    // The fake runner gives gradual-unfreeze a steady +0.02 over fine-tune (noise +-0.002): significant over 4 seeds.
    raw.stages = [
      {
        name: 'strategy',
        vary: 'strategy',
        values: ['fine-tune', 'gradual-unfreeze'],
        nGrid: [50],
        winner: { rule: 'paired-t', alpha: 0.05, simpler: 'fine-tune' },
      },
    ] as never;
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const s = await runExperiment(validateSpec(raw, {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const decision = s.plan.outcomes[0]!.decision!;
    expect(decision.winner).toBe('gradual-unfreeze');
    const seedAuc = (strategy: string) =>
      db
        .runs()
        .filter((r) => JSON.parse(r.arm_json).strategy === strategy)
        .sort((a, b) => a.seed - b.seed)
        .map((r) => r.test_auc!);
    // From random init, the stage's 'gradual-unfreeze' arm trains as 'discriminative' (nothing pretrained to freeze).
    expect(decision.pValue).toBeCloseTo(pairedP(seedAuc('discriminative'), seedAuc('fine-tune')), 12);
    expect(decision.pValue).toBeLessThan(0.05);
    db.close();
  });

  it("winnerScope 'all' picks one winner from every target's results and carries it to each", async () => {
    const raw = stageRaw();
    raw.targets.push({ name: 'chest2', dataset: 'phantom-chest', label: 'Hernia' });
    (raw.stages[0] as Record<string, unknown>).winnerScope = 'all';
    raw.stages = raw.stages.slice(0, 2);
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const s = await runExperiment(validateSpec(raw, {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const policy = s.plan.outcomes.filter((o) => o.stage === 'policy');
    expect(policy.map((o) => o.target)).toEqual(['*']);
    expect(policy[0]!.decision!.winner).toBe('one-cycle');
    expect(s.plan.outcomes.filter((o) => o.stage === 'source').map((o) => o.target)).toEqual(['chest', 'chest2']);
    expect(s.plan.arms.filter((a) => a.stage === 'source').every((a) => a.arm.policy === 'one-cycle')).toBe(true);
    db.close();
  });

  it('a spec changed under the same experiment name is refused, in runs and merges', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'a.db'));
    db.saveExperiment(validateSpec(gridRaw(), {}));
    expect(() => db.saveExperiment(validateSpec({ ...gridRaw(), nGrid: [50, 100] }, {}))).toThrow(
      /already holds an experiment named 'g' with a different spec/,
    );
    // Allowed on request: a longer N grid keeps the finished runs of the old grid.
    const spec = validateSpec(gridRaw(), {});
    const first = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const longer = validateSpec({ ...gridRaw(), nGrid: [50, 100, 200, 400] }, {});
    await expect(runExperiment(longer, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') })).rejects.toThrow(
      /--allow-spec-change/,
    );
    const more = await runExperiment(longer, {
      db,
      runner: fake,
      pairedP,
      checkpointDir: join(dir, 'ck'),
      allowSpecChange: true,
    });
    expect(first.done).toBe(37);
    expect(more.done).toBe(2 * 3 * 2);
    expect(JSON.parse(db.experiments()[0]!.spec_json).nGrid).toEqual([50, 100, 200, 400]);
    db.close();
    const other = new ResultsDb(join(dir, 'b.db'));
    other.saveExperiment(validateSpec({ ...gridRaw(), nGrid: [50, 100] }, {}));
    other.close();
    expect(() => mergeDatabases(join(dir, 'a.db'), [join(dir, 'b.db')])).toThrow(/Experiment 'g' has different specs/);
  });

  it('a misbehaving runner fails its run with a clear error, never the experiment', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const raw = {
      ...gridRaw(),
      sources: [],
      targets: [gridRaw().targets[0]!],
      arms: [{ name: 'plain', source: 'none' }],
      seeds: [0],
      nGrid: [50, 100],
    };
    const bad: ArmRunner = {
      run: async (job, ctx) => {
        if (job.n === 50) ctx.onEpoch({ epoch: 0 } as never);
        return undefined as never;
      },
    };
    const s = await runExperiment(validateSpec(raw, {}), { db, runner: bad, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s.failed.map((f) => f.error).sort()).toEqual([
      'Expected an integer >= 1 for metrics.epoch (from the runner, numbered from 1) but received 0',
      'the runner returned undefined instead of a RunResult',
    ]);
    db.close();
  });

  it("a source served from the phantoms' cache is reported as reused, not as a run that trained (the ETA leaves it out)", async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const spec = validateSpec({ ...gridRaw(), seeds: [0], nGrid: [50] }, {});
    const servedFromCache: ArmRunner = {
      run: async (job, ctx) => {
        const r = await fake.run(job, ctx);
        return job.kind === 'source' ? { ...r, timings: { ...r.timings, cachedSourceSeconds: 400 } } : r;
      },
    };
    const outcomes: string[] = [];
    await runExperiment(spec, {
      db,
      runner: servedFromCache,
      pairedP,
      checkpointDir: join(dir, 'ck'),
      onJob: (job, outcome) => outcomes.push(`${job.kind} ${outcome}`),
    });
    expect(outcomes).toEqual(['source reused', ...spec.targets.flatMap(() => spec.arms.map(() => 'target done'))]);
    db.close();
  });

  it('failed runs are recorded and retried on the next run', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const spec = validateSpec(gridRaw(), {});
    process.env.FAKE_FAIL_DATA = 't2';
    const s = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    delete process.env.FAKE_FAIL_DATA;
    expect(s.failed.length).toBe(18);
    expect(db.runs().filter((r) => r.status === 'failed')[0]!.error).toMatch(/fake failure on t2/);
    const s2 = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s2.ran).toBe(18);
    expect(db.runs().every((r) => r.status === 'done')).toBe(true);
    db.close();
  });

  it('declares a validation or test cap only where it cut a set the runs recorded', async () => {
    const dir = tempDir();
    const raw = gridRaw();
    // The fake runs record validation 38-40 and test 100: a cap of 500 cuts nothing, a cap of 100 may have.
    for (const t of raw.targets) Object.assign(t, { options: { valLimit: 500, testLimit: 100 } });
    const spec = validateSpec(raw, {});
    const db = new ResultsDb(join(dir, 'caps.db'));
    await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const said = departures(experimentReport(db, spec.name)).spec;
    db.close();
    expect(said).toContain('The test sets are capped at 100 images (a seeded prefix), not the full balanced sets.');
    expect(said.filter((d) => d.includes('validation sets are capped'))).toEqual([]);
  });

  it('shards merged equal the unsharded grid; merging again changes nothing', async () => {
    const dir = tempDir();
    const spec: ExperimentSpec = validateSpec(gridRaw(), {});
    const ck = join(dir, 'ck');
    const whole = new ResultsDb(join(dir, 'whole.db'));
    await runExperiment(spec, { db: whole, runner: fake, pairedP, checkpointDir: ck });
    const shardPaths: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = join(dir, `shard${i}.db`);
      shardPaths.push(p);
      const db = new ResultsDb(p);
      // Shards share the checkpoint folder; shard order matters only for who trains the source.
      await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: ck, shard: { index: i, count: 3 } });
      expect(db.runs().every((r) => shardOf(r.key, 3) === i)).toBe(true);
      db.close();
    }
    const out = join(dir, 'merged.db');
    expect(mergeDatabases(out, shardPaths).added).toBe(37);
    const again = mergeDatabases(out, shardPaths);
    expect(again).toEqual({ added: 0, replaced: 0, kept: 37 });
    const merged = new ResultsDb(out, { readonly: true });
    expect(comparableRecords(exportJson(merged))).toEqual(comparableRecords(exportJson(whole)));
    merged.close();
    whole.close();
  });

  it('merge: a done run replaces a failed or running one with the same key', async () => {
    const dir = tempDir();
    const spec = validateSpec(gridRaw(), {});
    const a = new ResultsDb(join(dir, 'a.db'));
    process.env.FAKE_FAIL_DATA = 't1';
    await runExperiment(spec, { db: a, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    delete process.env.FAKE_FAIL_DATA;
    a.close();
    const b = new ResultsDb(join(dir, 'b.db'));
    await runExperiment(spec, { db: b, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    b.close();
    const s = mergeDatabases(join(dir, 'a.db'), [join(dir, 'b.db')]);
    expect(s.replaced).toBe(18);
    const m = new ResultsDb(join(dir, 'a.db'), { readonly: true });
    expect(m.runs().every((r) => r.status === 'done')).toBe(true);
    expect(m.epochs(m.runs()[0]!.key).length).toBe(2);
    m.close();
  });

  it('a results database of schema 1 (epochs from 0) reads numbered from 1, and a writable open renumbers it once', async () => {
    const dir = tempDir();
    const path = join(dir, 'v1.db');
    const db = new ResultsDb(path);
    const raw = {
      ...gridRaw(),
      sources: [],
      targets: [gridRaw().targets[0]!],
      arms: [{ name: 'plain', source: 'none' }],
      seeds: [0],
      nGrid: [50],
    };
    await runExperiment(validateSpec(raw, {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const key = db.runs()[0]!.key;
    const now = { epochs: db.epochs(key), run: db.run(key)! };
    expect(now.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(JSON.parse(now.run.result_json!).bestEpoch).toBe(2);
    // What schema 1 held for the same run: every epoch, and the best one, counted from 0.
    db.db.exec(
      "UPDATE epochs SET epoch = -epoch; UPDATE epochs SET epoch = -epoch - 1; UPDATE meta SET value = '1' WHERE key = 'schema_version'",
    );
    for (const e of db.db.prepare('SELECT * FROM epochs').all() as {
      run_key: string;
      epoch: number;
      metrics_json: string;
    }[]) {
      db.db
        .prepare('UPDATE epochs SET metrics_json = ? WHERE run_key = ? AND epoch = ?')
        .run(JSON.stringify({ ...JSON.parse(e.metrics_json), epoch: e.epoch }), e.run_key, e.epoch);
    }
    db.db
      .prepare('UPDATE runs SET result_json = ? WHERE key = ?')
      .run(JSON.stringify({ ...JSON.parse(now.run.result_json!), bestEpoch: 1 }), key);
    db.close();
    const ro = new ResultsDb(path, { readonly: true });
    expect(ro.epochs(key)).toEqual(now.epochs);
    expect(JSON.parse(ro.run(key)!.result_json!).bestEpoch).toBe(2);
    expect(JSON.parse(ro.runs()[0]!.result_json!).bestEpoch).toBe(2);
    ro.close();
    for (let open = 0; open < 2; open++) {
      const rw = new ResultsDb(path);
      expect(rw.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({ value: '2' });
      expect(rw.epochs(key)).toEqual(now.epochs);
      expect(JSON.parse(rw.run(key)!.result_json!).bestEpoch).toBe(2);
      rw.close();
    }
  });

  it('runners are told where run folders go: beside the database by default, or the folder given', async () => {
    const dir = tempDir();
    const raw = {
      ...gridRaw(),
      sources: [],
      targets: [gridRaw().targets[0]!],
      arms: [{ name: 'plain', source: 'none' }],
      seeds: [0],
      nGrid: [50],
    };
    const seen: (string | undefined)[] = [];
    const spy: ArmRunner = { run: (job, ctx) => (seen.push(ctx.runsDir), fake.run(job, ctx)) };
    mkdirSync(join(dir, 'sub'));
    const db = new ResultsDb(join(dir, 'sub', 'r.db'));
    await runExperiment(validateSpec(raw, {}), { db, runner: spy, pairedP, checkpointDir: join(dir, 'ck') });
    db.close();
    expect(seen).toEqual([join(dir, 'sub', 'g.runs')]);
    const db2 = new ResultsDb(join(dir, 'r2.db'));
    await runExperiment(validateSpec(raw, {}), {
      db: db2,
      runner: spy,
      pairedP,
      checkpointDir: join(dir, 'ck'),
      runsDir: 'elsewhere',
    });
    db2.close();
    expect(seen[1]).toBe(join(process.cwd(), 'elsewhere'));
  });

  it('a second writer is refused, naming the holder; a dead holder is taken over', () => {
    const dir = tempDir();
    const a = new ResultsDb(join(dir, 'r.db'));
    a.acquireWriter();
    // Pretend the lock belongs to another live process on this host (our parent).
    a.db.prepare('UPDATE writer_lock SET pid = ?').run(process.ppid);
    const b = new ResultsDb(join(dir, 'r.db'));
    expect(() => b.acquireWriter()).toThrow(DbLockedError);
    expect(() => b.acquireWriter()).toThrow(new RegExp(`in use by another writer \\(pid ${process.ppid} on`));
    // A pid that does not exist is stale.
    a.db.prepare('UPDATE writer_lock SET pid = ?').run(2 ** 22 + 12345);
    expect(() => b.acquireWriter()).not.toThrow();
    // Held from another host: refused while its heartbeat is fresh, taken over once it is 10 minutes old.
    b.db.prepare('UPDATE writer_lock SET host = ?, heartbeat = ?').run('node-elsewhere', Date.now());
    expect(() => a.acquireWriter()).toThrow(/on node-elsewhere/);
    b.db.prepare('UPDATE writer_lock SET heartbeat = ?').run(Date.now() - 11 * 60_000);
    expect(() => a.acquireWriter()).not.toThrow();
    b.close();
    a.close();
  });

  it('export: CSV and JSON carry the same flat runs (round trip), with the arm name and per-label columns', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    await runExperiment(validateSpec(gridRaw(), {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const json = JSON.parse(exportJson(db)) as { runs: Record<string, unknown>[] };
    const table = parseCsv(exportCsv(db), 'export.csv');
    const rows = [table.header, ...table.rows.map((r) => r.cells)];
    expect(rows[0]!.slice(0, RUN_COLUMNS.length)).toEqual([...RUN_COLUMNS]);
    expect(rows[0]!.slice(RUN_COLUMNS.length).every((c) => /^auc(_tta)?:/.test(c))).toBe(true);
    expect(rows.length - 1).toBe(json.runs.length);
    rows.slice(1).forEach((row, i) => {
      const fromCsv = Object.fromEntries(rows[0]!.map((c, j) => [c, row[j]]));
      const fromJson = Object.fromEntries(
        rows[0]!.map((c) => [
          c,
          json.runs[i]![c] === null || json.runs[i]![c] === undefined ? '' : String(json.runs[i]![c]),
        ]),
      );
      expect(fromCsv).toEqual(fromJson);
      // Flat: no JSON inside a cell.
      for (const cell of row) expect(cell.startsWith('{') || cell.startsWith('[')).toBe(false);
    });
    expect(json.runs[0]!.arch).toBe('densenet121');
    // The spec's own arm name (a grid arm's name), and the method that produced the numbers.
    const spec = validateSpec(gridRaw(), {});
    expect(
      json.runs.every(
        (r) =>
          (r.kind === 'source' ? r.arm === `source task ${r.data_name}` : spec.arms.some((a) => a.name === r.arm)) &&
          r.method === 'cnn',
      ),
    ).toBe(true);
    expect(json.runs.map((r) => r.armNames)).toEqual(json.runs.map((r) => [r.arm]));
    expect((json.runs[1]!.history as unknown[]).length).toBe(2);
    db.close();
  });

  it('report of a grid: one AUC figure per target, per-label AUCs of a multi-label target', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    await runExperiment(validateSpec(gridRaw(), {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const files = await writeReport(db, join(dir, 'out'), { png: false });
    const html = readFileSync(files.html, 'utf8');
    expect((html.match(/<figure class="auc-figure"/g) ?? []).length).toBe(2);
    expect(html).toMatch(/<table class="per-label">.*<th>Hernia<\/th><th>Mass<\/th>/s);
    const t2 = db
      .runs()
      .filter((r) => r.data_name === 't2' && r.n === 200 && JSON.parse(r.arm_json).source === 'imagenet');
    expect(t2.length).toBe(2);
    const mass = t2.map((r) => JSON.parse(r.per_label_json!).auc.Mass as number);
    expect(html).toContain(((mass[0]! + mass[1]!) / 2).toFixed(4));
    expect(html).not.toMatch(/data-target="t1"[^]*?<table class="per-label">[^]*?data-target="t2"/);
    db.close();
  });

  it('report: a stage with its own N grid shows its sizes only, in its table and as seeds per arm in its figure', async () => {
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    const raw = stageRaw();
    (raw.stages[1] as Record<string, unknown>).nGrid = [50];
    await runExperiment(validateSpec(raw, {}), { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    const r = experimentReport(db, 's');
    expect(r.arms.filter((a) => a.group === 'source').map((a) => [a.nGrid, a.done])).toEqual([
      [[50], [1]],
      [[50], [1]],
      [[50], [1]],
    ]);
    expect(r.arms.find((a) => a.group === 'policy')!.nGrid).toEqual([50, 100, 200, 400]);
    // A t-test over N needs several sizes: the one-N stage has none, the four-N stages theirs.
    expect(r.tests.filter((t) => t.over === 'n').map((t) => [t.group, t.pairs])).toEqual([
      ['policy', 4],
      ['strategy', 4],
    ]);
    const html = readFileSync((await writeReport(db, join(dir, 'out'), { png: false })).html, 'utf8');
    const table = (group: string) =>
      html.match(new RegExp(`<table class="auc" data-group="${group}"[^]*?</table>`))![0];
    expect(table('source').match(/<th>N=\d+<\/th>/g)).toEqual(['<th>N=50</th>']);
    expect(table('policy').match(/<th>N=\d+<\/th>/g)).toHaveLength(4);
    // The one-N stage's figure labels its arms on the x axis (a dot per seed), the others draw lines over N.
    expect(html).toMatch(/class="tick x-tick"[^>]*>chest-source</);
    db.close();
  });

  it("the paper preset runs end to end with the fake runner, every figure planned at once on the paper's decisions", async () => {
    const spec = loadSpec('paper', { env: { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c', MURA_ROOT: '/m' } });
    const dir = tempDir();
    const db = new ResultsDb(join(dir, 'r.db'));
    // Decided in advance: all six figures are planned before any result (648 distinct jobs, 5 source tasks):
    // Fig. 4 from the default init shares no arm with Fig. 5 (+48 over 4 targets), Fig. 8 on Emphysema
    // alone adds only its moments arm (12; it added 48 over 4 targets).
    const before = planExperiment(spec, doneLookup(db), pairedP);
    expect(planJobs(before).length).toBe(648 + 5);
    expect([...new Set(before.arms.map((a) => a.figure))]).toEqual(['3', '4', '5', '6', '7', '8']);
    const s = await runExperiment(spec, { db, runner: fake, pairedP, checkpointDir: join(dir, 'ck') });
    expect(s.failed).toEqual([]);
    expect(s.plan.outcomes.length).toBe(2 + 4 * 4 + 1);
    expect(s.plan.outcomes.every((o) => o.decision)).toBe(true);
    for (const t of spec.targets) {
      const decision = (stage: string) =>
        s.plan.outcomes.find((o) => o.stage === stage && o.target === t.name)!.decision!;
      expect(decision('training-policy').winner).toBe('one-cycle');
      expect(decision('transfer-method').winner).toBe('gradual-unfreeze');
      // The results are compared with the decision: a p-value against each other value.
      expect(Object.keys(decision('transfer-method').pValues!)).toEqual(['feature-extractor', 'fine-tune']);
      const arms = (stage: string) => s.plan.arms.filter((a) => a.stage === stage && a.target === t.name);
      expect(
        arms('source-data-resnet50').every(
          (a) =>
            a.arm.arch === 'resnet50' &&
            a.arm.strategy === (a.arm.source === 'none' ? 'discriminative' : 'gradual-unfreeze') &&
            a.arm.policy === 'one-cycle',
        ),
      ).toBe(true);
      // Fig. 8 runs on Emphysema only: random init (every layer trains from the start), the ImageNet weights' moments
      // (convolutions), the weights.
      const init = arms('initialisation').map(
        (a) => `${a.arm.source}:${a.arm.init}:${a.arm.strategy}:${String(a.arm.options.momentsScope ?? '')}`,
      );
      expect(init).toEqual(
        t.name === 'emphysema'
          ? [
              'none:default:discriminative:',
              'imagenet:moments:gradual-unfreeze:conv',
              'imagenet:pretrained:gradual-unfreeze:',
            ]
          : [],
      );
      // Fig. 4 from the default init, every layer trainable (the authors' training_methods); the no-transfer arm of
      // Fig. 6 trains every layer at discriminative rates.
      expect(arms('training-policy').map((a) => `${a.arm.source}:${a.arm.init}:${a.arm.strategy}`)).toEqual([
        'none:default:fine-tune',
        'none:default:fine-tune',
      ]);
      expect(arms('source-data').find((a) => a.name === 'none')!.arm.strategy).toBe('discriminative');
      expect(arms('source-data').some((a) => a.arm.source === 'chestxray13')).toBe(t.name === 'emphysema');
    }
    // max_lr is found once per (target, arm) at N = 2000; every other N of the arm reuses it.
    const policy = s.plan.arms.find(
      (a) => a.stage === 'training-policy' && a.target === 'hernia' && a.name === 'one-cycle',
    )!;
    const tuning = policy.jobs.find((j) => j.n === 2000)!;
    expect(tuning.lrFrom).toBeUndefined();
    expect(policy.jobs.filter((j) => j.n !== 2000).every((j) => j.lrFrom === tuning.key)).toBe(true);
    const tunedLr = (key: string) => (JSON.parse(db.run(key)!.result_json!) as { maxLr: number }).maxLr;
    expect(policy.jobs.every((j) => tunedLr(j.key) === tunedLr(tuning.key))).toBe(true);
    // The report: one figure per paper figure (a panel per target), the paper's numbers beside this run's, the tuned
    // max_lr.
    const files = await writeReport(db, join(dir, 'out'), { png: false });
    for (const f of ['3', '4', '5', '6', '7', '8'])
      expect(files.figures.some((p) => p.endsWith(`paper-figure-${f}.svg`))).toBe(true);
    const html = readFileSync(files.html, 'utf8');
    const table = /<table class="paper-vs-run">[^]*?<\/table>/.exec(html)![0];
    expect(table).toContain('p = 3.76e-8');
    expect(table).toMatch(
      /emphysema: DenseNet121 with ImageNet vs radiomics, paired t-test<\/td><td>p = 3.76e-8<\/td><td>p = \d/,
    );
    expect(table).toMatch(/emphysema: test AUC at N = 50 with ChestX-ray13<\/td><td>~0.80<\/td><td>0\.\d{3}/);
    expect(table).toMatch(/hernia: one-cycle equal or better than regular<\/td><td>one-cycle<\/td><td>agrees/);
    expect(html).toMatch(/<table class="max-lr">[^]*?<td>4<\/td><td>hernia<\/td><td>one-cycle<\/td><td>[\d.e-]+<\/td>/);
    // Arms that transfer from a source task depend on that task trained with the same architecture.
    const chexpert = s.plan.arms.filter((a) => a.arm.source === 'chexpert').flatMap((a) => a.jobs);
    expect(new Set(chexpert.map((j) => `${j.arm.arch}:${j.dependsOn}`)).size).toBe(2);
    db.close();
  });
});
