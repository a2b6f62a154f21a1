/** The self-contained HTML report: inline SVG figures, AUC tables, paired t-tests, stage winners, provenance. */
import { SIMULATED_NOTICE } from '../data/phantom/writers.js';
import { version } from '../version.js';
import type { ExperimentReport } from './data.js';
import type { Figure, RunFigure } from './figures.js';
import type { PhantomExamples } from './phantoms.js';
import { paperVsRun } from './paper.js';
import { figureCaption } from './captions.js';
import { esc, fmt, fmtP } from './escape.js';
import { apartHtml, departuresHtml, maxLrHtml, methodsHtml, sourcesHtml, table1Html } from './sections.js';

function aucTable(r: ExperimentReport, group: string, target: string, metric: 'auc' | 'aucTta'): string {
  const arms = r.arms.filter((a) => a.group === group && a.target === target);
  // The arms of one stage share its grid (the spec's, or the stage's own).
  const head = `<tr><th>arm</th>${(arms[0]?.nGrid ?? r.spec.nGrid).map((n) => `<th>N=${esc(n)}</th>`).join('')}<th>mean</th></tr>`;
  const rows = arms.map((a) => {
    const v = a[metric];
    const fin = v.filter(Number.isFinite);
    const m = fin.length ? fin.reduce((s, x) => s + x, 0) / fin.length : NaN;
    return `<tr data-arm="${esc(a.name)}"><th>${esc(a.name)}</th>${v.map((x) => `<td>${fmt(x)}</td>`).join('')}<td class="mean">${fmt(m)}</td></tr>`;
  });
  return `<table class="auc" data-group="${esc(group)}" data-target="${esc(target)}" data-metric="${esc(metric)}"><caption>Test AUC ${metric === 'aucTta' ? 'with' : 'without'} TTA</caption>${head}${rows.join('')}</table>`;
}

