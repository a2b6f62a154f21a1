/** Exports runs as CSV (one row per run) or JSON (experiments, runs with their epochs); and reads CSV back. */
import type { ResultsDb, RunRow } from './db.js';

/** The run columns exported, in order. */
export const RUN_COLUMNS: (keyof RunRow)[] = [
  'key', 'experiment', 'kind', 'data_name', 'n', 'seed', 'status', 'attempts', 'test_auc', 'test_auc_tta', 'val_loss',
  'sample_ids_hash', 'checkpoint', 'host', 'started_at', 'finished_at', 'error', 'arm_json', 'per_label_json', 'timings_json', 'versions_json', 'config_json',
];

export function exportJson(db: ResultsDb): string {
  const runs = db.runs().map((r) => ({ ...pick(r), epochs: db.epochs(r.key).map(({ run_key: _k, ...e }) => e) }));
  return JSON.stringify({ experiments: db.experiments(), runs }, null, 2);
}

export function exportCsv(db: ResultsDb): string {
  const lines = [RUN_COLUMNS.join(',')];
  for (const r of db.runs()) lines.push(RUN_COLUMNS.map((c) => csvCell(r[c])).join(','));
  return lines.join('\n') + '\n';
}

function pick(r: RunRow): Partial<RunRow> {
  const out: Record<string, unknown> = {};
  for (const c of RUN_COLUMNS) out[c] = r[c];
  return out as Partial<RunRow>;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, newlines in quotes) into rows of strings. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
