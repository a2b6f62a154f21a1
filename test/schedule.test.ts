// Schedules against independent references: paper eq. 1 written afresh in Python, and PyTorch's
// OneCycleLR; strategies, gradual unfreezing, the regular policy and the `schedule` command.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { oneCycle, RegularPolicy, tabulate, trainingPlan } from '../src/schedule/index.js';
import { close, python } from './stats-reference.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('one-cycle, paper convention (eq. 1)', () => {
  it('equals eq. 1 computed independently, including 1 and 2 iterations, both final divisors', () => {
    const cases: { n: number; maxLr: number; finalDiv: number }[] = [];
    for (const n of [1, 2, 3, 4, 7, 10, 33, 100, 500])
      for (const [maxLr, finalDiv] of [
        [1e-3, 25000],
        [0.05, 250000],
      ])
        cases.push({ n, maxLr, finalDiv });
    const ref = python<{ lr: number[]; mom: number[] }[]>(
      `import math
def f(i, a, b, T):
    return b + (a - b) / 2 * (1 + math.cos(i * math.pi / T))
out = []
for c in inp:
    N, m, fd = c["n"], c["maxLr"], c["finalDiv"]
    cut = math.ceil(0.3 * N)
    out.append({"lr": [f(i, m / 25, m, cut) if i < cut else f(i - cut, m, m / fd, N - cut) for i in range(N)],
                "mom": [f(i, 0.95, 0.85, cut) if i < cut else f(i - cut, 0.85, 0.95, N - cut) for i in range(N)]})`,
      cases,
    );
    cases.forEach((c, k) => {
      const oc = oneCycle({ maxLr: c.maxLr, steps: c.n, finalDiv: c.finalDiv });
      const lr = range(c.n).map(oc.lr);
      const mom = range(c.n).map(oc.momentum);
      lr.forEach((v, i) =>
        expect(close(v, ref[k].lr[i], 1e-13), `n=${c.n} lr[${i}] ${v} vs ${ref[k].lr[i]}`).toBe(true),
      );
      mom.forEach((v, i) => expect(close(v, ref[k].mom[i], 1e-13), `n=${c.n} mom[${i}]`).toBe(true));
      expect([...lr, ...mom].every(Number.isFinite)).toBe(true);
    });
    // Shape: starts at max/25, peaks at max exactly at step cut, momentum at its minimum there.
    const oc = oneCycle({ maxLr: 1, steps: 100 });
    expect(oc.lr(0)).toBeCloseTo(1 / 25, 15);
    expect(oc.lr(30)).toBe(1);
    expect(oc.momentum(30)).toBeCloseTo(0.85, 15);
    expect(oc.lr(100)).toBeCloseTo(1 / 25000, 15);
    // Past the end (a miscounted loop) the values hold instead of cycling back up.
    expect(oc.lr(180)).toBe(oc.lr(100));
    expect(oc.momentum(180)).toBe(oc.momentum(100));
  });

  it('validates its options by name', () => {
    expect(() => oneCycle({ maxLr: 0, steps: 10 })).toThrow(/Expected a finite number > 0 for maxLr but received 0/);
    expect(() => oneCycle({ maxLr: 1, steps: 0 })).toThrow(/Expected an integer >= 1 for steps but received 0/);
    expect(() => oneCycle({ maxLr: 1, steps: 5, convention: 'fastai' as never })).toThrow(
      /Expected one of 'paper', 'pytorch' for convention/,
    );
  });
});

describe('one-cycle, PyTorch convention', () => {
  it('equals torch.optim.lr_scheduler.OneCycleLR (cos) for lr and momentum, small step counts included', () => {
    const cases = [
      { n: 1, pct: 0.3, div: 25, finalDiv: 250000 },
      { n: 2, pct: 0.3, div: 25, finalDiv: 250000 },
      { n: 3, pct: 0.3, div: 25, finalDiv: 250000 },
      { n: 17, pct: 0.25, div: 10, finalDiv: 1000 },
      { n: 100, pct: 0.3, div: 25, finalDiv: 250000 },
      { n: 257, pct: 0.4, div: 25, finalDiv: 25000 },
    ];
    const ref = python<{ lr: number[]; mom: number[] }[]>(
      `import torch
out = []
for c in inp:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    s = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=c["n"], pct_start=c["pct"], anneal_strategy="cos",
        div_factor=c["div"], final_div_factor=c["finalDiv"] / c["div"], base_momentum=0.85, max_momentum=0.95)
    lr, mom = [], []
    for i in range(c["n"]):
        lr.append(opt.param_groups[0]["lr"]); mom.append(opt.param_groups[0]["momentum"])
        opt.step()
        if i < c["n"] - 1: s.step()
    out.append({"lr": lr, "mom": mom})`,
      cases,
    );
    cases.forEach((c, k) => {
      const oc = oneCycle({
        maxLr: 0.02,
        steps: c.n,
        pctStart: c.pct,
        divFactor: c.div,
        finalDiv: c.finalDiv,
        convention: 'pytorch',
      });
      range(c.n).forEach((i) => {
        expect(close(oc.lr(i), ref[k].lr[i], 1e-12), `n=${c.n} lr[${i}] ${oc.lr(i)} vs ${ref[k].lr[i]}`).toBe(true);
        expect(close(oc.momentum(i), ref[k].mom[i], 1e-12), `n=${c.n} mom[${i}]`).toBe(true);
      });
    });
    // Where PyTorch would divide by zero (peak exactly at step 0) we give the peak, not NaN.
    const edge = oneCycle({ maxLr: 1, steps: 10, pctStart: 0.1, convention: 'pytorch' });
    expect(range(10).map(edge.lr).every(Number.isFinite)).toBe(true);
    expect(edge.lr(0)).toBe(1);
  });
});

