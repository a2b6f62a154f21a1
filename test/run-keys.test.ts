/**
 * Run keys do not change with the spelling: the paper and demo presets, and a spec in the old spellings
 * (onecycle, gradual, find, labelsCsv, valSize, testSize, negativeFor, tta booleans), give the job keys,
 * spec hashes and phantom-source keys that the code before the recipe schema gave (the fixture was
 * written by test/helpers/run-keys-fixture.mjs from that code), and a results database made before
 * resumes with every run found.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { ResultsDb, type RunRow } from '../src/experiments/db.js';
import { canonicalJson, hashConfig, keyForm, withoutRoots } from '../src/experiments/keys.js';
import { pairedP } from '../src/experiments/paired.js';
import { phantomSourceKey } from '../src/experiments/phantom-sources.js';
import { planExperiment, planJobs } from '../src/experiments/plan.js';
import { presetSpec } from '../src/experiments/presets/index.js';
import { runExperiment } from '../src/experiments/run.js';
import { validateSpec } from '../src/experiments/spec.js';
import type { ExperimentSpec } from '../src/experiments/types.js';
import { LEGACY_SPEC } from './helpers/legacy-spec.mjs';

interface Before {
  stored: ExperimentSpec;
  specHash: string;
  keys: string[];
  phantomSourceKeys: string[];
}
const before = JSON.parse(readFileSync(new URL('./fixtures/run-keys-before.json', import.meta.url), 'utf8')) as Record<
  'paper' | 'demo' | 'legacy',
  Before
>;

const env = { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c', MURA_ROOT: '/m' };
// As the fixture: every job done with an AUC drawn from its key, so every stage is planned.
const auc = (key: string) => 0.6 + (parseInt(key.slice(0, 6), 16) / 0xffffff) * 0.3;
const lookup = (key: string) => ({ testAuc: auc(key), testAucTta: auc(key) });

const specs: Record<keyof typeof before, () => unknown> = {
  paper: () => presetSpec('paper', { sameAnatomyWeights: 'densenet121-res224-chex' }, env),
  demo: () => presetSpec('demo', {}, env),
  legacy: () => LEGACY_SPEC,
};

function keysOf(spec: ExperimentSpec) {
  const jobs = planJobs(planExperiment(spec, lookup, pairedP));
  return {
    specHash: hashConfig(keyForm(withoutRoots(spec))),
    keys: jobs.map((j) => j.key),
    phantomSourceKeys: jobs.filter((j) => j.kind === 'source').map((j) => phantomSourceKey(j)),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'txf-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run keys across spellings', () => {
  for (const name of ['paper', 'demo', 'legacy'] as const) {
    it(`${name}: the same job keys, spec hash and phantom-source keys as before the recipe schema`, () => {
      const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const spec = validateSpec(specs[name](), env);
        const { stored: _stored, ...want } = before[name];
        expect(want.keys.length).toBeGreaterThan(20);
        expect(keysOf(spec)).toEqual(want);
      } finally {
        quiet.mockRestore();
      }
    });
  }

  it('presets are written in the train spellings: loading them prints no notice', () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      validateSpec(specs.paper(), env);
      validateSpec(specs.demo(), env);
      expect(errors).not.toHaveBeenCalled();
      validateSpec(LEGACY_SPEC, env);
      expect(errors).toHaveBeenCalledTimes(1);
      const notice = String(errors.mock.calls[0]![0]);
      for (const named of [
        "stages[0].values[1]: 'onecycle' (now 'one-cycle')",
        'targets[0].options.labelsCsv (now labels)',
        "base.maxLr: 'find' (now 'auto')",
        'base.tta: true (now 4)',
      ]) {
        expect(notice).toContain(named);
      }
    } finally {
      errors.mockRestore();
    }
  });

  for (const name of ['paper', 'legacy'] as const) {
    it(`${name}: a results database made before resumes with every run found (nothing retrained)`, async () => {
      const db = new ResultsDb(join(dir, `${name}.db`));
      const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const b = before[name];
        // The database as the code before wrote it: the spec in its spellings, every run done.
        db.putExperiment({
          name: b.stored.name,
          spec_json: canonicalJson(b.stored),
          spec_hash: b.specHash,
          created_at: '2024-01-01T00:00:00.000Z',
        });
        for (const key of b.keys) db.putRun(doneRow(key, b.stored.name), []);
        // Reading it respells the stored spec (one notice naming the old spellings) and its runs.
        const stored = db.experiments()[0]!;
        expect(stored.spec_hash).toBe(b.specHash);
        expect(stored.spec_json).not.toMatch(/onecycle|"gradual"|"find"|valSize|negativeFor/);
        expect(errors.mock.calls.some(([line]) => /stored in .* uses old spellings/.test(String(line)))).toBe(true);
        expect(keysOf(JSON.parse(stored.spec_json) as ExperimentSpec).keys).toEqual(b.keys);
        const runner = { run: () => Promise.reject(new Error('a run was retrained')) };
        const summary = await runExperiment(validateSpec(specs[name](), env), {
          db,
          runner,
          pairedP,
          checkpointDir: join(dir, `${name}.checkpoints`),
        });
        expect(summary).toMatchObject({ ran: 0, failed: [], skippedDone: b.keys.length });
      } finally {
        errors.mockRestore();
        db.close();
      }
    });
  }
});

/** A finished run row as the code before stored it (its arm in the old spellings). */
function doneRow(key: string, experiment: string): RunRow {
  return {
    key,
    experiment,
    kind: 'target',
    data_name: 'x',
    n: 50,
    seed: 0,
    arm_json: canonicalJson({
      policy: 'onecycle',
      strategy: 'gradual',
      maxLr: 'find',
      tta: true,
      options: { valSize: 40 },
    }),
    config_json: '{}',
    status: 'done',
    attempts: 1,
    sample_ids_hash: 'h',
    test_auc: auc(key),
    test_auc_tta: auc(key),
    per_label_json: null,
    val_loss: 0.5,
    checkpoint: null,
    timings_json: '{}',
    result_json: canonicalJson({ maxLr: 0.001 }),
    versions_json: '{}',
    host: 'h',
    pid: 1,
    started_at: null,
    finished_at: null,
    error: null,
  };
}
