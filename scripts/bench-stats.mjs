// Timing of the statistics used by reports: AUC, bootstrap CIs, t-test. Run after `npx tsc -p tsconfig.json`.
import { bootstrapAucCi, bootstrapMacroAucCi, compareOverGrid, rocAuc, seededRandom } from '../dist/index.js';

const rand = seededRandom(1);
const time = (label, reps, fn) => {
  fn();
  const t0 = performance.now();
  for (let k = 0; k < reps; k++) fn();
  console.log(`${label.padEnd(44)} ${((performance.now() - t0) / reps).toFixed(3)} ms`);
};
const n = 2000;
const y = Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0));
const s = y.map((l) => rand() + 0.3 * l);
time('rocAuc, n=2000', 200, () => rocAuc(y, s));
time('bootstrapAucCi, n=2000, B=1000', 5, () => bootstrapAucCi(y, s));
const N = 22400;
const Y = Array.from({ length: N }, () => Array.from({ length: 14 }, () => (rand() < 0.1 ? 1 : 0)));
const S = Y.map((row) => row.map((l) => rand() + 0.3 * l));
time('bootstrapMacroAucCi, 22400 x 14, B=100', 1, () => bootstrapMacroAucCi(Y, S, undefined, { replicates: 100 }));
const grid = [50, 100, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800, 2000];
time('compareOverGrid (paired t-test), 12 N', 1000, () =>
  compareOverGrid({ n: grid, value: grid.map(() => rand()) }, { n: grid, value: grid.map(() => rand()) }),
);
