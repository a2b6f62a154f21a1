/** Deterministic run keys and shard assignment. */
import { createHash } from 'node:crypto';

import { respell } from './spellings.js';

/** JSON with object keys sorted at every level, so equal configs give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** sha256 of the canonical JSON, hex. */
export function hashConfig(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** The shard (0..count-1) a key belongs to: its first 48 bits mod count (uniform, stable). */
export function shardOf(key: string, count: number): number {
  return parseInt(key.slice(0, 12), 16) % count;
}

/** Parses "--shard i/n". */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) return { index: -1, count: -1 };
  return { index, count };
}

/**
 * A config with the `root` of every dataset spec removed: where the data sits differs between machines, what it
 * is does not, so keys and spec hashes ignore it (the full config is still recorded).
 */
export function withoutRoots<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutRoots) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const isDataset = 'dataset' in value;
    for (const [k, v] of Object.entries(value)) if (!(isDataset && k === 'root')) out[k] = withoutRoots(v);
    return out as T;
  }
  return value;
}

/**
 * What keys and spec hashes are computed from: the spellings specs used before the recipe schema
 * (`onecycle`, `gradual`, `find`, `labelsCsv`, `valSize`, `testSize`, `negativeFor`, and `tta` as the
 * boolean it was: 4 copies hashed as true, 0 as false). Every run key and spec hash made before stays
 * the same, and a recipe written in either spelling is one run (src/experiments/spellings.ts).
 */
export function keyForm<T>(value: T): T {
  return respell(value, 'legacy');
}
