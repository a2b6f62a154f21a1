// The paper's datasets and plan on the real published metadata (NIH ChestX-ray14 lists and label table,
// CheXpert train/valid CSVs, MURA v1.1 CSVs): every expected count is computed here from the files
// themselves, by code independent of the readers, and Table I of the paper is checked against them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadChexpert } from '../src/data/datasets/chexpert.js';
import { loadMura } from '../src/data/datasets/mura.js';
import { loadNih } from '../src/data/datasets/nih.js';
import { binaryExperiment, binarySplits, chestXray13, splitByPatient } from '../src/data/sampling.js';
import type { Dataset } from '../src/data/types.js';
import { PAPER_NGRID } from '../src/experiments/presets/paper.js';
import { CLI, removeTempDirs, tempDir } from './experiments-helpers.js';
import { realDataRoot, realDataSkipReason } from './helpers/realdata.js';
import { chexpertRoot, linkImages, muraRoot, nihRoot, realText } from './helpers/realdata-roots.js';
import { SplitSizer } from '../src/experiments/layout.js';
import { loadSpec } from '../src/experiments/spec.js';
import { expandPlan, jobTrainConfig } from '../src/experiments/layout.js';

const here = realDataRoot() !== undefined;
if (!here) console.warn(`realdata-metadata: ${realDataSkipReason}`);

/** NIH rows as the files say: image -> (labels, patient), and the two official lists. */
function nihFacts() {
  const rows = realText('nih', 'Data_Entry_2017.csv.gz').split(/\r?\n/).slice(1).filter(Boolean);
  const entry = new Map<string, { labels: Set<string>; patient: string }>();
  for (const r of rows) {
    const cells = r.split(',');
    entry.set(cells[0]!, { labels: new Set(cells[1]!.split('|')), patient: cells[3]! });
  }
  const list = (f: string) =>
    new Set(
      realText('nih', f)
        .split(/\r?\n/)
        .map((s) => s.trim())
        .filter(Boolean),
    );
  return { entry, trainVal: list('train_val_list.txt.gz'), test: list('test_list.txt.gz') };
}

