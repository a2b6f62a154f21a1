/**
 * A results database is input like any other file: someone else's shard, a colleague's results. Before
 * anything is read from one opened read-only: its schema version must be one this torchxfer knows, its
 * tables must be plain tables (a view or a virtual table would run the file's own SQL), without generated
 * columns, and the rows are read through an explicit list of the known columns (never `*`, never the
 * file's own column names), each value typed by the column's declared type and checked where the
 * column has a meaning (keys, names, statuses, AUCs, JSON). The known columns come from the schema this
 * torchxfer creates (ResultsDb on an in-memory database): one definition, nothing copied.
 */
import Database from 'better-sqlite3';

import { OptionError } from '../errors.js';

export type Table = 'experiments' | 'runs' | 'epochs';
export const TABLES: readonly Table[] = ['experiments', 'runs', 'epochs'];

export interface Column {
  name: string;
  type: 'INTEGER' | 'REAL' | 'TEXT';
  notNull: boolean;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
/** A column name as an SQL identifier: only names of the known schema reach here, quoted all the same. */
export const quoted = (name: string): string => {
  if (!IDENTIFIER.test(name)) throw new Error(`not a column name: ${JSON.stringify(name)}`);
  return `"${name}"`;
};

let known: Map<Table, Column[]> | undefined;

/** The columns of `table` as this torchxfer's schema defines them (`open`: an in-memory database of it). */
export function knownColumns(table: Table, open: () => { db: Database.Database; close(): void }): Column[] {
  if (!known) {
    const mem = open();
    const db = mem.db;
    try {
      known = new Map(TABLES.map((t) => [t, columnsOf(db, t)]));
    } finally {
      mem.close();
    }
  }
  return known.get(table)!;
}

function columnsOf(db: Database.Database, table: string): Column[] {
  const rows = db.prepare('SELECT name, type, "notnull" AS not_null FROM pragma_table_xinfo(?)').all(table) as {
    name: string;
    type: string;
    not_null: number;
  }[];
  return rows.map((r) => ({
    name: r.name,
    type: (['INTEGER', 'REAL'].includes(r.type.toUpperCase()) ? r.type.toUpperCase() : 'TEXT') as Column['type'],
    notNull: r.not_null === 1,
  }));
}

/**
 * Checks the shape of an untrusted database before any row is read; returns, per table, the known
 * columns it holds. A nullable known column it lacks (an older schema) reads as NULL.
 */
export function checkInputSchema(
  db: Database.Database,
  versions: readonly string[],
  columnsOfKnown: (t: Table) => Column[],
): Map<Table, Set<string>> {
  // The file's own schema never runs functions it declares trusted (views, triggers, defaults).
  db.pragma('trusted_schema = OFF');
  const objects = db
    .prepare("SELECT type, name, sql FROM sqlite_master WHERE name IN ('meta', 'experiments', 'runs', 'epochs')")
    .all() as { type: string; name: string; sql: string | null }[];
  for (const name of ['meta', ...TABLES]) {
    const o = objects.find((x) => x.name === name);
    if (!o) throw new Error(`it has no ${name} table`);
    if (o.type !== 'table' || /^\s*CREATE\s+VIRTUAL/i.test(o.sql ?? ''))
      throw new Error(`its ${name} is a ${o.type === 'table' ? 'virtual table' : o.type}, not a table`);
  }
  const version = db.prepare("SELECT typeof(value) AS t, value FROM meta WHERE key = 'schema_version'").get() as
    { t: string; value: unknown } | undefined;
  if (!version || version.t !== 'text') throw new Error('it records no schema version');
  if (!versions.includes(version.value as string)) {
    throw new Error(
      `its schema version ${JSON.stringify(String(version.value).slice(0, 40))} is not one this torchxfer reads (${versions.join(', ')})`,
    );
  }
  const present = new Map<Table, Set<string>>();
  for (const table of TABLES) {
    const have = db.prepare('SELECT name, hidden FROM pragma_table_xinfo(?)').all(table) as {
      name: string;
      hidden: number;
    }[];
    const generated = have.find((c) => c.hidden !== 0);
    if (generated)
      throw new Error(
        `its ${table} table has a generated or hidden column (${JSON.stringify(generated.name.slice(0, 40))})`,
      );
    const names = new Set(have.map((c) => c.name));
    for (const c of columnsOfKnown(table))
      if (c.notNull && !names.has(c.name)) throw new Error(`its ${table} table has no ${c.name} column`);
    present.set(table, names);
  }
  return present;
}

/** `SELECT <known columns> FROM table`: NULL for a known column the database lacks. */
export function selectList(table: Table, columns: Column[], present: Set<string> | undefined): string {
  return (
    columns.map((c) => (!present || present.has(c.name) ? quoted(c.name) : `NULL AS ${quoted(c.name)}`)).join(', ') +
    ` FROM ${quoted(table)}`
  );
}

const RUN_KEY = /^[0-9a-f]{64}$/;
/**
 * An experiment name as stored: new specs take SAFE_NAME only, but databases of older versions may hold
 * names with spaces; what a name must never hold, wherever it came from, is a separator or a control.
 */
export const STORED_NAME = {
  test: (s: string): boolean =>
    s.length >= 1 &&
    s.length <= 256 &&
    !/[/\\]/.test(s) &&
    ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
};
const CHECKS: Record<string, (v: unknown) => string | undefined> = {
  'runs.key': (v) => (typeof v === 'string' && RUN_KEY.test(v) ? undefined : 'a run key (64 hexadecimal digits)'),
  'epochs.run_key': (v) => (typeof v === 'string' && RUN_KEY.test(v) ? undefined : 'a run key (64 hexadecimal digits)'),
  'runs.experiment': (v) =>
    typeof v === 'string' && STORED_NAME.test(v)
      ? undefined
      : 'an experiment name (no separators or control characters)',
  'experiments.name': (v) =>
    typeof v === 'string' && STORED_NAME.test(v)
      ? undefined
      : 'an experiment name (no separators or control characters)',
  'runs.kind': (v) => (v === 'source' || v === 'target' ? undefined : "'source' or 'target'"),
  'runs.status': (v) =>
    ['pending', 'running', 'done', 'failed'].includes(v as string)
      ? undefined
      : "'pending', 'running', 'done' or 'failed'",
  'runs.n': (v) => ((v as number) > 0 ? undefined : 'a positive integer or null'),
  'runs.seed': (v) => ((v as number) >= 0 ? undefined : 'a non-negative integer'),
  'runs.attempts': (v) => ((v as number) >= 0 ? undefined : 'a non-negative integer'),
  'epochs.epoch': (v) => ((v as number) >= 0 ? undefined : 'a non-negative integer'),
};
const AUC = (v: unknown) => ((v as number) >= 0 && (v as number) <= 1 ? undefined : 'an AUC between 0 and 1 or null');
for (const c of ['runs.test_auc', 'runs.test_auc_tta', 'epochs.val_auc']) CHECKS[c] = AUC;

/** Why `v` is not a value of column `c` of `table`, or undefined. */
function wrongValue(table: Table, c: Column, v: unknown): string | undefined {
  const nullable = c.notNull ? '' : ' or null';
  if (v === null) return c.notNull ? `a value (${c.name} is NOT NULL)` : undefined;
  if (c.type === 'INTEGER' && !(typeof v === 'number' && Number.isSafeInteger(v))) return `an integer${nullable}`;
  if (c.type === 'REAL' && !(typeof v === 'number' && Number.isFinite(v))) return `a finite number${nullable}`;
  if (c.type === 'TEXT' && typeof v !== 'string') return `text${nullable}`;
  if (c.name.endsWith('_json')) {
    try {
      JSON.parse(v as string);
    } catch {
      return `JSON text${nullable}`;
    }
  }
  return CHECKS[`${table}.${c.name}`]?.(v);
}

/** Throws an OptionError naming the table, row and column of the first value of a wrong type or range. */
export function checkRow(table: Table, columns: Column[], row: Record<string, unknown>, index: number): void {
  for (const c of columns) {
    const why = wrongValue(table, c, row[c.name]);
    if (why) {
      const which =
        typeof row.key === 'string'
          ? `run ${row.key.slice(0, 16)}`
          : typeof row.run_key === 'string'
            ? `run ${row.run_key.slice(0, 16)}`
            : `row ${index + 1}`;
      throw new OptionError(`${table}.${c.name} (${which})`, why, row[c.name]);
    }
  }
}
