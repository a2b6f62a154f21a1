/** SVG -> PNG through sharp (librsvg renders the SVG, fontconfig finds the fonts). */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import sharp from 'sharp';

import { expectNumber, expectString } from '../validate.js';

/** Renders `svg` to a PNG file at its own pixel size times `scale`; resolves to the PNG's size. */
export async function toPng(
  svg: string,
  path: string,
  opts: { scale?: number } = {},
): Promise<{ width: number; height: number }> {
  expectString(svg, 'svg');
  expectString(path, 'path');
  const scale = opts.scale ?? 1;
  expectNumber(scale, 'scale', 0, 8, { exclusiveMin: true });
  mkdirSync(dirname(path), { recursive: true });
  const info = await sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png()
    .toFile(path);
  return { width: info.width, height: info.height };
}

/**
 * Writes `svg` to `svgPath` and its PNG rendering beside it (same name, .png); resolves to both paths.
 * Each file is written whole under a temporary name, then renamed over the old one: a reader never
 * sees half a figure, and a link already at the path is replaced, never followed.
 */
export async function saveFigure(svg: string, svgPath: string): Promise<{ svg: string; png: string }> {
  expectString(svgPath, 'path');
  const png = svgPath.replace(/(\.svg)?$/i, '.png');
  mkdirSync(dirname(svgPath), { recursive: true });
  const tmp = (path: string) => `${path}.tmp-${process.pid}`;
  writeFileSync(tmp(svgPath), svg);
  renameSync(tmp(svgPath), svgPath);
  try {
    await sharp(Buffer.from(svg), { density: 72 }).flatten({ background: '#ffffff' }).png().toFile(tmp(png));
    renameSync(tmp(png), png);
  } finally {
    rmSync(tmp(png), { force: true });
  }
  return { svg: svgPath, png };
}

/** Writes `svg` to `path` as SVG, or as PNG when the path ends in .png. */
export async function saveChart(svg: string, path: string): Promise<string> {
  expectString(path, 'path');
  if (/\.png$/i.test(path)) await toPng(svg, path);
  else {
    const { writeFile } = await import('node:fs/promises');
    mkdirSync(dirname(path), { recursive: true });
    await writeFile(path, svg);
  }
  return path;
}