describe.skipIf(!here)('real NIH ChestX-ray14 metadata', () => {
  let dir: string;
  let ds: Dataset;
  let facts: ReturnType<typeof nihFacts>;
  const positives = (label: string, list: Set<string>) =>
    [...list].filter((id) => facts.entry.get(id)!.labels.has(label)).length;

  beforeAll(() => {
    dir = tempDir('txreal-nih-');
    facts = nihFacts();
    ds = loadNih(nihRoot(dir), { keepMissing: true });
  });
  afterAll(removeTempDirs);

  it('Table I: Emphysema 1093 test / 1423 train+val positives, Hernia 86 / 141 (counted from the files and by the reader)', () => {
    expect(ds.samples.length).toBe(facts.entry.size);
    for (const [label, test, trainVal] of [
      ['Emphysema', 1093, 1423],
      ['Hernia', 86, 141],
    ] as const) {
      expect([positives(label, facts.test), positives(label, facts.trainVal)]).toEqual([test, trainVal]);
      const j = ds.labels.indexOf(label);
      const read = (set: Set<string>) => ds.samples.filter((s) => set.has(s.id) && s.targets[j] === 1).length;
      expect([read(facts.test), read(facts.trainVal)]).toEqual([test, trainVal]);
    }
  });

  it('every binary target: test = all test-list positives plus as many negatives; validation balanced; no patient crosses splits', () => {
    const split = splitByPatient(ds, { mode: 'official', seed: 0 });
    expect(split.test.length).toBe(facts.test.size);
    const testPatients = new Set([...facts.test].map((id) => facts.entry.get(id)!.patient));
    expect([...split.train, ...split.val].some((s) => testPatients.has(s.patientId))).toBe(false);
    for (const label of ['Pneumonia', 'Emphysema', 'Hernia']) {
      const exp = binaryExperiment(ds, label, split, 0);
      expect(exp.test.length).toBe(2 * positives(label, facts.test));
      expect(exp.test.filter((s) => s.targets[0] === 1).length).toBe(positives(label, facts.test));
      const valPositives = split.val.filter((s) => facts.entry.get(s.id)!.labels.has(label)).length;
      expect(exp.val.length).toBe(2 * valPositives);
    }
  });

  it('ChestX-ray13: ~75-80 thousand Emphysema-negative train_val images, disjoint from the Emphysema experiment at every N', () => {
    const split = splitByPatient(ds, { mode: 'official', seed: 0 });
    const exp = binaryExperiment(ds, 'Emphysema', split, 0);
    const src = chestXray13(ds, split, exp, PAPER_NGRID);
    const pool = [...src.officialSplits!.trainVal!];
    expect(pool.length).toBeGreaterThan(75_000);
    expect(pool.length).toBeLessThan(80_000);
    expect(pool.every((id) => facts.trainVal.has(id) && !facts.entry.get(id)!.labels.has('Emphysema'))).toBe(true);
    const ids = new Set(src.samples.map((s) => s.id));
    for (const n of PAPER_NGRID) {
      const used = binarySplits(exp, n);
      expect([...used.train, ...used.val, ...used.test].filter((s) => ids.has(s.id))).toEqual([]);
    }
    // Nothing else is removed: the pool is the train_val negatives minus the images the experiment uses.
    const usedIds = new Set(
      PAPER_NGRID.flatMap((n) => binarySplits(exp, n).train)
        .concat(exp.val)
        .map((s) => s.id),
    );
    const negatives = [...facts.trainVal].filter((id) => !facts.entry.get(id)!.labels.has('Emphysema'));
    expect(pool.length).toBe(negatives.filter((id) => !usedIds.has(id)).length);
    expect(src.labels).toHaveLength(13);
    expect(src.labels).not.toContain('Emphysema');
  });

  it('with every image present (each a symlink to one real image) a run reads the same splits the plan counts from the lists', async () => {
    const root = nihRoot(join(dir, 'with-images'));
    const t0 = performance.now();
    await linkImages(join(root, 'images'), [...facts.entry.keys()]);
    console.log(`linked ${facts.entry.size} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const spec = loadSpec('paper', { env: { NIH_ROOT: root, CHEXPERT_ROOT: root, MURA_ROOT: root } });
    const plan = expandPlan(spec);
    const jobs = [
      plan.sources.find((j) => j.data.name === 'chestxray13')!,
      ...plan.arms
        .filter((a) => a.stage === 'source-data' && a.target === 'emphysema' && a.name === 'chestxray13')[0]!
        .jobs.slice(0, 2),
    ];
    const fromLists = new SplitSizer({ metadataOnly: true });
    const fromImages = new SplitSizer();
    for (const job of jobs) {
      const config = await jobTrainConfig(job);
      expect(await fromImages.sizes(job, config)).toEqual(await fromLists.sizes(job, config));
    }
  });
});

describe.skipIf(!here)('real CheXpert and MURA metadata', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('txreal-src-');
  });
  afterAll(removeTempDirs);

  it('CheXpert: frontal views only, uncertain labels ones for Atelectasis and Edema, zeros for the others, blank = 0', () => {
    const root = chexpertRoot(dir);
    const ds = loadChexpert(root, { keepMissing: true });
    const [header, ...rows] = realText('chexpert', 'train.csv.gz').split(/\r?\n/).filter(Boolean);
    const cols = header!.split(',');
    // No quoted commas in this file: the columns split plainly.
    const frontal = rows.map((r) => r.split(',')).filter((c) => c[cols.indexOf('Frontal/Lateral')] === 'Frontal');
    const train = ds.samples.filter((s) => ds.officialSplits!.trainVal!.has(s.id));
    expect(train.length).toBe(frontal.length);
    for (const label of ds.labels) {
      const c = cols.indexOf(label);
      const count = (v: string) => frontal.filter((r) => r[c] === v).length;
      const expected = count('1.0') + (label === 'Atelectasis' || label === 'Edema' ? count('-1.0') : 0);
      expect([label, train.filter((s) => s.targets[ds.labels.indexOf(label)] === 1).length]).toEqual([label, expected]);
    }
    expect(ds.samples.filter((s) => ds.officialSplits!.test!.has(s.id)).length).toBe(
      realText('chexpert', 'valid_modified.csv')
        .split(/\r?\n/)
        .filter((l) => l.includes(',Frontal,')).length,
    );
  });

  it('MURA: every listed image with its study label, studies as listed', () => {
    const ds = loadMura(muraRoot(dir), { keepMissing: true });
    let images = 0;
    const studies = new Map<string, number>();
    for (const split of ['train', 'valid']) {
      images += realText('mura', `${split}_image_paths.csv.gz`).split(/\r?\n/).filter(Boolean).length;
      for (const line of realText('mura', `${split}_labeled_studies.csv.gz`).split(/\r?\n/).filter(Boolean)) {
        const [study, label] = line.split(',');
        studies.set(study!.replace(/\/$/, ''), Number(label));
      }
    }
    expect(ds.samples.length).toBe(images);
    expect(new Set(ds.samples.map((s) => s.id.slice(0, s.id.lastIndexOf('/')))).size).toBe(studies.size);
    expect(ds.samples.every((s) => s.targets[0] === studies.get(s.id.slice(0, s.id.lastIndexOf('/'))))).toBe(true);
  });
});

interface PlanOut {
  sources: {
    name: string;
    dataset: string;
    arch: string;
    labels: string[];
    sizes: { train: number; val: number; test: number };
  }[];
  jobs: {
    key: string;
    figure: string;
    target: string;
    arch: string | null;
    method: string;
    n: number;
    policy: string | null;
    strategy: string | null;
    source: string | null;
    init: string | null;
    lrRule: string | null;
    frozenGroupsAtStart: number | null;
    sizes: { train: number; val: number; test: number; trainUniquePositives: number };
  }[];
}

describe.skipIf(!here)('experiment paper --plan --json on the real lists', () => {
  let plan: PlanOut;
  let facts: ReturnType<typeof nihFacts>;
  let rootDirs: { NIH_ROOT: string; CHEXPERT_ROOT: string; MURA_ROOT: string };
  beforeAll(async () => {
    const dir = tempDir('txreal-plan-');
    rootDirs = { NIH_ROOT: nihRoot(dir), CHEXPERT_ROOT: chexpertRoot(dir), MURA_ROOT: muraRoot(dir) };
    const roots = [
      '--nih-root',
      rootDirs.NIH_ROOT,
      '--chexpert-root',
      rootDirs.CHEXPERT_ROOT,
      '--mura-root',
      rootDirs.MURA_ROOT,
    ];
    // Asynchronously: the worker keeps talking to vitest while the CLI plans.
    const r = await promisify(execFile)(process.execPath, [CLI, 'experiment', 'paper', '--plan', '--json', ...roots], {
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 256 << 20,
    });
    plan = JSON.parse(r.stdout) as PlanOut;
    facts = nihFacts();
  }, 600_000);
  afterAll(removeTempDirs);

  const figure = (f: string) => plan.jobs.filter((j) => j.figure === f);
  const arms = (f: string, target: string) =>
    new Set(
      figure(f)
        .filter((j) => j.target === target)
        .map((j) => `${j.method} ${j.arch} ${j.policy} ${j.strategy} ${j.source} ${j.init}`),
    );

  it("lists the paper's six figures, each arm over the whole N grid, with the paper's decisions between them", () => {
    expect([...new Set(plan.jobs.map((j) => j.figure))]).toEqual(['3', '4', '5', '6', '7', '8']);
    const grid = PAPER_NGRID.length;
    const counts = Object.fromEntries(['3', '4', '5', '6', '7', '8'].map((f) => [f, figure(f).length]));
    expect(counts).toEqual({
      3: 2 * 3 * grid,
      4: 4 * 2 * grid,
      5: 4 * 3 * grid,
      6: (4 * 4 + 1) * grid,
      7: 4 * 4 * grid,
      8: 1 * 3 * grid,
    });
    console.log(
      `plan on the real lists: jobs per figure ${JSON.stringify(counts)}, ${new Set(plan.jobs.map((j) => j.key)).size} distinct, ${plan.sources.length} source tasks`,
    );
    // Fig. 3: radiomics and DenseNet121 with regular training, without and with ImageNet, on Emphysema and Hernia.
    expect(new Set(figure('3').map((j) => j.target))).toEqual(new Set(['emphysema', 'hernia']));
    expect(arms('3', 'hernia')).toEqual(
      new Set([
        'radiomics null null null null null',
        'cnn densenet121 regular fine-tune none default',
        'cnn densenet121 regular fine-tune imagenet pretrained',
      ]),
    );
    // Fig. 5 carries one-cycle (after Fig. 4); Figs. 6-8 carry gradual unfreezing (after Fig. 5).
    expect(new Set(figure('5').map((j) => j.policy))).toEqual(new Set(['one-cycle']));
    for (const f of ['6', '7', '8'])
      expect(
        new Set(
          figure(f)
            .filter((j) => j.source !== 'none')
            .map((j) => `${j.policy} ${j.strategy}`),
        ),
      ).toEqual(new Set(['one-cycle gradual-unfreeze']));
    // Fig. 6: five sources for Emphysema only (ChestX-ray13), four for the others; Fig. 7: ResNet50, four.
    expect(
      new Set(
        figure('6')
          .filter((j) => j.target === 'emphysema')
          .map((j) => j.source),
      ),
    ).toEqual(new Set(['none', 'imagenet', 'mura', 'chexpert', 'chestxray13']));
    for (const t of ['chestxray14', 'pneumonia', 'hernia'])
      expect(
        new Set(
          figure('6')
            .filter((j) => j.target === t)
            .map((j) => j.source),
        ),
      ).toEqual(new Set(['none', 'imagenet', 'mura', 'chexpert']));
    expect(new Set(figure('7').map((j) => `${j.arch} ${j.source}`))).toEqual(
      new Set(['resnet50 none', 'resnet50 imagenet', 'resnet50 mura', 'resnet50 chexpert']),
    );
    // Fig. 8: default init, moments of the ImageNet weights, the ImageNet weights.
    expect(new Set(figure('8').map((j) => `${j.source} ${j.init}`))).toEqual(
      new Set(['none default', 'imagenet moments', 'imagenet pretrained']),
    );
  });

  it('the preset as the authors ran it: Fig. 4 from the default init, no-transfer arms unfrozen, max_lr at the loss minimum, Fig. 8 on Emphysema', () => {
    // Fig. 4: PyTorch's default init, every layer trainable from the first step (training_methods/*.py).
    expect(new Set(figure('4').map((j) => `${j.source} ${j.init} ${j.frozenGroupsAtStart}`))).toEqual(
      new Set(['none default 0']),
    );
    // The no-transfer arm of Figs. 6-8: nothing frozen (discriminative rates as the other arms); the transfer arms
    // unfreeze gradually.
    for (const f of ['6', '7', '8']) {
      expect(
        new Set(
          figure(f)
            .filter((j) => j.source === 'none')
            .map((j) => `${j.strategy} ${j.frozenGroupsAtStart}`),
        ),
      ).toEqual(new Set(['discriminative 0']));
      expect(
        new Set(
          figure(f)
            .filter((j) => j.source !== 'none')
            .map((j) => j.frozenGroupsAtStart),
        ),
      ).toEqual(new Set([2]));
    }
    expect(new Set(plan.jobs.filter((j) => j.method === 'cnn').map((j) => j.lrRule))).toEqual(new Set(['minimum']));
    expect(new Set(plan.jobs.filter((j) => j.method === 'radiomics').map((j) => j.lrRule))).toEqual(new Set([null]));
    expect(new Set(figure('8').map((j) => j.target))).toEqual(new Set(['emphysema']));
  });

  it('unique positives rise with N up to what the training pool has (Pneumonia: 791), never fall', () => {
    const split = splitByPatient(loadNih(rootDirs.NIH_ROOT, { keepMissing: true }), { mode: 'official', seed: 0 });
    for (const [target, label] of [
      ['pneumonia', 'Pneumonia'],
      ['hernia', 'Hernia'],
      ['emphysema', 'Emphysema'],
    ] as const) {
      // The training pool: train_val positives minus the validation patients', counted from the split here.
      const available = split.train.filter((s) => facts.entry.get(s.id)!.labels.has(label)).length;
      const jobs = figure('4')
        .filter((j) => j.target === target && j.policy === 'regular')
        .sort((a, b) => a.n - b.n);
      expect(jobs.map((j) => j.sizes.trainUniquePositives)).toEqual(jobs.map((j) => Math.min(j.n / 2, available)));
      if (target === 'pneumonia') expect(available).toBe(791);
    }
  });

  it("--estimate sizes every job as --plan does, from the lists and from the preset's table alike", async () => {
    const { estimateExperiment, rateKey } = await import('../src/experiments/estimate.js');
    const flat = { setupMs: 1, headMs: 1, upperMs: 1, allMs: 1, evalMsPerImage: 1 };
    // Rates given for both architectures at the preset's sizes: nothing is measured, only sized.
    const rates = Object.fromEntries(
      ['densenet121', 'resnet50'].map((arch) => [
        rateKey({ arch, imageSize: 250, crop: 236, batchSize: 16, evalBatch: 32 }),
        flat,
      ]),
    );
    const planned = new Map(plan.jobs.map((j) => [j.key, j.sizes]));
    const withRoots = await estimateExperiment(loadSpec('paper', { env: rootDirs }), { rates });
    const fromTable = await estimateExperiment(
      loadSpec('paper', { env: { NIH_ROOT: '/absent/nih', CHEXPERT_ROOT: '/absent/c', MURA_ROOT: '/absent/m' } }),
      { rates },
    );
    expect(fromTable.fromTable).toBe(fromTable.jobs.length);
    for (const e of [withRoots, fromTable]) {
      const targets = e.jobs.filter((j) => j.job.kind === 'target');
      expect(targets.length).toBe(planned.size);
      for (const j of targets)
        expect([j.job.key, j.sizes.train, j.sizes.val, j.sizes.test]).toEqual([
          j.job.key,
          planned.get(j.job.key)!.train,
          planned.get(j.job.key)!.val,
          planned.get(j.job.key)!.test,
        ]);
      const sources = e.jobs
        .filter((j) => j.job.kind === 'source')
        .map((j) => `${j.job.data.name} ${j.sizes.train} ${j.sizes.val} ${j.sizes.test}`)
        .sort();
      expect(sources).toEqual(
        plan.sources.map((s) => `${s.name} ${s.sizes.train} ${s.sizes.val} ${s.sizes.test}`).sort(),
      );
    }
  }, 600_000);

  it('sizes: every job trains on N; validation and test are the balanced sets counted from the lists', () => {
    expect(plan.jobs.every((j) => j.sizes.train === j.n)).toBe(true);
    for (const [target, label] of [
      ['emphysema', 'Emphysema'],
      ['hernia', 'Hernia'],
      ['pneumonia', 'Pneumonia'],
    ]) {
      const testPositives = [...facts.test].filter((id) => facts.entry.get(id)!.labels.has(label!)).length;
      expect(new Set(plan.jobs.filter((j) => j.target === target).map((j) => j.sizes.test))).toEqual(
        new Set([2 * testPositives]),
      );
    }
    expect(new Set(plan.jobs.filter((j) => j.target === 'chestxray14').map((j) => j.sizes.test))).toEqual(
      new Set([facts.test.size]),
    );
  });

  it('source tasks: MURA and CheXpert for both architectures, ChestX-ray13 (13 labels, ~75-80k images) for DenseNet121 only', () => {
    expect(plan.sources.map((s) => `${s.name} ${s.arch}`).sort()).toEqual([
      'chestxray13 densenet121',
      'chexpert densenet121',
      'chexpert resnet50',
      'mura densenet121',
      'mura resnet50',
    ]);
    const cx13 = plan.sources.find((s) => s.name.includes('13'))!;
    console.log(
      `ChestX-ray13 on the real lists: train ${cx13.sizes.train}, val ${cx13.sizes.val} (total ${cx13.sizes.train + cx13.sizes.val}), test ${cx13.sizes.test}`,
    );
    expect(cx13.labels).toHaveLength(13);
    expect(cx13.sizes.train + cx13.sizes.val).toBeGreaterThan(75_000);
    expect(cx13.sizes.train + cx13.sizes.val).toBeLessThan(80_000);
    expect(Math.abs(cx13.sizes.val / (cx13.sizes.train + cx13.sizes.val) - 0.1)).toBeLessThan(0.02);
    const chexpert = plan.sources.find((s) => s.name === 'chexpert')!;
    expect(chexpert.labels).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion']);
  });
});
