/**
 * The results database (SQLite, WAL): experiments, runs keyed by their deterministic job key, and
 * per-epoch metrics. One writer at a time, enforced by a lock row (pid + host, with a stale check).
 */
import { hostname } from 'node:os';

import Database from 'better-sqlite3';

import { version } from '../version.js';
import { canonicalJson, hashConfig, keyForm, withoutRoots } from './keys.js';
import { oldSpellingNotice, respell, type Respelt } from './spellings.js';
import type { EpochMetrics, ExperimentSpec, RunJob, RunResult } from './types.js';
import { isAlive } from '../lockfile.js';
import { checkInputSchema, checkRow, knownColumns, quoted, selectList, type Table } from './db-input.js';

export type RunStatus = 'pending' | 'running' | 'done' | 'failed';

export interface RunRow {
  key: string;
  experiment: string;
  kind: 'source' | 'target';
  data_name: string;
  n: number | null;
  seed: number;
  arm_json: string;
  config_json: string;
  status: RunStatus;
  attempts: number;
  sample_ids_hash: string | null;
  test_auc: number | null;
  test_auc_tta: number | null;
  per_label_json: string | null;
  val_loss: number | null;
  checkpoint: string | null;
  timings_json: string | null;
  result_json: string | null;
  versions_json: string | null;
  host: string | null;
  pid: number | null;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

/** A run row's stored result (empty until the run is done). */
export function runResult(row: RunRow): Partial<RunResult> {
  return row.result_json ? (JSON.parse(row.result_json) as Partial<RunResult>) : {};
}

export interface EpochRow {
  run_key: string;
  epoch: number;
  train_loss: number | null;
  val_loss: number | null;
  val_auc: number | null;
  lr: number | null;
  metrics_json: string;
}

export interface ExperimentRow {
  name: string;
  spec_json: string;
  spec_hash: string;
  created_at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS writer_lock (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL, heartbeat INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (name TEXT PRIMARY KEY, spec_json TEXT NOT NULL, spec_hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  key TEXT PRIMARY KEY, experiment TEXT NOT NULL, kind TEXT NOT NULL, data_name TEXT NOT NULL, n INTEGER, seed INTEGER NOT NULL,
  arm_json TEXT NOT NULL, config_json TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending','running','done','failed')), attempts INTEGER NOT NULL DEFAULT 0,
  sample_ids_hash TEXT, test_auc REAL, test_auc_tta REAL, per_label_json TEXT, val_loss REAL, checkpoint TEXT,
  timings_json TEXT, result_json TEXT, versions_json TEXT, host TEXT, pid INTEGER, started_at TEXT, finished_at TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS runs_experiment ON runs (experiment, status);
CREATE TABLE IF NOT EXISTS epochs (
  run_key TEXT NOT NULL REFERENCES runs(key) ON DELETE CASCADE, epoch INTEGER NOT NULL,
  train_loss REAL, val_loss REAL, val_auc REAL, lr REAL, metrics_json TEXT NOT NULL, PRIMARY KEY (run_key, epoch));
`;

/**
 * 2: epochs numbered from 1 (epochs.epoch, metrics_json.epoch, result_json.bestEpoch), as on screen, in
 * metrics.json and checkpoints. Schema 1's built-in runner counted from 0: a writable open renumbers
 * those runs (the ones holding an epoch 0) once; a read-only open renumbers what it returns.
 */
export const SCHEMA_VERSION = '2';
/** A lock whose holder on another host has not beaten its heart for this long is stale. */
const STALE_MS = 10 * 60_000;
const HEARTBEAT_MS = 30_000;

/** The schema versions a read-only open accepts (1..SCHEMA_VERSION); a writable open migrates them. */
const READABLE_VERSIONS = Array.from({ length: Number(SCHEMA_VERSION) }, (_, i) => String(i + 1));
/** This torchxfer's columns of `table` (read from the schema it creates: one definition). */
const columnsOf = (table: Table) => knownColumns(table, () => new ResultsDb(':memory:'));

export class DbLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DbLockedError';
  }
}

export class ResultsDb {
  readonly db: Database.Database;
  private heartbeat?: NodeJS.Timeout;
  private locked = false;
  /** Read-only open of a schema 1 database: the runs whose epochs count from 0 (renumbered on read). */
  private zeroBased = new Set<string>();
  /** Read-only (untrusted) open: the known columns each table holds; its rows are checked as read. */
  private input?: Map<Table, Set<string>>;

  /** Opens (creating when missing) the database. `readonly` opens an existing file without locking. */
  constructor(
    readonly path: string,
    opts: { readonly?: boolean } = {},
  ) {
    try {
      this.db = new Database(path, {
        readonly: opts.readonly ?? false,
        fileMustExist: opts.readonly ?? false,
        timeout: 10_000,
      });
    } catch (err) {
      throw new Error(`Cannot open the results database ${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    try {
      if (!opts.readonly) {
        this.db.pragma('journal_mode = WAL');
        // WAL + NORMAL: a killed process loses nothing committed; only a power cut may drop the last commits.
        this.db.pragma('synchronous = NORMAL');
        this.db.pragma('foreign_keys = ON');
        this.db.exec(SCHEMA);
        this.migrate();
      } else {
        this.input = checkInputSchema(this.db, READABLE_VERSIONS, columnsOf);
        if (this.schemaVersion() === '1') this.zeroBased = zeroBasedRuns(this.db);
      }
    } catch (err) {
      this.db.close();
      throw new Error(
        `${path} is not a torchxfer results database: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private schemaVersion(): string | undefined {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      { value: string } | undefined;
    return row?.value;
  }

  /** Brings a database of an older schema up to SCHEMA_VERSION, in one transaction. */
  private migrate(): void {
    const found = this.schemaVersion();
    if (found === SCHEMA_VERSION) return;
    if (found !== undefined && found !== '1')
      throw new Error(
        `its schema version ${found} is newer than this torchxfer's (${SCHEMA_VERSION}); update torchxfer`,
      );
    this.db.transaction(() => {
      if (found === '1') {
        for (const key of zeroBasedRuns(this.db)) {
          const epochs = (this.db.prepare('SELECT * FROM epochs WHERE run_key = ?').all(key) as EpochRow[]).map(
            numberEpochFromOne,
          );
          this.db.prepare('DELETE FROM epochs WHERE run_key = ?').run(key);
          const ins = this.db.prepare(
            'INSERT INTO epochs (run_key, epoch, train_loss, val_loss, val_auc, lr, metrics_json) VALUES (@run_key, @epoch, @train_loss, @val_loss, @val_auc, @lr, @metrics_json)',
          );
          for (const e of epochs) ins.run(e);
          const run = this.db.prepare('SELECT result_json FROM runs WHERE key = ?').get(key) as
            { result_json: string | null } | undefined;
          if (run)
            this.db
              .prepare('UPDATE runs SET result_json = ? WHERE key = ?')
              .run(bestEpochFromOne(run.result_json), key);
        }
      }
      this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run('schema_version', SCHEMA_VERSION);
    })();
  }

  /**
   * Takes the writer lock, or throws DbLockedError naming the holder. A lock held by a dead process on
   * this host, or not refreshed for 10 minutes from another host, is stale and taken over.
   */
  acquireWriter(): void {
    const host = hostname();
    const take = this.db.transaction(() => {
      const row = this.db.prepare('SELECT pid, host, since, heartbeat FROM writer_lock WHERE id = 1').get() as
        { pid: number; host: string; since: string; heartbeat: number } | undefined;
      if (row && !(row.pid === process.pid && row.host === host)) {
        const stale = row.host === host ? !isAlive(row.pid) : Date.now() - row.heartbeat > STALE_MS;
        if (!stale) {
          throw new DbLockedError(
            `The results database ${this.path} is in use by another writer (pid ${row.pid} on ${row.host} since ${row.since}). ` +
              'Use a different --db per concurrent process (e.g. one per shard) and combine them with `torchxfer results merge`.',
          );
        }
      }
      this.db
        .prepare('INSERT OR REPLACE INTO writer_lock (id, pid, host, since, heartbeat) VALUES (1, ?, ?, ?, ?)')
        .run(process.pid, host, new Date().toISOString(), Date.now());
    });
    take.immediate();
    this.locked = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      try {
        this.db.prepare('UPDATE writer_lock SET heartbeat = ? WHERE id = 1 AND pid = ?').run(Date.now(), process.pid);
      } catch {
        // A busy database delays the heartbeat; the next tick retries.
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.locked) {
      this.db.prepare('DELETE FROM writer_lock WHERE id = 1 AND pid = ? AND host = ?').run(process.pid, hostname());
      // Leave one self-contained file (no -wal/-shm) that can be copied and read on shared storage.
      try {
        this.db.pragma('journal_mode = DELETE');
      } catch {
        // Another connection is open: it keeps WAL mode, which is fine.
      }
    }
    this.locked = false;
    this.db.close();
  }

  /**
   * Records the spec. A different spec under the same name is refused unless `allowChange` (e.g. a
   * longer N grid or more seeds): runs are keyed by their own config, so unchanged jobs stay done.
   */
  saveExperiment(spec: ExperimentSpec, allowChange = false): void {
    const specJson = canonicalJson(spec);
    const hash = hashConfig(keyForm(withoutRoots(spec)));
    const row = this.db.prepare('SELECT spec_hash FROM experiments WHERE name = ?').get(spec.name) as
      { spec_hash: string } | undefined;
    if (row && row.spec_hash !== hash && !allowChange) {
      throw new Error(
        `The results database ${this.path} already holds an experiment named '${spec.name}' with a different spec. ` +
          'Pass --allow-spec-change to update it (finished runs of unchanged jobs are kept), rename the experiment (name:) or use another --db.',
      );
    }
    if (!row)
      this.db
        .prepare('INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(spec.name, specJson, hash, new Date().toISOString());
    else if (row.spec_hash !== hash)
      this.db
        .prepare('UPDATE experiments SET spec_json = ?, spec_hash = ? WHERE name = ?')
        .run(specJson, hash, spec.name);
  }

  /** Rows of `table` through its known columns, never `*`; typed and checked when the database is input. */
  private select<T>(table: Table, rest: string, ...params: unknown[]): T[] {
    const columns = columnsOf(table);
    try {
      const rows = this.db
        .prepare(`SELECT ${selectList(table, columns, this.input?.get(table))} ${rest}`)
        .all(...params) as Record<string, unknown>[];
      if (this.input) rows.forEach((r, i) => checkRow(table, columns, r, i));
      return rows as T[];
    } catch (err) {
      // A corrupt page, a value of the wrong type: the message names the file.
      if (!this.input) throw err;
      throw new Error(`${this.path} is not a torchxfer results database: ${(err as Error).message}`);
    }
  }

  /** The experiments, their specs in the train command's spellings (stored ones respelt, with a notice). */
  experiments(): ExperimentRow[] {
    return this.select<ExperimentRow>('experiments', 'ORDER BY name').map((row) => {
      const changed: Respelt[] = [];
      const specJson = respeltJson(row.spec_json, changed);
      if (changed.length === 0) return row;
      const notice = oldSpellingNotice(changed, `the spec of experiment '${row.name}' stored in ${this.path}`)!;
      if (!noticed.has(notice)) console.error(notice);
      noticed.add(notice);
      // The hash stays: it is computed from the old spellings (keyForm), which are the same for both.
      return { ...row, spec_json: specJson };
    });
  }

  run(key: string): RunRow | undefined {
    const row = this.select<RunRow>('runs', 'WHERE key = ?', key)[0];
    return row && this.numbered(row);
  }

  runs(experiment?: string): RunRow[] {
    const rows =
      experiment === undefined
        ? this.select<RunRow>('runs', 'ORDER BY experiment, key')
        : this.select<RunRow>('runs', 'WHERE experiment = ? ORDER BY key', experiment);
    return rows.map((r) => this.numbered(r));
  }

  epochs(key: string): EpochRow[] {
    const rows = this.select<EpochRow>('epochs', 'WHERE run_key = ? ORDER BY epoch', key);
    return this.zeroBased.has(key) ? rows.map(numberEpochFromOne) : rows;
  }

  /**
   * A run row with its best epoch numbered from 1 (read-only schema 1 databases), its arm and config in
   * the train command's spellings (runs stored before are respelt; their keys stay).
   */
  private numbered(row: RunRow): RunRow {
    const out = { ...row, arm_json: respeltJson(row.arm_json), config_json: respeltJson(row.config_json) };
    return this.zeroBased.has(row.key) ? { ...out, result_json: bestEpochFromOne(row.result_json) } : out;
  }

  /** Marks a job running (a fresh attempt): its earlier partial epochs are removed. */
  markRunning(job: RunJob): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM epochs WHERE run_key = ?').run(job.key);
      this.db
        .prepare(
          `INSERT INTO runs (key, experiment, kind, data_name, n, seed, arm_json, config_json, status, attempts, host, pid, started_at)
           VALUES (@key, @experiment, @kind, @data_name, @n, @seed, @arm_json, @config_json, 'running', 1, @host, @pid, @now)
           ON CONFLICT(key) DO UPDATE SET status = 'running', attempts = attempts + 1, host = @host, pid = @pid, started_at = @now,
             finished_at = NULL, error = NULL`,
        )
        .run({
          key: job.key,
          experiment: job.experiment,
          kind: job.kind,
          data_name: job.data.name,
          n: job.n === 'all' ? null : job.n,
          seed: job.seed,
          arm_json: canonicalJson(job.arm),
          config_json: canonicalJson(jobConfig(job)),
          host: hostname(),
          pid: process.pid,
          now,
        });
    })();
  }

  addEpoch(key: string, m: EpochMetrics): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO epochs (run_key, epoch, train_loss, val_loss, val_auc, lr, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(key, m.epoch, num(m.trainLoss), num(m.valLoss), num(m.valAuc), num(m.lr), canonicalJson(m));
  }

  markDone(key: string, r: RunResult): void {
    const { epochs: _epochs, ...rest } = r;
    this.db
      .prepare(
        `UPDATE runs SET status = 'done', sample_ids_hash = ?, test_auc = ?, test_auc_tta = ?, per_label_json = ?, val_loss = ?, checkpoint = ?,
           timings_json = ?, result_json = ?, versions_json = ?, finished_at = ?, error = NULL WHERE key = ?`,
      )
      .run(
        r.sampleIdsHash,
        num(r.testAuc),
        num(r.testAucTta),
        canonicalJson({ auc: r.perLabelAuc ?? null, aucTta: r.perLabelAucTta ?? null }),
        num(r.valLoss),
        r.checkpoint ?? null,
        canonicalJson(r.timings),
        canonicalJson(rest),
        canonicalJson({ torchxfer: version, node: process.version, ...(r.versions ?? {}) }),
        new Date().toISOString(),
        key,
      );
  }

  markFailed(key: string, error: string): void {
    this.db
      .prepare("UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE key = ?")
      .run(error, new Date().toISOString(), key);
  }

  /**
   * Inserts or replaces a whole run with its epochs (used by merge): through this schema's own column
   * list and bound values, whatever columns the row came with.
   */
  putRun(row: RunRow, epochs: EpochRow[]): void {
    const columns = columnsOf('runs').map((c) => c.name);
    const values = columns.map((c) => (row as unknown as Record<string, unknown>)[c] ?? null);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM epochs WHERE run_key = ?').run(row.key);
      this.db
        .prepare(
          `INSERT OR REPLACE INTO runs (${columns.map(quoted).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
        )
        .run(...values);
      const ins = this.db.prepare(
        'INSERT INTO epochs (run_key, epoch, train_loss, val_loss, val_auc, lr, metrics_json) VALUES (@run_key, @epoch, @train_loss, @val_loss, @val_auc, @lr, @metrics_json)',
      );
      for (const e of epochs) ins.run(e);
    })();
  }

  putExperiment(row: ExperimentRow): void {
    const have = this.db.prepare('SELECT spec_hash FROM experiments WHERE name = ?').get(row.name) as
      { spec_hash: string } | undefined;
    if (have && have.spec_hash !== row.spec_hash)
      throw new Error(
        `Experiment '${row.name}' has different specs in the databases being merged; rename one of them.`,
      );
    if (!have)
      this.db
        .prepare(
          'INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (@name, @spec_json, @spec_hash, @created_at)',
        )
        .run(row);
  }
}

/** The config recorded with a run: everything its key is computed from. */
export function jobConfig(job: RunJob): Record<string, unknown> {
  return {
    experiment: job.experiment,
    kind: job.kind,
    data: job.data,
    arm: job.arm,
    n: job.n,
    seed: job.seed,
    dependsOn: job.dependsOn,
    initWeights: job.initWeights,
    lrFrom: job.lrFrom,
  };
}

/** Notices already printed (one per stored spec and database in a process). */
const noticed = new Set<string>();

/**
 * Stored JSON in the train command's spellings, what was respelt added to `changed`; the text unchanged
 * when nothing was old, or when it cannot be read (its readers report what is wrong with it).
 */
function respeltJson(json: string, changed: Respelt[] = []): string {
  try {
    const respelt = respell(JSON.parse(json) as unknown, 'canonical', changed);
    return changed.length === 0 ? json : canonicalJson(respelt);
  } catch {
    changed.length = 0;
    return json;
  }
}

/** Schema 1: the runs whose epochs were numbered from 0 (those holding an epoch 0). */
function zeroBasedRuns(db: Database.Database): Set<string> {
  return new Set(
    (db.prepare('SELECT DISTINCT run_key FROM epochs WHERE epoch = 0').all() as { run_key: string }[]).map(
      (r) => r.run_key,
    ),
  );
}

function numberEpochFromOne(e: EpochRow): EpochRow {
  return {
    ...e,
    epoch: e.epoch + 1,
    metrics_json: canonicalJson({ ...(JSON.parse(e.metrics_json) as object), epoch: e.epoch + 1 }),
  };
}

function bestEpochFromOne(resultJson: string | null): string | null {
  if (!resultJson) return resultJson;
  const r = JSON.parse(resultJson) as { bestEpoch?: unknown };
  return typeof r.bestEpoch === 'number' ? canonicalJson({ ...r, bestEpoch: r.bestEpoch + 1 }) : resultJson;
}

function num(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
