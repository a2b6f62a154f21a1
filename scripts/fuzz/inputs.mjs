// Seeds and mutators of the inputs a user receives from others besides weights and DICOM: PNG and JPEG
// images (declared sizes, extreme aspect ratios, progressive JPEG), results databases (SQL in column
// names, views, generated columns, unknown schema versions, values of the wrong type) and experiment
// specs (huge grids and sizes, names that are paths). Used by mutate.mjs (mutators) and run.mjs (seeds).
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

/** Writes the seeds of these formats into `dir` (needs dist/ for the results database). */
export async function writeInputSeeds(dir, distDir) {
  const sharp = require('sharp');
  const grey = Buffer.from(Array.from({ length: 12 * 10 }, (_, i) => (i * 29) & 255));
  await sharp(grey, { raw: { width: 10, height: 12, channels: 1 } })
    .png()
    .toFile(join(dir, 'small.png'));
  const rgb = Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) & 255));
  await sharp(rgb, { raw: { width: 16, height: 16, channels: 3 } })
    .jpeg({ progressive: true, chromaSubsampling: '4:4:4' })
    .toFile(join(dir, 'progressive.jpg'));
  const { ResultsDb } = await import(join(distDir, 'experiments', 'db.js'));
  const { validateSpec } = await import(join(distDir, 'experiments', 'spec.js'));
  const { canonicalJson, hashConfig } = await import(join(distDir, 'experiments', 'keys.js'));
  const spec = {
    name: 'fuzz',
    mode: 'grid',
    nGrid: [50, 100],
    seeds: [0, 1],
    targets: [{ name: 't', dataset: 'nih', root: '/nonexistent', label: 'x' }],
    arms: [
      { name: 'a', policy: 'onecycle' },
      { name: 'b', policy: 'regular' },
    ],
  };
  writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
  const valid = validateSpec(spec, {});
  const path = join(dir, 'results.db');
  new ResultsDb(path).close();
  const Database = require('better-sqlite3');
  const db = new Database(path);
  db.prepare('INSERT INTO experiments (name, spec_json, spec_hash, created_at) VALUES (?, ?, ?, ?)').run(
    'fuzz',
    canonicalJson(valid),
    hashConfig(valid),
    '2026-01-01',
  );
  const key = '0123456789abcdef'.repeat(4);
  db.prepare(
    "INSERT INTO runs (key, experiment, kind, data_name, n, seed, arm_json, config_json, status, attempts, test_auc, result_json) VALUES (?, 'fuzz', 'target', 't', 50, 0, '{}', '{}', 'done', 1, 0.8, '{\"bestEpoch\":2}')",
  ).run(key);
  for (const e of [1, 2])
    db.prepare(
      "INSERT INTO epochs (run_key, epoch, train_loss, val_loss, val_auc, lr, metrics_json) VALUES (?, ?, 0.5, 0.6, 0.7, 0.001, '{}')",
    ).run(key, e);
  db.pragma('journal_mode = DELETE');
  db.close();
}

const chunk = (type, data) => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
};

const SIDES = [1, 25, 250, 10000, 65535, 400000, 0x7fffffff];

export const png = {
  // The IHDR declares another size (its CRC fixed, so only the size lies).
  declaredSize(b, r) {
    if (b.length < 33 || b.subarray(12, 16).toString('latin1') !== 'IHDR') return [b, 'png (no IHDR)'];
    const ihdr = Buffer.from(b.subarray(16, 29));
    const [w, h] = [r.pick(SIDES), r.pick(SIDES)];
    ihdr.writeUInt32BE(w, 0);
    ihdr.writeUInt32BE(h, 4);
    return [Buffer.concat([b.subarray(0, 8), chunk('IHDR', ihdr), b.subarray(33)]), `png declares ${w} x ${h}`];
  },
};

export const jpeg = {
  // The frame header (SOF0/SOF2) declares another size.
  declaredSize(b, r) {
    for (let i = 2; i + 9 < b.length; i++) {
      if (b[i] === 0xff && (b[i + 1] === 0xc0 || b[i + 1] === 0xc2)) {
        const [w, h] = [r.pick(SIDES.filter((s) => s <= 65535)), r.pick(SIDES.filter((s) => s <= 65535))];
        b.writeUInt16BE(h, i + 5);
        b.writeUInt16BE(w, i + 7);
        return [b, `jpeg ${b[i + 1] === 0xc2 ? 'progressive ' : ''}declares ${w} x ${h}`];
      }
    }
    return [b, 'jpeg (no SOF)'];
  },
};

