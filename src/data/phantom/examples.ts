/**
 * Grids of a phantom set's own images for reports. Chest (NIH layout): one row per finding, of images
 * that carry that finding alone where there are enough (the sign without other findings' clutter),
 * then a row with no finding for comparison. Limbs (MURA layout): examples-msk.ts. Both tile their
 * rows with `tileRows` and pick with `pickFiles`: the same set, rows and seed always give the same images.
 */
import { join } from 'node:path';

import sharp from 'sharp';

import { OptionError } from '../../errors.js';
import { readCsv } from '../csv.js';
import { mulberry32, shuffled } from '../../random.js';
import { expectInteger, expectOneOf, expectString } from '../../validate.js';
import { NIH_FINDINGS, type Finding } from './labels.js';

export interface ExampleGridOptions {
  /** An NIH-layout phantom set (Data_Entry_2017.csv, images/). */
  root: string;
  findings: Finding[];
  /** Images per row (default 4). */
  perRow?: number;
  /** Tile size in pixels (default 96: the demo's input size). */
  tile?: number;
  seed?: number;
}

export interface ExampleGrid {
  /** 8-bit grey PNG, rows top to bottom as in `rows`. */
  png: Buffer;
  width: number;
  height: number;
  /**
   * Each row's label, its files (as the set's own table names them) and whether they show the row's
   * sign alone (chest: 'No Finding' last; limbs: always true).
   */
  rows: { label: string; files: string[]; alone: boolean }[];
  /** Column labels, where the columns have a meaning (limbs: the body part). */
  columns?: string[];
}

/** The options every grid shares: tile side and picking seed (validated, with their defaults). */
export function gridOptions(options: { tile?: number; seed?: number }): { tile: number; seed: number } {
  return {
    tile: expectInteger(options.tile ?? 96, 'tile', 16, 1024),
    seed: expectInteger(options.seed ?? 0, 'seed', 0, 2 ** 32 - 1),
  };
}

/** `count` files drawn from `files` by a stream of (seed, key): one key per row (or cell) of a grid. */
export function pickFiles(files: readonly string[], count: number, seed: number, key: number): string[] {
  return shuffled(files, mulberry32(seed ^ key)).slice(0, count);
}

/**
 * One 8-bit grey PNG of `rows` (image paths), `columns` tiles wide: each image fitted whole into a
 * tile x tile square (centred, black where its aspect leaves room), row r at the top r * tile.
 */
export async function tileRows(
  rows: string[][],
  columns: number,
  tile: number,
): Promise<{ png: Buffer; width: number; height: number }> {
  const width = columns * tile;
  const height = rows.length * tile;
  const tiles = await Promise.all(
    rows.flatMap((paths, r) =>
      paths.map(async (path, c) => ({
        input: await sharp(path)
          .greyscale()
          .resize(tile, tile, { fit: 'contain', background: { r: 0, g: 0, b: 0 } })
          .toBuffer(),
        left: c * tile,
        top: r * tile,
      })),
    ),
  );
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(tiles)
    .toColourspace('b-w')
    .png()
    .toBuffer();
  return { png, width, height };
}

export async function phantomExampleGrid(options: ExampleGridOptions): Promise<ExampleGrid> {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an object', options);
  const root = expectString(options.root, 'root');
  if (!Array.isArray(options.findings) || options.findings.length === 0)
    throw new OptionError('findings', 'a non-empty array of finding names', options.findings);
  const findings = options.findings.map((f: unknown, i: number) => expectOneOf(f, `findings[${i}]`, NIH_FINDINGS));
  const perRow = expectInteger(options.perRow ?? 4, 'perRow', 1, 32);
  const { tile, seed } = gridOptions(options);

  const table = readCsv(join(root, 'Data_Entry_2017.csv'));
  const fileCol = table.column('Image Index');
  const labelCol = table.column('Finding Labels');
  const images = table.rows.map((r) => ({ file: r.cells[fileCol]!, labels: r.cells[labelCol]!.split('|') }));
  const pick = (files: string[], key: number) => pickFiles(files, perRow, seed, key);

  const rows: ExampleGrid['rows'] = findings.map((f, i) => {
    const alone = images.filter((im) => im.labels.length === 1 && im.labels[0] === f).map((im) => im.file);
    const any = images.filter((im) => im.labels.includes(f)).map((im) => im.file);
    if (any.length === 0) throw new Error(`${root}: no image carries ${f}; a grid row needs at least one`);
    return alone.length >= perRow
      ? { label: f, files: pick(alone, i + 1), alone: true }
      : { label: f, files: pick(any, i + 1), alone: false };
  });
  const normal = images.filter((im) => im.labels[0] === 'No Finding').map((im) => im.file);
  if (normal.length > 0) rows.push({ label: 'No Finding', files: pick(normal, 0), alone: true });

  const grid = await tileRows(
    rows.map((row) => row.files.map((file) => join(root, 'images', file))),
    perRow,
    tile,
  );
  return { ...grid, rows };
}
