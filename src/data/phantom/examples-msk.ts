/**
 * A grid of a limb phantom set's (MURA layout) own images for reports: a column per body part, a row of
 * normal studies above a row of abnormal ones (a fracture, hardware, a lytic or a sclerotic lesion: the
 * set's labels say abnormal, not which), so each column shows one part without and with a sign. Read
 * through the MURA reader (both splits; images missing on disk are left out); the same set and seed
 * always pick the same images.
 */
import { OptionError } from '../../errors.js';
import { expectString } from '../../validate.js';
import { loadMura } from '../datasets/mura.js';
import { gridOptions, pickFiles, tileRows, type ExampleGrid } from './examples.js';
import { MURA_PARTS, type MuraPart } from './msk.js';

export interface MskExampleGridOptions {
  /** A MURA-layout phantom set: its MURA-v1.1 folder or the folder holding it. */
  root: string;
  /** Tile size in pixels (default 96); each film keeps its aspect, black at the sides. */
  tile?: number;
  seed?: number;
}

/** The rows, top to bottom: a study's MURA label (0 normal, 1 abnormal). */
export const MSK_GRID_ROWS = [
  { label: 'Normal study', abnormal: 0 },
  { label: 'Abnormal study', abnormal: 1 },
] as const;

interface LimbImage {
  /** The path as MURA's image list writes it (MURA-v1.1/train/XR_ELBOW/...). */
  id: string;
  path: string;
  part: MuraPart;
  abnormal: number;
}

function limbImages(root: string): LimbImage[] {
  const out: LimbImage[] = [];
  for (const s of loadMura(root).samples) {
    const part = /\/(XR_[A-Z]+)\//.exec(s.id)?.[1] as MuraPart | undefined;
    if (part && MURA_PARTS.includes(part)) out.push({ id: s.id, path: s.path, part, abnormal: s.targets[0]! });
  }
  return out;
}

export async function mskExampleGrid(options: MskExampleGridOptions): Promise<ExampleGrid> {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an object', options);
  const root = expectString(options.root, 'root');
  const { tile, seed } = gridOptions(options);
  const images = limbImages(root);
  // A column per body part with images of both rows' kinds, in MURA's part order.
  const columns = MURA_PARTS.map((part, p) => ({
    part,
    cells: MSK_GRID_ROWS.map((row, r) => {
      const ids = images.filter((im) => im.part === part && im.abnormal === row.abnormal).map((im) => im.id);
      return pickFiles(ids, 1, seed, 2 * p + r + 1)[0];
    }),
  })).filter((c): c is { part: MuraPart; cells: string[] } => c.cells.every((id) => id !== undefined));
  if (columns.length === 0)
    throw new Error(`${root}: no body part has both a normal and an abnormal study; a limb grid needs one`);

  const rows = MSK_GRID_ROWS.map((row, r) => ({
    label: row.label,
    files: columns.map((c) => c.cells[r]!),
    alone: true,
  }));
  const pathOf = new Map(images.map((im) => [im.id, im.path]));
  const grid = await tileRows(
    rows.map((row) => row.files.map((id) => pathOf.get(id)!)),
    columns.length,
    tile,
  );
  return { ...grid, rows, columns: columns.map((c) => c.part.slice(3).toLowerCase()) };
}