function perLabelTable(r: ExperimentReport, group: string, target: string): string {
  const arms = r.arms.filter((a) => a.group === group && a.target === target && a.perLabel);
  if (!arms.length) return '';
  const labels = arms[0]!.perLabel!.labels;
  const rows = arms.map(
    (a) =>
      `<tr><th>${esc(a.name)} (N=${esc(a.perLabel!.n)})</th>${labels.map((l) => `<td>${fmt(a.perLabel!.auc[a.perLabel!.labels.indexOf(l)] ?? NaN)}</td>`).join('')}</tr>`,
  );
  return `<table class="per-label"><caption>Per-label test AUC at the largest N (– = one class only, no AUC)</caption><tr><th>arm</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

function testsTable(r: ExperimentReport, group: string, target: string): string {
  const tests = r.tests.filter((t) => t.group === group && t.target === target);
  if (!tests.length) return '';
  const over = (t: (typeof tests)[number]) => (t.over === 'n' ? 'N (seed means)' : 'N x seed');
  const rows = tests.map(
    (t) =>
      `<tr data-over="${esc(t.over)}"><td>${esc(t.a)}</td><td>${esc(t.b)}</td><td>${esc(over(t))}</td><td>${fmt(t.meanDiff)}</td><td>${esc(t.pairs)}</td><td class="p">${fmtP(t.p)}</td></tr>`,
  );
  return `<table class="ttest"><caption>Paired two-sided t-tests (test AUC with TTA): over the N grid (the paper's test) and over every (N, seed) run</caption><tr><th>arm A</th><th>arm B</th><th>paired over</th><th>mean A−B</th><th>pairs</th><th>p</th></tr>${rows.join('')}</table>`;
}

/** Every run with what identifies and reproduces it: config, sample-ids hash, host, timings, error. */
function runsTable(r: ExperimentReport): string {
  const rows = r.runs.map((x) => {
    const arm = JSON.parse(x.arm_json) as Record<string, unknown>;
    const armText = ['arch', 'policy', 'strategy', 'source', 'init', 'epochs', 'maxLr']
      .map((k) => String(arm[k]))
      .join(' ');
    const timings = x.timings_json
      ? Object.entries(JSON.parse(x.timings_json) as Record<string, number>)
          .map(([k, v]) => `${k} ${fmt(v, 1)}`)
          .join(', ')
      : '';
    return (
      `<tr data-key="${esc(x.key)}"><td>${esc(x.key.slice(0, 10))}</td><td>${esc(x.kind)}</td><td>${esc(x.data_name)}</td><td>${esc(armText)}</td><td>${esc(String(x.n ?? 'all'))}</td><td>${esc(String(x.seed))}</td>` +
      `<td>${esc(x.status)}</td><td>${fmt(x.test_auc ?? NaN)}</td><td>${fmt(x.test_auc_tta ?? NaN)}</td><td>${fmt(x.val_loss ?? NaN)}</td>` +
      `<td>${esc((x.sample_ids_hash ?? '').slice(0, 12))}</td><td>${esc(x.host ?? '')}</td><td>${esc(timings)}</td><td>${esc(x.error ?? '')}</td></tr>`
    );
  });
  return (
    `<details><summary>All runs (${r.runs.length})</summary><table class="runs"><tr><th>key</th><th>kind</th><th>data</th><th>arch policy strategy source init epochs maxLr</th>` +
    `<th>N</th><th>seed</th><th>status</th><th>AUC</th><th>AUC TTA</th><th>val loss</th><th>sample ids</th><th>host</th><th>timings (s)</th><th>error</th></tr>${rows.join('')}</table></details>`
  );
}

/** What a report adds for an experiment on simulated data: the notice and the phantoms' own images. */
export interface ReportExtras {
  simulated: boolean;
  /** svg: the labelled grid, when the set is on this machine. */
  examples: (PhantomExamples & { svg?: string })[];
}

function simulatedSection(simulated: boolean, x: ReportExtras | undefined): string {
  if (!simulated && !x?.simulated) return '';
  const grids = (x?.examples ?? [])
    .map((e) => {
      const body = e.svg ?? `<p class="missing">${esc(e.missing ?? '')}</p>`;
      return `<figure class="phantom-examples" data-kind="${esc(e.kind)}" data-seed="${esc(String(e.phantomSeed))}">${body}<figcaption>${esc(e.title)}: ${esc(e.caption)}</figcaption></figure>`;
    })
    .join('');
  return `<p class="simulated"><strong>SIMULATED.</strong> ${esc(SIMULATED_NOTICE)} The results show how the protocol's mechanisms act on a designed task, not clinical performance.</p>${grids ? `<h3>The phantoms</h3>${grids}` : ''}`;
}

function winnersHtml(r: ExperimentReport): string {
  if (!r.outcomes.length) return '';
  const why = (o: ExperimentReport['outcomes'][number]) =>
    o.decision
      ? esc(o.decision.reason)
      : `waiting on ${Number.isFinite(o.waitingOn) ? `${esc(o.waitingOn)} run(s)` : 'an earlier stage'}`;
  const rows = r.outcomes.map(
    (o) =>
      `<tr><td>${esc(o.stage)}</td><td>${esc(o.target)}</td><td class="winner">${o.decision ? esc(o.decision.winner) : 'pending'}</td><td>${why(o)}</td></tr>`,
  );
  return `<h3>Stage winners</h3><table class="winners"><tr><th>stage</th><th>target</th><th>winner</th><th>why</th></tr>${rows.join('')}</table>`;
}

function groupHtml(
  r: ExperimentReport,
  group: string,
  target: string,
  figures: Map<string, Figure>,
  runFigures: Map<string, RunFigure[]>,
): string {
  const fig = figures.get(`${r.spec.name}/${group}/${target}`);
  const runs = runFigures.get(`${r.spec.name}/${group}/${target}`) ?? [];
  const caption = fig
    ? `<figcaption>${esc(
        figureCaption(
          group,
          r.arms.filter((a) => a.group === group && a.target === target),
          r,
        ),
      )}</figcaption>`
    : '';
  return (
    `<section class="group" data-group="${esc(group)}" data-target="${esc(target)}"><h3>${esc(group === 'grid' ? 'Arms' : `Stage ${group}`)}: ${esc(target)}</h3>` +
    (fig ? `<figure class="auc-figure" id="${esc(fig.id)}">${fig.svg}${caption}</figure>` : '') +
    aucTable(r, group, target, 'aucTta') +
    aucTable(r, group, target, 'auc') +
    perLabelTable(r, group, target) +
    testsTable(r, group, target) +
    (runs.length
      ? `<details><summary>Training curves (${runs.length} runs)</summary>${runs.map((f) => `<figure class="run-figure" id="${esc(f.id)}">${f.parts.map((p) => p.svg).join('')}</figure>`).join('')}</details>`
      : '') +
    '</section>'
  );
}

function paperFiguresHtml(r: ExperimentReport, figures: Map<string, Figure>): string {
  return [...new Set(r.arms.map((a) => a.figure))]
    .map((f) => ({ f, fig: figures.get(`${r.spec.name}/figure/${f}`) }))
    .filter((x): x is { f: string; fig: Figure } => x.fig !== undefined)
    .map(
      ({ f, fig }) =>
        `<figure class="paper-figure" id="${esc(fig.id)}"><figcaption><strong>${esc(fig.title)}</strong> ${esc(
          figureCaption(
            f,
            r.arms.filter((a) => a.figure === f),
            r,
          ),
        )}</figcaption>${fig.svg}</figure>`,
    )
    .join('');
}

function paperTableHtml(r: ExperimentReport): string {
  const comparison = paperVsRun(r);
  if (!comparison.length) return '';
  const rows = comparison.map(
    (c) =>
      `<tr><td>${esc(c.figure)}</td><td class="claim">${esc(c.claim)}</td><td>${esc(c.paper)}</td><td>${esc(c.thisRun)}</td></tr>`,
  );
  return `<table class="paper-vs-run"><caption>Paper vs this run (the paper's numbers beside the tasks it reported them for)</caption><tr><th>Fig.</th><th>claim</th><th>paper</th><th>this run</th></tr>${rows.join('')}</table>`;
}

function provenanceHtml(r: ExperimentReport): string {
  return (
    `<h3>Provenance</h3><table class="provenance"><tr><th>runs of the current spec</th><td>${Object.entries(r.counts)
      .map(([k, v]) => `${esc(v)} ${esc(k)}`)
      .join(', ')}</td></tr>` +
    Object.entries(r.versions)
      .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v.join(', '))}</td></tr>`)
      .join('') +
    `<tr><th>report by</th><td>torchxfer ${esc(version)}</td></tr></table>` +
    apartHtml(r) +
    runsTable(r) +
    `<details><summary>Experiment spec</summary><pre>${esc(JSON.stringify(r.spec, null, 2))}</pre></details>`
  );
}

function experimentHtml(
  r: ExperimentReport,
  figures: Map<string, Figure>,
  runFigures: Map<string, RunFigure[]>,
  x: ReportExtras | undefined,
): string {
  const simulated = r.simulated || Boolean(x?.simulated);
  const groups = [...new Set(r.arms.map((a) => `${a.group}\u0000${a.target}`))].map(
    (k) => k.split('\u0000') as [string, string],
  );
  const srcFigs = runFigures.get(`${r.spec.name}/sources`) ?? [];
  const srcCurves = srcFigs.length
    ? `<details><summary>Training curves (${srcFigs.length})</summary>${srcFigs.map((f) => `<figure class="run-figure source-figure" id="${esc(f.id)}">${f.parts.map((p) => p.svg).join('')}</figure>`).join('')}</details>`
    : '';
  return (
    `<section class="experiment" data-name="${esc(r.spec.name)}"><h2>Experiment ${esc(r.spec.name)} (${esc(r.spec.mode)})${simulated ? ' <span class="simulated-tag">SIMULATED</span>' : ''}</h2>` +
    simulatedSection(simulated, x) +
    methodsHtml(r) +
    departuresHtml(r) +
    paperFiguresHtml(r, figures) +
    paperTableHtml(r) +
    table1Html(r) +
    winnersHtml(r) +
    maxLrHtml(r) +
    groups.map(([group, target]) => groupHtml(r, group, target, figures, runFigures)).join('') +
    sourcesHtml(r, srcCurves) +
    provenanceHtml(r) +
    '</section>'
  );
}

export function renderHtml(
  reports: ExperimentReport[],
  figures: Map<string, Figure>,
  runFigures: Map<string, RunFigure[]>,
  extras: Map<string, ReportExtras> = new Map(),
): string {
  const sections = reports.map((r) => experimentHtml(r, figures, runFigures, extras.get(r.spec.name)));
  const simulated = reports.some((r) => r.simulated) || [...extras.values()].some((x) => x.simulated);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${simulated ? 'SIMULATED: ' : ''}torchxfer report</title>
<style>
body{font-family:DejaVu Sans,Arial,sans-serif;margin:2em;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:0.8em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
caption{text-align:left;font-weight:bold;padding:4px 0}td.winner{font-weight:bold;text-align:left}
figure{margin:0.5em 0}p.simulated{background:#fff3cd;border:2px solid #c9a227;padding:0.8em}.simulated-tag{background:#c9a227;color:#fff;padding:0 0.4em;font-size:0.7em;vertical-align:middle}
figure.phantom-examples svg{image-rendering:pixelated}figure svg{max-width:100%;height:auto}pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:0.8em}
p.warning,tr.weak td{background:#fde2e1}section.methods p,section.departures li{max-width:60em;text-align:justify}figcaption{max-width:70em;font-size:0.9em}
</style></head><body>${simulated ? '<p class="simulated-banner"><strong>SIMULATED DATA</strong>: every result on this page comes from torchxfer\'s phantom images, not patients.</p>' : ''}<h1>torchxfer report</h1>
${sections.join('\n')}
</body></html>
`;
}
