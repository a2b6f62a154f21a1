/**
 * Images of a dataset known not to decode, remembered per dataset root in the cache folder, so every
 * later run removes them before it samples (docs/protocol.md: files that cannot be read are removed
 * before sampling, never after). An entry is forgotten when its file changes (size or mtime), so a
 * repaired image is used again.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { writeJsonAtomic } from '../fs-atomic.js';

export interface UnreadableFile {
  id: string;
  path: string;
  reason: string;
}

interface Entry extends UnreadableFile {
  size: number;
  mtimeMs: number;
}

/** Entries kept per root: a dataset with more unreadable files than this is broken, not noisy. */
const MAX_ENTRIES = 100_000;

function storePath(cacheDir: string, root: string): string {
  return join(cacheDir, 'unreadable', `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.json`);
}

function stamp(path: string): { size: number; mtimeMs: number } | undefined {
  try {
    const st = statSync(path);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    return undefined;
  }
}

/** The list for one dataset root. The file is ours, but typed on read like anything on disk. */
export class UnreadableList {
  readonly #path: string;
  readonly #entries = new Map<string, Entry>();

  constructor(
    cacheDir: string,
    readonly root: string,
  ) {
    this.#path = storePath(cacheDir, root);
    for (const e of readEntries(this.#path)) {
      const now = stamp(e.path);
      if (now && now.size === e.size && now.mtimeMs === e.mtimeMs) this.#entries.set(e.id, e);
    }
  }

  /** id -> why it does not decode. */
  get reasons(): ReadonlyMap<string, string> {
    return new Map([...this.#entries.values()].map((e) => [e.id, `does not decode: ${e.reason}`]));
  }

  get files(): UnreadableFile[] {
    return [...this.#entries.values()].map(({ id, path, reason }) => ({ id, path, reason }));
  }

  /** Adds files that failed to decode; returns how many were new. */
  add(files: UnreadableFile[]): number {
    let added = 0;
    for (const f of files) {
      const now = stamp(f.path);
      if (this.#entries.has(f.id) || this.#entries.size >= MAX_ENTRIES) continue;
      this.#entries.set(f.id, { ...f, size: now?.size ?? -1, mtimeMs: now?.mtimeMs ?? -1 });
      added++;
    }
    if (added) {
      writeJsonAtomic(this.#path, { root: this.root, files: [...this.#entries.values()] });
    }
    return added;
  }
}

function readEntries(path: string): Entry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
  const files = (parsed as { files?: unknown })?.files;
  if (!Array.isArray(files)) return [];
  return files.slice(0, MAX_ENTRIES).filter((e): e is Entry => {
    const o = e as Record<string, unknown>;
    return (
      typeof o?.id === 'string' &&
      typeof o.path === 'string' &&
      typeof o.reason === 'string' &&
      typeof o.size === 'number' &&
      typeof o.mtimeMs === 'number'
    );
  });
}
