// The CLI end to end with the fake runner (registered by a CLI entry, writeFakeCli): kill -9 mid-way and resume,
// a second writer refused, merge/export, and the report rendered in headless Chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ResultsDb } from '../src/experiments/db.js';
import {
  chromiumDom,
  chromiumFlags,
  comparableRecords,
  runCli,
  spawnCli,
  tempDir,
  removeTempDirs,
  writeFakeCli,
} from './experiments-helpers.js';

const SPEC = `
name: cli
mode: stagewise
nGrid: [50, 100, 200]
seeds: [0, 1]
targets:
  - { name: chest, dataset: phantom-chest, label: Emphysema }
sources:
  - { name: chest-source, dataset: phantom-chest, n: 300, train: { epochs: 2 } }
  - { name: msk-source, dataset: phantom-msk, n: 300, train: { epochs: 2 } }
base: { policy: regular, strategy: fine-tune, source: none, init: default, epochs: 4, maxLr: 0.001 }
stages:
  - { name: policy, vary: policy, values: [regular, one-cycle] }
  - { name: source, vary: source, values: [none, chest-source, msk-source], base: { init: pretrained } }
`;

let dir: string;
let fakeCli: string;
let specPath: string;
let wholeRun: ReturnType<typeof runCli>;

afterAll(removeTempDirs);
beforeAll(() => {
  dir = tempDir('txexp-cli-');
  fakeCli = writeFakeCli(dir);
  specPath = join(dir, 'spec.yaml');
  writeFileSync(specPath, SPEC);
  // The uninterrupted reference run the other tests compare with.
  wholeRun = runCli(['experiment', specPath, '--db', join(dir, 'whole.db')], {}, fakeCli);
});

/** Runs of the database in this status (0 while it does not exist or cannot be read yet). */
function runCount(db: string, status: string): number {
  if (!existsSync(db)) return 0;
  try {
    const d = new ResultsDb(db, { readonly: true });
    const n = d.runs().filter((r) => r.status === status).length;
    d.close();
    return n;
  } catch {
    return 0;
  }
}

const doneCount = (db: string) => runCount(db, 'done');

