/**
 * A grid of a chest phantom set's own images for reports: one row per finding, of images that carry
 * that finding alone where there are enough (the sign without other findings' clutter), then a row with
 * no finding for comparison. The same set, findings and seed always pick the same images.
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
  /** Each row's label ('No Finding' last), its files, and whether they carry the finding alone. */
  rows: { label: string; files: string[]; alone: boolean }[];
}

export async function phantomExampleGrid(options: ExampleGridOptions): Promise<ExampleGrid> {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an object', options);
  const root = expectString(options.root, 'root');
  if (!Array.isArray(options.findings) || options.findings.length === 0) throw new OptionError('findings', 'a non-empty array of finding names', options.findings);
  const findings = options.findings.map((f: unknown, i: number) => expectOneOf(f, `findings[${i}]`, NIH_FINDINGS));
  const perRow = expectInteger(options.perRow ?? 4, 'perRow', 1, 32);
  const tile = expectInteger(options.tile ?? 96, 'tile', 16, 1024);
  const seed = expectInteger(options.seed ?? 0, 'seed', 0, 2 ** 32 - 1);

  const table = readCsv(join(root, 'Data_Entry_2017.csv'));
  const fileCol = table.column('Image Index');
  const labelCol = table.column('Finding Labels');
  const images = table.rows.map((r) => ({ file: r.cells[fileCol]!, labels: r.cells[labelCol]!.split('|') }));
  const pick = (files: string[], key: number) => shuffled(files, mulberry32(seed ^ key)).slice(0, perRow);

  const rows: ExampleGrid['rows'] = findings.map((f, i) => {
    const alone = images.filter((im) => im.labels.length === 1 && im.labels[0] === f).map((im) => im.file);
    const any = images.filter((im) => im.labels.includes(f)).map((im) => im.file);
    if (any.length === 0) throw new Error(`${root}: no image carries ${f}; a grid row needs at least one`);
    return alone.length >= perRow ? { label: f, files: pick(alone, i + 1), alone: true } : { label: f, files: pick(any, i + 1), alone: false };
  });
  const normal = images.filter((im) => im.labels[0] === 'No Finding').map((im) => im.file);
  if (normal.length > 0) rows.push({ label: 'No Finding', files: pick(normal, 0), alone: true });

  const width = perRow * tile;
  const height = rows.length * tile;
  const tiles = await Promise.all(
    rows.flatMap((row, r) =>
      row.files.map(async (file, c) => ({
        input: await sharp(join(root, 'images', file)).greyscale().resize(tile, tile, { fit: 'fill' }).toBuffer(),
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
  return { png, width, height, rows };
}
