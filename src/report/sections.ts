/**
 * The sections that make a report a supplement a reviewer accepts: Methods (generated from what ran),
 * Departures, the source models judged by their own held-out AUC, Table I beside the paper's, max_lr
 * per arm and how it was chosen, and the failed and superseded runs listed apart. Each returns HTML
 * with every value escaped.
 */
import { runResult, type RunRow } from '../experiments/db.js';
import type { ArmConfig } from '../experiments/types.js';
import { table1 } from './captions.js';
import type { ExperimentReport } from './data.js';
import { departures } from './departures.js';
import { esc, fmt } from './escape.js';
import { methodsSection } from './methods.js';

/** Below this held-out AUC a source model is flagged: what it transfers is weak. */
export const WEAK_SOURCE_AUC = 0.7;

export function methodsHtml(r: ExperimentReport): string {
  const paragraphs = methodsSection(r).map((p) => `<p><strong>${esc(p.heading)}.</strong> ${esc(p.text)}</p>`);
  return `<section class="methods"><h3>Methods</h3>${paragraphs.join('')}</section>`;
}

export function departuresHtml(r: ExperimentReport): string {
  const d = departures(r);
  const ul = (items: string[]) => `<ul>${items.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>`;
  return (
    `<section class="departures"><h3>Departures</h3>` +
    `<h4>From the paper's protocol, in this experiment</h4>${d.spec.length ? ul(d.spec) : "<p>None: the spec runs the paper's protocol.</p>"}` +
    `<h4>In what happened</h4>${d.runs.length ? ul(d.runs) : '<p>None found in the recorded runs.</p>'}` +
    `<h4>torchxfer against the authors' code (always)</h4>${ul(d.protocol)}</section>`
  );
}

/** Every source model with its own held-out AUC; a weak one is flagged (Figs. 6-7 mean nothing without it). */
export function sourcesHtml(r: ExperimentReport, figures: string): string {
  if (!r.sources.length && !r.spec.weightSources?.length) return '';
  const rows = r.sources.map((s) => {
    const auc = s.test_auc_tta ?? s.test_auc;
    const weak = s.status === 'done' && auc !== null && auc < WEAK_SOURCE_AUC;
    const test = runResult(s).evalSizes;
    return (
      `<tr class="${weak ? 'weak' : ''}"><td>${esc(s.data_name)}</td><td>${esc(String((JSON.parse(s.arm_json) as ArmConfig).arch))}</td><td>${esc(s.n === null ? 'all' : String(s.n))}</td>` +
      `<td>${esc(s.status)}</td><td>${fmt(s.val_loss ?? NaN)}</td><td class="auc">${fmt(auc ?? NaN, 3)}</td><td>${esc(test ? `${test.test} (${test.testPositives} positive)` : '–')}</td>` +
      `<td>${weak ? `below ${WEAK_SOURCE_AUC}: weak source` : ''}</td><td>${esc(s.checkpoint ?? '')}</td></tr>`
    );
  });
  for (const w of r.spec.weightSources ?? []) {
    rows.push(
      `<tr><td>${esc(w.name)}</td><td>${esc(w.arch)}</td><td>–</td><td>published weights</td><td>–</td><td class="auc">–</td><td>–</td><td>not trained or tested here</td><td>${esc(w.weights)}</td></tr>`,
    );
  }
  const weak = r.sources.filter((s) => s.status === 'done' && (s.test_auc_tta ?? s.test_auc ?? 1) < WEAK_SOURCE_AUC);
  const warning = weak.length
    ? `<p class="warning">Source model(s) ${esc(weak.map((s) => s.data_name).join(', '))} reached a held-out AUC below ${WEAK_SOURCE_AUC}: the arms that start from them test a weak source, not its anatomy.</p>`
    : '';
  return (
    `<section class="sources"><h3>Source models</h3>${warning}<table class="sources"><caption>Each source model's own held-out test AUC (with TTA where it ran), measured when it trained</caption>` +
    `<tr><th>source</th><th>arch</th><th>N</th><th>status</th><th>val loss</th><th>test AUC</th><th>test images</th><th>note</th><th>checkpoint</th></tr>${rows.join('')}</table>${figures}</section>`
  );
}

export function table1Html(r: ExperimentReport): string {
  const rows = table1(r);
  if (!rows.length) return '';
  const cell = (v: number | null) => (v === null ? '–' : String(v));
  return (
    `<table class="table1"><caption>Table I: positive images per partition of each binary target (training: the pool subsets are drawn from); the paper's only for its own tasks</caption>` +
    `<tr><th>target</th><th>partition</th><th>this run</th><th>paper</th></tr>${rows.map((x) => `<tr><td>${esc(x.target)}</td><td>${esc(x.partition)}</td><td>${esc(cell(x.thisRun))}</td><td>${esc(cell(x.paper))}</td></tr>`).join('')}</table>`
  );
}

/** max_lr per arm, saying how it was chosen (found at the largest N and reused, or fixed in the spec). */
export function maxLrHtml(r: ExperimentReport): string {
  const arms = r.arms.filter((a) => a.maxLrFrom !== null);
  if (!arms.length) return '';
  const how = (a: (typeof arms)[number]) =>
    a.maxLrFrom!.mode === 'found'
      ? `LR finder (${a.maxLrFrom!.rule}) at N = ${a.nGrid[a.nGrid.length - 1]}, reused for every N`
      : 'fixed in the spec';
  return (
    `<table class="max-lr"><caption>max_lr per arm and how it was chosen</caption><tr><th>figure</th><th>target</th><th>arm</th><th>max_lr</th><th>chosen by</th></tr>` +
    arms
      .map(
        (a) =>
          `<tr><td>${esc(a.figure)}</td><td>${esc(a.target)}</td><td>${esc(a.name)}</td><td>${a.maxLr === null ? '–' : esc(a.maxLr.toPrecision(3))}</td><td>${esc(how(a))}</td></tr>`,
      )
      .join('') +
    '</table>'
  );
}

function runList(runs: RunRow[], cls: string, title: string): string {
  if (!runs.length) return '';
  const rows = runs.map(
    (x) =>
      `<tr data-key="${esc(x.key)}"><td>${esc(x.key.slice(0, 10))}</td><td>${esc(x.kind)}</td><td>${esc(x.data_name)}</td><td>${esc(x.n === null ? 'all' : String(x.n))}</td><td>${esc(String(x.seed))}</td><td>${esc(x.status)}</td><td>${esc(x.error ?? '')}</td></tr>`,
  );
  return `<table class="${cls}"><caption>${esc(title)}</caption><tr><th>key</th><th>kind</th><th>data</th><th>N</th><th>seed</th><th>status</th><th>error</th></tr>${rows.join('')}</table>`;
}

/** Failed runs of the current plan, and runs of superseded specs: listed apart, counted in nothing. */
export function apartHtml(r: ExperimentReport): string {
  return (
    runList(
      r.failed,
      'failed-runs',
      `Failed runs (${r.failed.length}): not counted in any mean, figure or test; rerun the experiment to retry them`,
    ) +
    runList(
      r.superseded,
      'superseded-runs',
      `Runs of an earlier version of this spec (${r.superseded.length}): not counted in anything`,
    )
  );
}