describe('strategies', () => {
  const oc = oneCycle({ maxLr: 1e-3, steps: 500 });
  const plan = (strategy: 'feature-extractor' | 'fine-tune' | 'gradual-unfreeze', steps = 500, extra = {}) =>
    tabulate(
      trainingPlan({
        strategy,
        lr: oneCycle({ maxLr: 1e-3, steps }).lr,
        momentum: oneCycle({ maxLr: 1e-3, steps }).momentum,
        steps,
        ...extra,
      }),
    );

  it('gradual unfreezing: discriminative LRs /9, /3, 1 and unfreezing exactly at 10% (group 2) and 20% (group 1)', () => {
    const t = plan('gradual-unfreeze');
    range(500).forEach((i) => {
      expect(t.groups[2].lr[i]).toBe(oc.lr(i));
      expect(t.groups[1].lr[i]).toBeCloseTo(oc.lr(i) / 3, 18);
      expect(t.groups[0].lr[i]).toBeCloseTo(oc.lr(i) / 9, 18);
      expect(t.groups.every((g) => g.momentum[i] === oc.momentum(i))).toBe(true);
    });
    // The only changes of `trainable` are group 2 at step 50 and group 1 at step 100.
    const changes = t.groups.flatMap((g, k) =>
      g.trainable.flatMap((v, i) => (i > 0 && v !== g.trainable[i - 1] ? [[k + 1, i, v]] : [])),
    );
    expect(changes).toEqual([
      [1, 100, true],
      [2, 50, true],
    ]);
    expect([t.groups[0].trainable[0], t.groups[1].trainable[0], t.groups[2].trainable[0]]).toEqual([
      false,
      false,
      true,
    ]);
    expect(t.unfreeze).toEqual([
      { group: 1, step: 100 },
      { group: 2, step: 50 },
    ]);
    // Options: other divisors and fractions; "after" a fractional count of steps rounds up.
    const custom = plan('gradual-unfreeze', 95, { divisors: [4, 2, 1], unfreezeAt: [0.5, 0.25] });
    expect(custom.unfreeze).toEqual([
      { group: 1, step: 48 },
      { group: 2, step: 24 },
    ]);
    expect(custom.groups[0].lr[7] * 4).toBeCloseTo(custom.groups[2].lr[7], 18);
    expect(plan('gradual-unfreeze', 95).unfreeze).toEqual([
      { group: 1, step: 19 },
      { group: 2, step: 10 },
    ]);
  });

  it('feature extractor trains only the head; fine-tune trains all with one LR; tiny runs are well defined', () => {
    const fe = plan('feature-extractor');
    expect(fe.groups.map((g) => g.trainable.every(Boolean))).toEqual([false, false, true]);
    expect(fe.groups[0].trainable.some(Boolean)).toBe(false);
    const ft = plan('fine-tune');
    expect(ft.groups.every((g) => g.trainable.every(Boolean))).toBe(true);
    expect(ft.groups[0].lr).toEqual(ft.groups[2].lr);
    expect(fe.unfreeze).toEqual([]);
    expect(ft.unfreeze).toEqual([]);
    for (const n of [1, 2]) {
      const t = plan('gradual-unfreeze', n);
      expect(t.groups.flatMap((g) => [...g.lr, ...g.momentum]).every(Number.isFinite)).toBe(true);
      expect(t.groups[2].trainable).toEqual(Array(n).fill(true));
    }
    expect(plan('gradual-unfreeze', 2).groups[0].trainable).toEqual([false, true]);
    expect(() => trainingPlan({ strategy: 'freeze-all' as never, lr: oc.lr, momentum: oc.momentum, steps: 5 })).toThrow(
      /for strategy but received 'freeze-all'/,
    );
  });
});

