// The report as a supplement a reviewer accepts: a small stage-wise experiment (fake runner, through
// the CLI) with a radiomics arm, an arm that fails and runs of an earlier version of the spec; the
// report is rendered in headless Chromium and its text checked: Methods generated from what ran,
// Departures, the source models' own AUC, captions, failed and superseded runs listed apart and
// counted in nothing. The export says radiomics where radiomics ran.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ResultsDb } from '../src/experiments/db.js';
import { chromiumDom, removeTempDirs, runCli, tempDir, writeFakeCli } from './experiments-helpers.js';

const spec = (nGrid: number[]) => ({
  name: 'ev',
  mode: 'stagewise',
  nGrid,
  seeds: [0, 1],
  targets: [{ name: 'chest', dataset: 'phantom-chest', label: 'Emphysema', options: { valLimit: 40, testLimit: 100 } }],
  // CheXpert-style: the source's labels include the target's finding (the report must say so).
  sources: [
    { name: 'chest-source', dataset: 'phantom-chest', labels: ['Emphysema', 'Effusion'], n: 300, train: { epochs: 1 } },
  ],
  base: {
    policy: 'one-cycle',
    strategy: 'gradual-unfreeze',
    source: 'chest-source',
    init: 'pretrained',
    epochs: 2,
    maxLr: 'auto',
    options: { imageSize: 64 },
  },
  stages: [
    {
      name: 'radiomics-vs-cnn',
      figure: '3',
      buildsOn: 'base',
      arms: [
        { name: 'radiomics', method: 'radiomics' },
        { name: 'cnn-none', source: 'none' },
        { name: 'cnn-chest', source: 'chest-source' },
      ],
    },
    {
      name: 'transfer-method',
      figure: '5',
      buildsOn: 'base',
      vary: 'strategy',
      values: ['feature-extractor', 'fine-tune', 'gradual-unfreeze'],
    },
    // Fig. 4 from the source, not from default init as the paper: a declared departure.
    { name: 'training-policy', figure: '4', buildsOn: 'base', vary: 'policy', values: ['regular', 'one-cycle'] },
  ],
});