/** A results database changed through SQL: the bytes in, the bytes of the changed database out. */
function alterDb(b, sql, what) {
  const Database = require('better-sqlite3');
  let db;
  try {
    db = new Database(b);
    db.pragma('foreign_keys = OFF');
    db.exec(sql);
    return [db.serialize(), what];
  } catch {
    return [b, `${what} (not applied: the database was already broken)`];
  } finally {
    db?.close();
  }
}

const EVIL = `error) SELECT key, experiment, kind, data_name, n, seed, arm_json, config_json, 'done', attempts, sample_ids_hash, 0.999, 0.999, per_label_json, val_loss, checkpoint, timings_json, result_json, versions_json, host, pid, started_at, finished_at, NULL FROM main.runs /*`;

export const db = {
  sqlColumnName(b) {
    return alterDb(b, `ALTER TABLE runs ADD COLUMN "${EVIL}" TEXT`, 'db: a column name written as SQL');
  },
  view(b, r) {
    const t = r.pick(['runs', 'epochs', 'experiments']);
    return alterDb(
      b,
      `ALTER TABLE ${t} RENAME TO ${t}_data; CREATE VIEW ${t} AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT ${t}_data.* FROM ${t}_data, c LIMIT 100000000`,
      `db: ${t} is a view`,
    );
  },
  generated(b) {
    return alterDb(
      b,
      'ALTER TABLE runs ADD COLUMN g BLOB GENERATED ALWAYS AS (zeroblob(900000000)) VIRTUAL',
      'db: a generated column of 900 MB',
    );
  },
  version(b, r) {
    const v = r.pick(['0', '3', '99', '1e9', '', 'x']);
    return alterDb(b, `UPDATE meta SET value = '${v}' WHERE key = 'schema_version'`, `db: schema version '${v}'`);
  },
  wrongValue(b, r) {
    const [col, v] = r.pick([
      ['n', "'<img src=x onerror=alert(1)>'"],
      ['seed', '-1'],
      ['key', "'/../../../.p'"],
      ['status', "'hacked'"],
      ['test_auc', '1e308'],
      ['result_json', "'{not json'"],
      ['experiment', "'../x'"],
      ['n', "x'7f'"],
    ]);
    return alterDb(b, `UPDATE runs SET ${col} = ${v}`, `db: runs.${col} = ${v}`);
  },
  trigger(b) {
    return alterDb(
      b,
      'CREATE TRIGGER t AFTER INSERT ON epochs BEGIN UPDATE runs SET test_auc = 0.999; END',
      'db: a trigger',
    );
  },
};

const LONG = (n) => Array.from({ length: n }, (_, i) => i + 1);

export const spec = {
  // A JSON spec with one field made hostile: sizes, lengths, names that are paths, wrong types.
  hostileField(b, r) {
    let o;
    try {
      o = JSON.parse(b.toString('utf8'));
    } catch {
      return [b, 'spec (not JSON)'];
    }
    if (typeof o !== 'object' || o === null) return [b, 'spec (not an object)'];
    const [key, value, what] = r.pick([
      ['nGrid', [1e308], 'nGrid [1e308]'],
      ['nGrid', LONG(3000), 'nGrid of 3000 sizes'],
      ['seeds', LONG(5000), '5000 seeds'],
      ['name', '../../escaped', 'name ../../escaped'],
      ['name', '/tmp/absolute', 'an absolute name'],
      ['nGrid', [50, '100'], 'a size as text'],
      ['arms', Array.from({ length: 300 }, (_, i) => ({ name: `a${i}`, epochs: i + 1 })), '300 arms'],
      ['targets', [{ name: '..', dataset: 'nih', label: 'x' }], 'a target named ..'],
      ['seeds', [-1], 'a negative seed'],
    ]);
    o[key] = value;
    return [Buffer.from(JSON.stringify(o)), `spec ${what}`];
  },
};
