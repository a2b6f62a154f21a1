/** Exports runs as CSV (one flat row per run, with the arm's name) or JSON (experiments, runs with their epochs). */
import { formatCsv } from '../data/csv.js';
import type { ResultsDb, RunRow } from './db.js';

/** The run columns exported, in order: flat values, no JSON inside cells (per-label AUCs follow as auc:<label> columns). */
export const RUN_COLUMNS = [
  'key', 'experiment', 'kind', 'data_name', 'arm', 'arch', 'policy', 'strategy', 'source', 'init', 'optimizer', 'epochs', 'max_lr', 'batch_size', 'tta',
  'n', 'seed', 'status', 'attempts', 'test_auc', 'test_auc_tta', 'test_auc_ci_lo', 'test_auc_ci_hi', 'val_loss', 'seconds',
  'sample_ids_hash', 'checkpoint', 'host', 'started_at', 'finished_at', 'error', 'torchxfer_version',
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
const scalar = (v: unknown): string | number | boolean | null => (v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean));

/** An arm's name: its own (grid arms may name themselves), else its settings in words. */
export function armName(arm: Record<string, unknown>): string {
  if (typeof arm.name === 'string') return arm.name;
  return [arm.arch, arm.policy, arm.strategy, `source=${String(arm.source)}`, `init=${String(arm.init)}`].join(' ');
}

/** One run as flat values: the arm's settings, the results and per-label AUCs as their own columns. */
export function flatRun(r: RunRow): Flat {
  const arm = parse(r.arm_json);
  const result = parse(r.result_json);
  const ci = Array.isArray(result.testAucCi) ? (result.testAucCi as unknown[]) : [];
  const out: Flat = {
    key: r.key, experiment: r.experiment, kind: r.kind, data_name: r.data_name, arm: armName(arm),
    arch: scalar(arm.arch), policy: scalar(arm.policy), strategy: scalar(arm.strategy), source: scalar(arm.source), init: scalar(arm.init), optimizer: scalar(arm.optimizer),
    epochs: scalar(arm.epochs), max_lr: scalar(arm.maxLr), batch_size: scalar(arm.batchSize), tta: scalar(arm.tta),
    n: r.n, seed: r.seed, status: r.status, attempts: r.attempts, test_auc: r.test_auc, test_auc_tta: r.test_auc_tta,
    test_auc_ci_lo: scalar(ci[0]), test_auc_ci_hi: scalar(ci[1]), val_loss: r.val_loss, seconds: scalar(parse(r.timings_json).seconds),
    sample_ids_hash: r.sample_ids_hash, checkpoint: r.checkpoint, host: r.host, started_at: r.started_at, finished_at: r.finished_at, error: r.error,
    torchxfer_version: scalar(parse(r.versions_json).torchxfer),
  };
  const perLabel = parse(r.per_label_json);
  for (const [kind, prefix] of [['auc', 'auc'], ['aucTta', 'auc_tta']] as const) {
    for (const [label, v] of Object.entries((perLabel[kind] ?? {}) as Record<string, unknown>)) out[`${prefix}:${label}`] = scalar(v);
  }
  return out;
}

/** All columns of these runs: the fixed ones, then every per-label column that occurs, sorted. */
export function exportColumns(runs: Flat[]): string[] {
  const extra = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r)) if (!(RUN_COLUMNS as readonly string[]).includes(k)) extra.add(k);
  return [...RUN_COLUMNS, ...[...extra].sort()];
}

/** Experiments (their specs as objects) and runs: flat fields plus the arm, config and epochs as objects. */
export function exportJson(db: ResultsDb): string {
  const experiments = db.experiments().map(({ spec_json: specJson, ...e }) => ({ ...e, spec: parse(specJson) }));
  const runs = db.runs().map((r) => ({ ...flatRun(r), armSettings: parse(r.arm_json), config: parse(r.config_json), history: db.epochs(r.key).map((e) => ({ epoch: e.epoch, ...parse(e.metrics_json) })) }));
  return JSON.stringify({ experiments, runs }, null, 2);
}

/**
 * A spreadsheet runs a text cell starting with = + - @ (or a tab or CR) as a formula (=HYPERLINK(...),
 * =cmd|...): such cells, whatever column they are in, get a leading apostrophe and stay text.
 */
export function neutraliseFormula(value: string | number | boolean | null | undefined): string | number | boolean | null | undefined {
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function exportCsv(db: ResultsDb): string {
  const runs = db.runs().map(flatRun);
  const columns = exportColumns(runs);
  return formatCsv([columns.map(neutraliseFormula), ...runs.map((r) => columns.map((c) => neutraliseFormula(r[c])))]);
}