function exported(db: string): string {
  const r = runCli(['results', 'export', db, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

describe('torchxfer experiment (CLI)', () => {
  it('killed with SIGKILL mid-way and resumed, ends with the same records as an uninterrupted run', async () => {
    const whole = join(dir, 'whole.db');
    const r = wholeRun;
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stage policy \(chest\): one-cycle/);
    expect(r.stdout).toMatch(/stage source \(chest\): chest-source/);
    const total = doneCount(whole);
    expect(total).toBe((2 + 3 - 1) * 3 * 2 + 2);

    const killed = join(dir, 'killed.db');
    // Five runs finish, the sixth never does: the kill lands while it is marked running (not between runs).
    const child = spawnCli(['experiment', specPath, '--db', killed], { FAKE_HANG_AFTER: '5' }, fakeCli);
    const exit = new Promise<void>((res) => child.on('exit', () => res()));
    const t0 = Date.now();
    while (!(doneCount(killed) >= 5 && runCount(killed, 'running') === 1) && Date.now() - t0 < 60_000)
      await new Promise((res) => setTimeout(res, 50));
    child.kill('SIGKILL');
    await exit;
    const partial = new ResultsDb(killed, { readonly: true });
    const statuses = partial.runs().map((x) => x.status);
    const running = partial.runs().find((x) => x.status === 'running');
    partial.close();
    expect(statuses.filter((s) => s === 'done').length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s === 'done').length).toBeLessThan(total);
    // The killed process left its lock and a `running` run behind; the resume takes both over.
    const resumed = runCli(['experiment', specPath, '--db', killed], {}, fakeCli);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(running).toBeDefined();
    expect(resumed.stderr).toContain(`restart ${running!.key.slice(0, 10)}`);
    expect(comparableRecords(exported(killed))).toEqual(comparableRecords(exported(whole)));
  });

  it('refuses a second writer on the same database with a clear message', async () => {
    const db = join(dir, 'busy.db');
    const child = spawnCli(['experiment', specPath, '--db', db], { FAKE_DELAY_MS: '200' }, fakeCli);
    const exit = new Promise<void>((res) => child.on('exit', () => res()));
    const t0 = Date.now();
    while (doneCount(db) < 1 && Date.now() - t0 < 30_000) await new Promise((res) => setTimeout(res, 50));
    const second = runCli(['experiment', specPath, '--db', db], {}, fakeCli);
    child.kill('SIGKILL');
    await exit;
    expect(second.status).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(`busy\\.db is in use by another writer \\(pid ${child.pid} on .*results merge`),
    );
  });

  it('validates options and specs before running', () => {
    let r = runCli(['experiment', specPath, '--shard', '3/3'], {}, fakeCli);
    expect(r.stderr).toMatch(/Expected 'i\/n' with 0 <= i < n for --shard but received '3\/3'/);
    writeFileSync(join(dir, 'bad.yaml'), SPEC.replace('epochs: 4', 'epochs: -1'));
    r = runCli(['experiment', join(dir, 'bad.yaml')], {}, fakeCli);
    expect(r.stderr).toMatch(/bad\.yaml: Expected an integer between 1 and 100000 for base\.epochs but received -1/);
    r = runCli(['experiment', specPath, '--same-anatomy-weights', 'densenet121-res224-chex', '--dry-run'], {}, fakeCli);
    expect(r.stderr).toMatch(/Expected the paper preset .* for --same-anatomy-weights but received '.*'/);
    r = runCli(
      ['experiment', 'paper', '--plan', '--same-anatomy-weights', 'densenet121-res224-nih'],
      { NIH_ROOT: dir, CHEXPERT_ROOT: dir, MURA_ROOT: dir },
      fakeCli,
    );
    expect(r.stderr).toMatch(
      /for --same-anatomy-weights but received 'densenet121-res224-nih \(trained on NIH ChestX-ray14\)'/,
    );
    r = runCli(['experiment', specPath, '--db', join(dir, 'dry.db'), '--dry-run'], {}, fakeCli);
    expect(r.status, r.stderr).toBe(0);
    // Stage 1 (2 arms x 3 N x 2 seeds) and the 2 source tasks; stage 2 waits for stage 1's winner.
    expect(r.stdout).toMatch(/14 job\(s\); stage winners not decided yet .*: policy\/chest, source\/chest/);
    writeFileSync(join(dir, 'junk.db'), 'not a database, just text '.repeat(200));
    r = runCli(['results', 'export', join(dir, 'junk.db')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/junk\.db is not a torchxfer results database/);
    r = runCli(['results', 'export', join(dir, 'nope.db')]);
    expect(r.stderr).toMatch(/Expected an existing results database file for DB but received '.*nope\.db'/);
  });

  it('shards run by the CLI and merged equal the unsharded run; export CSV', async () => {
    // The CLI runs are synchronous: yield between them so the worker answers vitest's RPC (60 s timeout).
    const breathe = () => new Promise((r) => setImmediate(r));
    const whole = join(dir, 'whole.db');
    const parts: string[] = [];
    // Stage 2 needs all of stage 1: each shard pass is followed by a merge, as docs/cluster.md describes;
    // pass 1 runs the sources and stage 1, pass 2 stage 2.
    const merged = join(dir, 'merged.db');
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < 2; i++) {
        const p = join(dir, `pass${pass}-shard${i}.db`);
        // Each shard starts from everything finished so far (copying a WAL database with cp is unsafe).
        if (existsSync(merged)) expect(runCli(['results', 'merge', p, merged]).status).toBe(0);
        const r = runCli(
          ['experiment', specPath, '--db', p, '--shard', `${i}/2`, '--checkpoints', join(dir, 'ck')],
          {},
          fakeCli,
        );
        expect(r.status, r.stderr).toBe(0);
        parts.push(p);
        await breathe();
      }
      const m = runCli(['results', 'merge', merged, ...parts.slice(-2)]);
      expect(m.status, m.stderr).toBe(0);
    }
    expect(comparableRecords(exported(merged))).toEqual(comparableRecords(exported(whole)));
    const csv = runCli(['results', 'export', merged, '--out', join(dir, 'm.csv')]);
    expect(csv.status, csv.stderr).toBe(0);
    expect(readFileSync(join(dir, 'm.csv'), 'utf8').trim().split('\n').length).toBe(1 + doneCount(whole));
  });

  it("the report renders in headless Chromium with the runs' data", () => {
    const out = join(dir, 'report');
    const r = runCli(['report', join(dir, 'whole.db'), '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const html = join(out, 'report.html');
    // Self-contained: no external scripts, styles, images or fonts (the phantoms' example grids are inline data).
    expect(readFileSync(html, 'utf8')).not.toMatch(
      /<(script|link)\b|url\((?!#)|(src|href)=(?!"data:image\/png;base64,)/i,
    );
    const flags = chromiumFlags();
    const dom = chromiumDom(html, flags);
    execFileSync(
      '/usr/bin/chromium',
      [...flags, `--screenshot=${join(out, 'shot.png')}`, '--window-size=1200,2000', `file://${html}`],
      { timeout: 60_000, stdio: 'ignore' },
    );
    expect(statSync(join(out, 'shot.png')).size).toBeGreaterThan(10_000);
    const doc = new ResultsDb(join(dir, 'whole.db'), { readonly: true });
    const runs = doc.runs().filter((x) => x.kind === 'target');
    doc.close();
    // One AUC figure per stage x target; each arm's series has one point per N of the grid.
    const figures = dom.match(/<figure class="auc-figure"[\s\S]*?<\/figure>/g) ?? [];
    expect(figures.length).toBe(2);
    const policy = figures.find((f) => f.includes('id="auc-policy-chest"'))!;
    for (const arm of ['regular', 'one-cycle']) {
      const d = new RegExp(`<path class="series" data-name="${arm}" d="([^"]*)"`).exec(policy)![1]!;
      expect(d.match(/[ML]/g)!.length).toBe(3);
    }
    expect((figures[1]!.match(/class="series"/g) ?? []).length).toBe(3);
    expect((figures[1]!.match(/class="band"/g) ?? []).length).toBe(3);
    // Table cells hold the mean over seeds of the stored AUCs.
    const at = (n: number, pol: string) =>
      runs.filter(
        (x) => x.n === n && JSON.parse(x.arm_json).policy === pol && JSON.parse(x.arm_json).source === 'none',
      );
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const n of [50, 100, 200]) {
      expect(dom).toContain(mean(at(n, 'one-cycle').map((x) => x.test_auc_tta!)).toFixed(4));
      expect(dom).toContain(mean(at(n, 'regular').map((x) => x.test_auc!)).toFixed(4));
    }
    expect(dom).toMatch(/<td>policy<\/td><td>chest<\/td><td class="winner">one-cycle<\/td>/);
    expect(dom).toMatch(/Paired two-sided t-tests/);
    // The spec runs on phantoms: the report says SIMULATED (title, heading, notice).
    expect(dom).toMatch(/<title>SIMULATED: torchxfer report<\/title>/);
    expect(dom).toMatch(/<p class="simulated"><strong>SIMULATED\.<\/strong> SIMULATED PHANTOM DATA/);
    // Two seeds: each pair of arms is also tested over its (N, seed) runs (6 pairs).
    expect(dom).toMatch(
      /<tr data-over="n-seed"><td>regular<\/td><td>one-cycle<\/td><td>N x seed<\/td><td>[-0-9.]+<\/td><td>6<\/td>/,
    );
    // The p-value of regular vs one-cycle over the N grid matches scipy's ttest_rel on the same means.
    const series = (pol: string) => [50, 100, 200].map((n) => mean(at(n, pol).map((x) => x.test_auc_tta!)));
    const py = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        'import sys, json; from scipy.stats import ttest_rel; a, b = json.loads(sys.argv[1]); print(repr(ttest_rel(a, b).pvalue))',
        JSON.stringify([series('regular'), series('one-cycle')]),
      ],
      { encoding: 'utf8' },
    );
    const p = Number(py.trim());
    expect(dom).toContain(`<td>regular</td><td>one-cycle</td>`);
    expect(dom).toContain(`<td class="p">${p < 1e-4 ? p.toExponential(2) : p.toFixed(4)}</td>`);
    // Training curves: one per run of each stage (the run shared by both stages is shown in both).
    expect(runs.length).toBe(4 * 3 * 2);
    expect((dom.match(/class="run-figure"/g) ?? []).length).toBe((2 + 3) * 3 * 2);
    expect((dom.match(/class="run-figure source-figure"/g) ?? []).length).toBe(2);
    // The stored schedule of every run (and sources), the LR-finder curve of the runs that had one (N=50).
    expect((dom.match(/>Learning rate applied</g) ?? []).length).toBe((2 + 3) * 3 * 2 + 2);
    expect((dom.match(/>Learning-rate finder</g) ?? []).length).toBe((2 + 3) * 2);
    expect(dom).toMatch(/<table class="sources">.*chest-source.*msk-source/s);
    expect(existsSync(join(out, 'figures', 'cli-auc-policy-chest.png'))).toBe(true);
    // Provenance: every run listed once with its key.
    expect((dom.match(/<tr data-key="/g) ?? []).length).toBe(runs.length + 2);
    expect(dom).toContain(`data-key="${runs[0]!.key}"`);
  });
});
