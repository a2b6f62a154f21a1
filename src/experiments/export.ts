/**
 * Exports runs as CSV (one flat row per run, with the spec's arm names) or JSON (experiments, runs with
 * their epochs). Every number is what the run recorded: the N asked for and trained, the unique images
 * and positives, the files dropped, the method (cnn or radiomics) and whether the data was simulated.
 */
import { formatCsv } from '../data/csv.js';
import type { ResultsDb, RunRow } from './db.js';
import { pairedP } from './paired.js';
import { planArmNames, planExperiment } from './plan.js';
import { doneLookup } from './run.js';
import { storedSpec } from './spec.js';

/**
 * The run columns exported, in order: flat values, no JSON inside cells (per-label AUCs follow as auc:<label> columns).
 */
export const RUN_COLUMNS = [
  'key',
  'experiment',
  'kind',
  'data_name',
  'method',
  'arm',
  'arch',
  'policy',
  'strategy',
  'source',
  'init',
  'optimizer',
  'epochs',
  'max_lr',
  'lr_rule',
  'batch_size',
  'tta',
  'n',
  'seed',
  'n_requested',
  'n_trained',
  'unique_images',
  'unique_positives',
  'dropped_files',
  'val_images',
  'test_images',
  'simulated',
  'status',
  'attempts',
  'test_auc',
  'test_auc_tta',
  'test_auc_ci_lo',
  'test_auc_ci_hi',
  'val_loss',
  'seconds',
  'stopped_early',
  'warnings',
  'sample_ids_hash',
  'checkpoint',
  'host',
  'started_at',
  'finished_at',
  'error',
  'torchxfer_version',
] as const;

type Flat = Record<string, string | number | boolean | null>;

const parse = (json: string | null): Record<string, unknown> => {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};
const scalar = (v: unknown): string | number | boolean | null =>
  v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);

/** An arm's name: its own (grid arms may name themselves), else its settings in words. */
export function armName(arm: Record<string, unknown>): string {
  if (typeof arm.name === 'string') return arm.name;
  if (arm.method === 'radiomics') return 'radiomics';
  return [arm.arch, arm.policy, arm.strategy, `source=${String(arm.source)}`, `init=${String(arm.init)}`].join(' ');
}

/**
 * The spec's names of each run: "Fig. F (stage): arm" (grid arms: their name) for every arm it serves (a run shared by
 * two
 * figures has two names), "source task <name>" for source jobs. Runs no current spec plans have none.
 */
export function specArmNames(db: ResultsDb): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const e of db.experiments())
    planArmNames(
      planExperiment(storedSpec(e.spec_json, `${db.path}: experiment '${e.name}'`), doneLookup(db), pairedP),
      names,
    );
  return names;
}

/** One run as flat values: the arm's settings, the results and per-label AUCs as their own columns. */
export function flatRun(r: RunRow, names?: Map<string, string[]>): Flat {
  const arm = parse(r.arm_json);
  const result = parse(r.result_json);
  const counts = (result.counts ?? {}) as Record<string, unknown>;
  const evalSizes = (result.evalSizes ?? {}) as Record<string, unknown>;
  const ci = Array.isArray(result.testAucCi) ? (result.testAucCi as unknown[]) : [];
  const radiomics = arm.method === 'radiomics';
  // A radiomics run has no network: its arm settings are not part of what it did.
  const cnn = (v: unknown) => (radiomics ? null : scalar(v));
  const out: Flat = {
    key: r.key,
    experiment: r.experiment,
    kind: r.kind,
    data_name: r.data_name,
    method: radiomics ? 'radiomics' : 'cnn',
    arm: names?.get(r.key)?.join('; ') || armName(arm),
    arch: cnn(arm.arch),
    policy: cnn(arm.policy),
    strategy: cnn(arm.strategy),
    source: cnn(arm.source),
    init: cnn(arm.init),
    optimizer: cnn(arm.optimizer),
    epochs: cnn(arm.epochs),
    max_lr: radiomics ? null : scalar(result.maxLr ?? arm.maxLr),
    lr_rule: cnn(result.lrRule),
    batch_size: cnn(arm.batchSize),
    tta: cnn(arm.tta),
    n: r.n,
    seed: r.seed,
    n_requested: scalar(counts.nRequested),
    n_trained: scalar(counts.nTrained),
    unique_images: scalar(counts.uniqueImages),
    unique_positives: scalar(counts.uniquePositives),
    dropped_files: scalar(counts.droppedFiles),
    val_images: scalar(evalSizes.val),
    test_images: scalar(evalSizes.test),
    simulated: scalar(result.simulated),
    status: r.status,
    attempts: r.attempts,
    test_auc: r.test_auc,
    test_auc_tta: r.test_auc_tta,
    test_auc_ci_lo: scalar(ci[0]),
    test_auc_ci_hi: scalar(ci[1]),
    val_loss: r.val_loss,
    seconds: scalar(parse(r.timings_json).seconds),
    stopped_early: scalar(result.stoppedEarly),
    warnings: Array.isArray(result.warnings) ? (result.warnings as unknown[]).map(String).join(' | ') : null,
    sample_ids_hash: r.sample_ids_hash,
    checkpoint: r.checkpoint,
    host: r.host,
    started_at: r.started_at,
    finished_at: r.finished_at,
    error: r.error,
    torchxfer_version: scalar(parse(r.versions_json).torchxfer),
  };
  const perLabel = parse(r.per_label_json);
  for (const [kind, prefix] of [
    ['auc', 'auc'],
    ['aucTta', 'auc_tta'],
  ] as const) {
    for (const [label, v] of Object.entries((perLabel[kind] ?? {}) as Record<string, unknown>))
      out[`${prefix}:${label}`] = scalar(v);
  }
  return out;
}

/** All columns of these runs: the fixed ones, then every per-label column that occurs, sorted. */
export function exportColumns(runs: Flat[]): string[] {
  const extra = new Set<string>();
  for (const r of runs)
    for (const k of Object.keys(r)) if (!(RUN_COLUMNS as readonly string[]).includes(k)) extra.add(k);
  return [...RUN_COLUMNS, ...[...extra].sort()];
}

/** Experiments (their specs as objects) and runs: flat fields plus the arm, config and epochs as objects. */
export function exportJson(db: ResultsDb): string {
  const experiments = db.experiments().map(({ spec_json: specJson, ...e }) => ({ ...e, spec: parse(specJson) }));
  const names = specArmNames(db);
  const runs = db.runs().map((r) => ({
    ...flatRun(r, names),
    armNames: names.get(r.key) ?? [],
    armSettings: parse(r.arm_json),
    config: parse(r.config_json),
    history: db.epochs(r.key).map((e) => ({ epoch: e.epoch, ...parse(e.metrics_json) })),
  }));
  return JSON.stringify({ experiments, runs }, null, 2);
}

/**
 * A spreadsheet runs a text cell starting with = + - @ (or a tab or CR) as a formula (=HYPERLINK(...),
 * =cmd|...): such cells, whatever column they are in, get a leading apostrophe and stay text.
 */
export function neutraliseFormula(
  value: string | number | boolean | null | undefined,
): string | number | boolean | null | undefined {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function exportCsv(db: ResultsDb): string {
  const names = specArmNames(db);
  const runs = db.runs().map((r) => flatRun(r, names));
  const columns = exportColumns(runs);
  return formatCsv([columns.map(neutraliseFormula), ...runs.map((r) => columns.map((c) => neutraliseFormula(r[c])))]);
}