describe('RegularPolicy', () => {
  it('divides by 10 on each epoch that fails to improve on the previous one, and stops below 1e-6', () => {
    const p = new RegularPolicy({ maxLr: 1e-3, maxEpochs: 50 });
    const decisions = [1.0, 0.8, 0.85, 0.7, 0.7, 0.6, 0.65, 0.66].map((l) => p.report(l));
    expect(decisions.map((d) => d.reduced)).toEqual([false, false, true, false, true, false, true, true]);
    // 1e-3 divided 4 times = 1e-7 < 1e-6: stop after the last of those epochs, not before.
    expect(decisions.slice(0, 7).every((d) => d.stop === null)).toBe(true);
    expect(decisions[6].lr).toBeCloseTo(1e-6, 18);
    expect(decisions[7]).toMatchObject({ epoch: 7, stop: 'min-lr' });
    expect(decisions[7].lr).toBeCloseTo(1e-7, 20);
    expect(p.stopped).toBe('min-lr');
    expect(() => p.report(0.5)).toThrow(/already stopped \(min-lr\) after epoch 8/);
  });

  it('honours the tolerance, the epoch limit and treats a NaN loss as no improvement', () => {
    const p = new RegularPolicy({ maxLr: 0.1, tolerance: 0.05, maxEpochs: 4 });
    expect(p.report(1).reduced).toBe(false);
    expect(p.report(0.96)).toMatchObject({ reduced: true, stop: null }); // improved by 0.04 <= 0.05
    expect(p.report(0.9)).toMatchObject({ reduced: false });
    expect(p.lr).toBeCloseTo(0.01, 15);
    expect(p.report(NaN)).toMatchObject({ reduced: true, stop: 'max-epochs', epoch: 3 });
    const q = new RegularPolicy({ maxLr: 0.1 });
    q.report(1);
    q.report(NaN);
    expect(q.report(0.99).reduced).toBe(false); // compared with 1, the last finite loss
    expect(() => new RegularPolicy({ maxLr: 0.1, factor: 1 })).toThrow(
      /Expected a finite number > 1 for factor but received 1/,
    );
  });
});

describe('torchxfer schedule', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['bin/torchxfer.js', 'schedule', ...args], { encoding: 'utf8' });

  it('--json prints every step per group, group 1 first, equal to the library', () => {
    const r = cli(['--iters', '40', '--max-lr', '0.01', '--strategy', 'gradual-unfreeze', '--json']);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps).toBe(40);
    expect(out.groups).toHaveLength(3);
    const oc = oneCycle({ maxLr: 0.01, steps: 40 });
    expect(out.groups[0].lr).toEqual(range(40).map((i) => oc.lr(i) / 9));
    expect(out.groups[2].momentum).toEqual(range(40).map(oc.momentum));
    expect(out.groups[1].trainable.indexOf(true)).toBe(4);
    const reg = JSON.parse(
      cli(['--policy', 'regular', '--iters', '5', '--max-lr', '0.1', '--strategy', 'fine-tune', '--json']).stdout,
    );
    expect(reg.groups[0].lr).toEqual([0.1, 0.1, 0.1, 0.1, 0.1]);
    // Replayed over validation losses: /10 after epochs 2 and 3 (no improvement), 2 steps per epoch.
    const replay = JSON.parse(
      cli(['--policy', 'regular', '--iters', '8', '--max-lr', '0.1', '--val-losses', '1,0.9,0.95,0.95', '--json'])
        .stdout,
    );
    expect(replay.groups[2].lr.map((v: number) => Number(v.toPrecision(12)))).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01,
    ]);
    // Stopped once the LR falls below 1e-6: epochs after that are not trained.
    const stopped = JSON.parse(
      cli(['--policy', 'regular', '--iters', '12', '--max-lr', '1e-5', '--val-losses', '1,2,3,4', '--json']).stdout,
    );
    expect(stopped.steps).toBe(9);
    expect(cli(['--iters', '8', '--max-lr', '0.1', '--val-losses', '1,2', '--json']).stderr).toMatch(
      /for --val-losses/,
    );
    expect(
      cli(['--policy', 'regular', '--iters', '7', '--max-lr', '0.1', '--val-losses', '1,2', '--json']).stderr,
    ).toMatch(/Expected a multiple of the number of epochs in --val-losses \(2\) for --iters but received 7/);
  });

  it('writes the plot with both panels, one line per group and the red unfreezing lines; bad options fail by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'torchxfer-sched-'));
    const out = join(dir, 'fig2.svg');
    const r = cli(['--iters', '500', '--max-lr', '1e-3', '--out', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Wrote ${out}`);
    const svg = readFileSync(out, 'utf8');
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    expect(svg.match(/<path class="series"/g)).toHaveLength(6);
    expect(svg.match(/<line class="marker"[^>]*stroke="#d62728"/g)).toHaveLength(4);
    expect([...svg.matchAll(/<text class="title"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual([
      'Learning rate',
      'Momentum',
    ]);
    const bad = cli(['--iters', '0', '--max-lr', '1e-3', '--json']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/Expected an integer between 1 and 10000000 for --iters but received '0'/);
    const badOut = cli(['--iters', '10', '--max-lr', '1e-3', '--out', join(dir, 'x.pdf')]);
    expect(badOut.stderr).toMatch(/Expected a file name ending in .svg or .png for --out/);
  });
});
