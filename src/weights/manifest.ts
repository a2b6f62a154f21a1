/**
 * The weight registry (weights/manifest.json): named weight sets with their URL, checksum, architecture,
 * labels and preprocessing. Loaded and validated once; tests and users may point at another manifest.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../native.js';

export interface Preprocessing {
  channels: 1 | 3;
  valueRange: [number, number];
  inputSize: number;
  resizeSize?: number;
  mean: number[];
  std: number[];
  note?: string;
}

export interface WeightsEntry {
  name: string;
  architecture: 'densenet121' | 'resnet50';
  url: string;
  /** File name in the cache (default: the URL's last path segment). */
  fileName: string;
  /** Full sha256 (hex) when published. */
  sha256?: string | null;
  /** Only a hex prefix is published (torchvision's file names): only the prefix is verified. */
  sha256Prefix?: string;
  /** "state_dict" or "pickled-module" (a whole pickled nn.Module: its state_dict is read as data, no code runs). */
  container: 'state_dict' | 'pickled-module';
  outputs: number;
  labels?: string[];
  labelSet?: string;
  preprocessing: Preprocessing;
  source?: string;
  trainedOn?: string;
  [note: string]: unknown;
}

export class ManifestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ManifestError';
  }
}

export const defaultManifestPath = (): string => join(packageRoot, 'weights', 'manifest.json');

const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Checks one entry, throwing a ManifestError naming the entry and field. */
export function validateEntry(name: string, raw: unknown, where = 'manifest'): WeightsEntry {
  const bad = (field: string, expected: string): never => {
    throw new ManifestError(`${where}: weights '${name}' has an invalid ${field} (expected ${expected})`);
  };
  if (typeof raw !== 'object' || raw === null) bad('entry', 'an object');
  const e = raw as Record<string, unknown>;
  if (e.architecture !== 'densenet121' && e.architecture !== 'resnet50') bad('architecture', "'densenet121' or 'resnet50'");
  if (typeof e.url !== 'string' || !/^https?:\/\/\S+$/.test(e.url)) bad('url', 'an http(s) URL');
  const fileName = e.fileName ?? new URL(e.url as string).pathname.split('/').pop();
  if (typeof fileName !== 'string' || !/^[\w.+-]+$/.test(fileName)) bad('fileName', 'a plain file name');
  if (e.sha256 !== undefined && e.sha256 !== null && (typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))) bad('sha256', '64 lowercase hex digits or null');
  if (e.sha256Prefix !== undefined && (typeof e.sha256Prefix !== 'string' || !/^[0-9a-f]{6,63}$/.test(e.sha256Prefix))) bad('sha256Prefix', 'lowercase hex digits');
  if (e.container !== 'state_dict' && e.container !== 'pickled-module') bad('container', "'state_dict' or 'pickled-module'");
  if (typeof e.outputs !== 'number' || !Number.isInteger(e.outputs) || e.outputs < 1) bad('outputs', 'a positive integer');
  if (e.labels !== undefined && (!Array.isArray(e.labels) || e.labels.length !== e.outputs || !e.labels.every((l) => typeof l === 'string')))
    bad('labels', `${e.outputs as number} strings, one per output`);
  if (e.labels === undefined && typeof e.labelSet !== 'string') bad('labels', 'labels or a labelSet');
  const p = e.preprocessing as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null) bad('preprocessing', 'an object');
  const pre = p as Record<string, unknown>;
  if (pre.channels !== 1 && pre.channels !== 3) bad('preprocessing.channels', '1 or 3');
  if (!isNumberArray(pre.valueRange) || pre.valueRange.length !== 2 || pre.valueRange[0]! >= pre.valueRange[1]!) bad('preprocessing.valueRange', '[min, max]');
  if (typeof pre.inputSize !== 'number' || !Number.isInteger(pre.inputSize) || pre.inputSize < 1) bad('preprocessing.inputSize', 'a positive integer');
  for (const k of ['mean', 'std'] as const) {
    const v = pre[k];
    if (!isNumberArray(v) || v.length !== pre.channels) bad(`preprocessing.${k}`, `${pre.channels as number} numbers`);
  }
  if (!(pre.std as number[]).every((s) => s > 0)) bad('preprocessing.std', 'positive numbers');
  return { ...(e as object), name, fileName } as WeightsEntry;
}

export interface Manifest {
  path: string;
  entries: Map<string, WeightsEntry>;
}

const cache = new Map<string, Manifest>();

/** Loads and validates a manifest (default: the package's weights/manifest.json). */
export function loadManifest(path = defaultManifestPath()): Manifest {
  const hit = cache.get(path);
  if (hit) return hit;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ManifestError(`${path}: cannot read the weights manifest (${err instanceof Error ? err.message : String(err)})`);
  }
  const weights = (json as { weights?: unknown }).weights;
  if (typeof weights !== 'object' || weights === null) throw new ManifestError(`${path}: no "weights" object`);
  const entries = new Map<string, WeightsEntry>();
  for (const [name, raw] of Object.entries(weights)) entries.set(name, validateEntry(name, raw, path));
  const manifest = { path, entries };
  cache.set(path, manifest);
  return manifest;
}

/** The entry named `name`, or a ManifestError listing the known names. */
export function getWeightsEntry(name: string, manifest: Manifest = loadManifest()): WeightsEntry {
  const e = manifest.entries.get(name);
  if (!e) throw new ManifestError(`unknown weights '${name}'; known: ${[...manifest.entries.keys()].join(', ')}`);
  return e;
}

/**
 * Throws when a data pipeline's preprocessing differs from what the weights expect (SPEC: a mismatch is
 * an error, not a silent default), listing every difference.
 */
export function assertPreprocessingMatches(expected: Preprocessing, actual: Preprocessing, what = 'weights'): void {
  const close = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= 1e-6 * Math.max(1, Math.abs(x)));
  const diffs: string[] = [];
  if (expected.channels !== actual.channels) diffs.push(`channels ${actual.channels} (expected ${expected.channels})`);
  if (expected.inputSize !== actual.inputSize) diffs.push(`inputSize ${actual.inputSize} (expected ${expected.inputSize})`);
  for (const k of ['valueRange', 'mean', 'std'] as const) {
    if (!close(expected[k], actual[k])) diffs.push(`${k} [${actual[k].join(', ')}] (expected [${expected[k].join(', ')}])`);
  }
  if (diffs.length) throw new ManifestError(`preprocessing does not match ${what}: ${diffs.join('; ')}`);
}