/** The visible text of an HTML document (tags dropped, entities of the report decoded). */
function textOf(html: string): string {
  return html
    .replace(/<(head|style|svg)[^]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

let dir: string;
let fakeCli: string;
let dom: string;
let text: string;

beforeAll(() => {
  dir = tempDir('txreport-ev-');
  fakeCli = writeFakeCli(dir);
  const db = join(dir, 'ev.db');
  const specPath = join(dir, 'ev.json');
  // First version: N = 50 and 100; the second drops 100, whose runs stay in the database, superseded.
  writeFileSync(specPath, JSON.stringify(spec([50, 100])));
  const env = { FAKE_FAIL_ARM: 'strategy=feature-extractor' };
  const first = runCli(['experiment', specPath, '--db', db, '--checkpoints', join(dir, 'ck')], env, fakeCli);
  expect(first.status).toBe(1);
  expect(first.stderr).toMatch(/run\(s\) failed \(first: fake failure of arm strategy=feature-extractor\)/);
  writeFileSync(specPath, JSON.stringify(spec([50])));
  const second = runCli(
    ['experiment', specPath, '--db', db, '--checkpoints', join(dir, 'ck'), '--allow-spec-change'],
    env,
    fakeCli,
  );
  expect(second.status).toBe(1);
  const out = join(dir, 'report');
  const r = runCli(['report', db, '--out', out, '--no-png']);
  expect(r.status, r.stderr).toBe(0);
  dom = chromiumDom(join(out, 'report.html'));
  text = textOf(dom);
}, 240_000);
afterAll(removeTempDirs);

describe('the evidence report, rendered in Chromium', () => {
  it('opens with the SIMULATED banner and a Methods section generated from what ran', () => {
    expect(text).toMatch(/^ ?SIMULATED DATA ?: every result on this page comes from torchxfer's phantom images/);
    const methods = /<section class="methods">([^]*?)<\/section>/.exec(dom)![1]!;
    const m = textOf(methods);
    // The fake runs recorded validation 40 (20 positive) at seed 0, 38 (19) at seed 1, and test 100 (50
    // positive): the text carries those numbers, and says the sets follow the seed.
    expect(m).toContain("chest: torchxfer's SIMULATED chest phantoms, binary task Emphysema");
    expect(m).toContain('validation 38 to 40 images (19 to 20 positive), test 100 (50 positive)');
    expect(m).toContain('Validation and test sets are drawn once per target and seed');
    // Arms of several figures share runs (Fig. 4's one-cycle, Fig. 5's gradual-unfreeze and Fig. 3's
    // cnn-chest are the base arm): each run counts once. Five configs ran (radiomics, cnn-none, the base,
    // fine-tune, regular; feature-extractor failed) at two seeds: 10 runs, not the 14 of the arms' lists.
    expect(m).toContain('All 10 recorded runs trained on N distinct images');
    expect(m).toContain('Training subsets of N = 50 were drawn once per (N, seed), 2 seeds (0 and 1)');
    expect(m).toContain('resized to 64x64 pixels');
    expect(m).toContain('random 60x60 crops');
    expect(m).toMatch(
      /Fig\. 5 \(transfer-method\): feature-extractor \(densenet121, source chest-source weights, feature-extractor, one-cycle\)/,
    );
    expect(m).toMatch(/cnn-none \(densenet121, default \(random\) init, discriminative, one-cycle\)/);
    expect(m).toContain('Radiomics: 79 features per image');
    expect(m).toMatch(/max_lr was chosen by the learning-rate finder .* at the loss minimum \(the paper's rule\)/);
    expect(m).toMatch(
      /chest-source \(torchxfer's SIMULATED chest phantoms, 2 labels \(Emphysema and Effusion\), densenet121, 300 training images, 1 epoch\): held-out test AUC 0\.\d{3} \(100 test images\)/,
    );
    expect(m).toContain(
      'The source chest-source was trained on Emphysema, the finding target chest is tested on: it can pass on that finding, not only the anatomy',
    );
    expect(m).toContain('paired two-sided t-tests over the N grid');
  });

  it('has a Departures section: the spec against the paper, what happened, torchxfer against the authors', () => {
    const d = textOf(/<section class="departures">([^]*?)<\/section>/.exec(dom)![1]!);
    expect(d).toContain('The data are SIMULATED phantoms');
    expect(d).toContain("Images are 64 px instead of the paper's 250");
    expect(d).toContain("Arms train 2 epochs instead of the paper's 20");
    expect(d).toContain('The validation sets are capped at 40 images');
    expect(d).toContain('Training-set sizes N = 50 (the paper: 50 to 2000)');
    // The failing arm's two seeds, and the N = 100 runs of the first version of the spec.
    expect(d).toMatch(/2 runs failed and are listed apart; they count in no mean and no test/);
    expect(d).toMatch(/\d+ runs in the database belong to an earlier version of this spec/);
    expect(d).toContain('One-cycle ends at max_lr/25000 as the paper states');
    expect(d).toContain(
      "Fig. 4 compares the training policies fine-tuning from chest-source; the paper's Fig. 4 trains from default initialisation without transfer.",
    );
  });

  it('lists failed and superseded runs apart, and counts them in no mean', () => {
    const db = new ResultsDb(join(dir, 'ev.db'), { readonly: true });
    const runs = db.runs();
    db.close();
    // The failing arm failed at N = 100 too, in the first version: those runs are superseded, not failed runs of this
    // spec.
    const failed = runs.filter((r) => r.status === 'failed' && r.n === 50);
    const old = runs.filter((r) => r.n === 100);
    expect(failed).toHaveLength(2);
    expect(old.length).toBeGreaterThan(0);
    const failedTable = /<table class="failed-runs">([^]*?)<\/table>/.exec(dom)![1]!;
    for (const r of failed) expect(failedTable).toContain(`data-key="${r.key}"`);
    const supersededTable = /<table class="superseded-runs">([^]*?)<\/table>/.exec(dom)![1]!;
    for (const r of old) expect(supersededTable).toContain(`data-key="${r.key}"`);
    // The provenance table of the current spec and its AUC tables hold none of the superseded runs.
    const allRuns = /<table class="runs">([^]*?)<\/table>/.exec(dom)![1]!;
    for (const r of old) expect(allRuns).not.toContain(`data-key="${r.key}"`);
    const auc =
      /<table class="auc" data-group="transfer-method" data-target="chest" data-metric="aucTta">([^]*?)<\/table>/.exec(
        dom,
      )![1]!;
    expect(auc).toMatch(/<tr data-arm="feature-extractor"><th>feature-extractor<\/th><td>–<\/td>/);
    expect(text).toMatch(/runs of the current spec \d+ done, 2 failed/);
  });

  it('judges the source model by its own held-out AUC, and captions each figure', () => {
    const sources = /<section class="sources">([^]*?)<\/section>/.exec(dom)![1]!;
    expect(textOf(sources)).toMatch(
      /Source models .*held-out test AUC .* chest-source densenet121 300 done [\d.]+ 0\.\d{3} 100 \(50 positive\)/,
    );
    const caption = textOf(
      /<figure class="paper-figure" id="figure-5">[^]*?<figcaption>([^]*?)<\/figcaption>/.exec(dom)![1]!,
    );
    expect(caption).toContain(
      'SIMULATED phantoms. Fig. 5: transfer-method Fig. 5 (transfer-method). SIMULATED phantoms. Test AUC with test-time augmentation of feature-extractor, fine-tune and gradual-unfreeze on chest',
    );
    expect(caption).toContain(
      'on chest (a panel per target). Every arm starts from the source model chest-source. All at N = 50: a dot per seed (2 seeds), a bar at their mean.',
    );
    const fig3 = textOf(
      /<figure class="paper-figure" id="figure-3">[^]*?<figcaption>([^]*?)<\/figcaption>/.exec(dom)![1]!,
    );
    expect(fig3).not.toContain('Every arm starts from');
    expect(caption).toContain('Test sets: chest: 100 test images (50 positive).');
    expect(dom).toMatch(
      /<table class="max-lr">.*<td>3<\/td><td>chest<\/td><td>cnn-chest<\/td><td>[\d.e-]+<\/td><td>LR finder \(minimum\) at N = 50, reused for every N<\/td>/s,
    );
  });

  it("exports radiomics rows as radiomics, with the spec's arm names and the recorded counts", () => {
    const r = runCli(['results', 'export', join(dir, 'ev.db'), '--json', '--out', join(dir, 'ev.json.out')]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'ev.json.out'))).toBe(true);
    const runs = (JSON.parse(readFileSync(join(dir, 'ev.json.out'), 'utf8')) as { runs: Record<string, unknown>[] })
      .runs;
    const radiomics = runs.filter((x) => x.method === 'radiomics');
    expect(radiomics.length).toBe(4); // 2 seeds x N = 50 and the superseded N = 100
    for (const x of radiomics) {
      // A superseded run has no name in the current spec: it keeps its method's.
      expect(x.arm).toBe(x.n === 50 ? 'Fig. 3 (radiomics-vs-cnn): radiomics' : 'radiomics');
      expect([x.arch, x.policy, x.strategy, x.epochs, x.max_lr]).toEqual([null, null, null, null, null]);
    }
    // A run shared by two figures carries both names; every done target run carries its counts.
    expect(
      runs.some((x) =>
        String(x.arm).includes('Fig. 3 (radiomics-vs-cnn): cnn-chest; Fig. 5 (transfer-method): gradual'),
      ),
    ).toBe(true);
    for (const x of runs.filter((y) => y.status === 'done' && y.kind === 'target')) {
      expect([x.n_requested, x.n_trained, x.simulated, x.test_images]).toEqual([x.n, x.n, true, 100]);
    }
  });
});
