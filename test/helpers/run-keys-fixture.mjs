// Writes test/fixtures/run-keys-before.json: the run keys, spec hashes and phantom-source keys of the
// paper and demo presets and of a spec in the old spellings, as a build of torchxfer computes them.
// Generated ONCE from the code before the recipe schema (commit 0d07f7a): test/run-keys.test.ts checks
// that today's code gives the same keys. Run after `npx tsc -p tsconfig.json`:
//   node test/helpers/run-keys-fixture.mjs > test/fixtures/run-keys-before.json
import { createHash } from 'node:crypto';

import { canonicalJson, hashConfig, keyForm, withoutRoots } from '../../dist/experiments/keys.js';
import { planExperiment, planJobs } from '../../dist/experiments/plan.js';
import { pairedP } from '../../dist/experiments/paired.js';
import { phantomSourceKey } from '../../dist/experiments/phantom-sources.js';
import { presetSpec } from '../../dist/experiments/presets/index.js';
import { validateSpec } from '../../dist/experiments/spec.js';
import { LEGACY_SPEC } from './legacy-spec.mjs';

const env = { NIH_ROOT: '/n', CHEXPERT_ROOT: '/c', MURA_ROOT: '/m' };
// Every job done with an AUC drawn from its key, so every stage is planned.
const auc = (key) => 0.6 + (parseInt(key.slice(0, 6), 16) / 0xffffff) * 0.3;
const lookup = (key) => ({ testAuc: auc(key), testAucTta: auc(key) });

function entry(raw) {
  const spec = validateSpec(raw, env);
  const jobs = planJobs(planExperiment(spec, lookup, pairedP));
  return {
    stored: JSON.parse(canonicalJson(spec)),
    specHash: hashConfig(keyForm(withoutRoots(spec))),
    keys: jobs.map((j) => j.key),
    phantomSourceKeys: jobs.filter((j) => j.kind === 'source').map((j) => phantomSourceKey(j)),
  };
}

const out = {
  paper: entry(presetSpec('paper', { sameAnatomyWeights: 'densenet121-res224-chex' }, env)),
  demo: entry(presetSpec('demo', {}, env)),
  legacy: entry(LEGACY_SPEC),
};
out.digest = createHash('sha256')
  .update(JSON.stringify([out.paper.keys, out.demo.keys, out.legacy.keys]))
  .digest('hex');
process.stdout.write(`${JSON.stringify(out, null, 1)}\n`);
