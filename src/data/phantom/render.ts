/** One planned image -> pixels -> PNG file. Shared by the in-process path and the worker threads. */
import { writeFile } from 'node:fs/promises';

import sharp from 'sharp';

import { renderChest, type ChestImagePlan } from './chest.js';
import { renderMsk, type MskImagePlan } from './msk.js';

export type RenderTask =
  | { kind: 'chest'; seed: number; plan: ChestImagePlan; size: number; path: string }
  | { kind: 'msk'; seed: number; plan: MskImagePlan; path: string };

/** 8-bit grey PNG; the same pixels always give the same bytes. */
export function encodePng(pixels: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 1 },
  })
    .toColourspace('b-w')
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
}

/** Renders a chunk of tasks; encoding and writing of one image overlaps the drawing of the next. */
export async function runTasks(tasks: RenderTask[]): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const t of tasks) {
    const [pixels, w, h] =
      t.kind === 'chest'
        ? [renderChest(t.seed, t.plan, t.size), t.size, t.size]
        : [renderMsk(t.seed, t.plan), t.plan.width, t.plan.height];
    pending.push(encodePng(pixels, w, h).then((png) => writeFile(t.path, png)));
  }
  await Promise.all(pending);
}
