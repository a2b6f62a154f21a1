/** `writeReport(db, dir)`: the HTML page plus every figure as SVG and PNG. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { toPng } from '../plot/index.js';
import type { ResultsDb } from '../experiments/db.js';
import { experimentReport, type ExperimentReport } from './data.js';
import { aucFigure, paperFigure, runFigure, slug, type Figure, type RunFigure } from './figures.js';
import { renderHtml, type ReportExtras } from './html.js';
import { examplesSvg, phantomExamples, usesPhantoms } from './phantoms.js';

export interface ReportFiles {
  html: string;
  figures: string[];
  reports: ExperimentReport[];
}

export async function writeReport(
  db: ResultsDb,
  outDir: string,
  opts: { png?: boolean; cacheDir?: string } = {},
): Promise<ReportFiles> {
  mkdirSync(join(outDir, 'figures'), { recursive: true });
  const reports = db.experiments().map((e) => experimentReport(db, e.name));
  const figures = new Map<string, Figure>();
  const runFigures = new Map<string, RunFigure[]>();
  const extras = new Map<string, ReportExtras>();
  const files: string[] = [];
  const save = async (f: Figure, name: string) => {
    // A file name from a safe slug of the whole name: ids carry run keys and names from the database.
    const stem = slug(name);
    const svgPath = join(outDir, 'figures', `${stem}.svg`);
    writeFileSync(svgPath, f.svg);
    files.push(svgPath);
    if (opts.png !== false) {
      const pngPath = join(outDir, 'figures', `${stem}.png`);
      await toPng(f.svg, pngPath);
      files.push(pngPath);
    }
  };
  for (const r of reports) {
    if (usesPhantoms(r.spec)) {
      // Simulated data says so, and shows its own images: one grid per phantom population (chest or limbs).
      const examples = await phantomExamples(r.spec, { cacheDir: opts.cacheDir });
      const shown = [];
      for (const e of examples) {
        const svg = examplesSvg(e);
        if (svg) await save({ id: e.id, title: e.title, svg }, `${slug(r.spec.name)}-${e.id}`);
        shown.push({ ...e, svg });
      }
      extras.set(r.spec.name, { simulated: true, examples: shown });
    }
    for (const figure of new Set(r.arms.map((a) => a.figure))) {
      const fig = paperFigure(
        figure,
        r.arms.filter((a) => a.figure === figure),
        { simulated: r.simulated },
      );
      figures.set(`${r.spec.name}/figure/${figure}`, fig);
      await save(fig, `${slug(r.spec.name)}-${fig.id}`);
    }
    for (const key of new Set(r.arms.map((a) => `${a.group}\u0000${a.target}`))) {
      const [group, target] = key.split('\u0000') as [string, string];
      const arms = r.arms.filter((a) => a.group === group && a.target === target);
      const fig = aucFigure(group, target, arms, { simulated: r.simulated });
      figures.set(`${r.spec.name}/${group}/${target}`, fig);
      await save(fig, `${slug(r.spec.name)}-${fig.id}`);
      const runs: RunFigure[] = [];
      for (const a of arms) {
        for (const run of a.runs) {
          const epochs = db.epochs(run.key);
          if (!epochs.length) continue;
          const rf = runFigure(run, epochs, `${a.name} on ${target}, N=${run.n}, seed ${run.seed}`);
          runs.push(rf);
          for (const part of rf.parts) await save(part, `${slug(r.spec.name)}-${part.id}`);
        }
      }
      runFigures.set(`${r.spec.name}/${group}/${target}`, runs);
    }
    const sourceFigs: RunFigure[] = [];
    for (const run of r.sources) {
      const epochs = db.epochs(run.key);
      if (!epochs.length) continue;
      const rf = runFigure(run, epochs, `source task ${run.data_name} (${JSON.parse(run.arm_json).arch})`);
      sourceFigs.push(rf);
      for (const part of rf.parts) await save(part, `${slug(r.spec.name)}-${part.id}`);
    }
    runFigures.set(`${r.spec.name}/sources`, sourceFigs);
  }
  const html = join(outDir, 'report.html');
  writeFileSync(html, renderHtml(reports, figures, runFigures, extras));
  return { html, figures: files, reports };
}
