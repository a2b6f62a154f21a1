/**
 * What an image may cost, decided from its header before any pixel buffer exists: a few bytes of
 * header can declare 10000 x 10000 (a 705-byte progressive JPEG cost 1 GB to decode) or a 25 x 400000
 * strip that the resize would blow up to a billion pixels. Every decoder (sharp for PNG/JPEG, the DICOM
 * worker) asks checkImageBudget with the declared size and what decoding holds per pixel; decodes of
 * PNG and JPEG also share one process-wide budget (decodeBudget), so concurrent decodes queue rather
 * than add up.
 */
import { DataError } from './errors.js';

/** The most one image's decode may hold at once (estimated from its header): 512 MiB. */
export const DECODE_BUDGET_BYTES = 512 * 2 ** 20;
/** Width over height (or height over width) beyond this is refused: radiographs are at most ~1:4. */
export const MAX_ASPECT_RATIO = 20;

export interface DeclaredImage {
  width: number;
  height: number;
  /** Bytes decoding holds per source pixel (decoded samples, intermediate copies, 8-bit output). */
  bytesPerPixel: number;
  /** Bytes held whatever the size (the file itself, an inflated body). */
  fixedBytes?: number;
}

export interface BudgetLimits {
  maxPixels: number;
  /** The resize target's width (0: no resize). */
  targetWidth: number;
  budgetBytes?: number;
}

/** The estimated bytes of decoding `d` (source and resized image), after checking size, shape and pixel limits. */
export function checkImageBudget(path: string, d: DeclaredImage, limits: BudgetLimits): number {
  const { width: w, height: h } = d;
  if (!(Number.isSafeInteger(w) && Number.isSafeInteger(h) && w > 0 && h > 0))
    throw new DataError(path, `image has no size (${w} x ${h})`);
  if (w * h > limits.maxPixels)
    throw new DataError(
      path,
      `image is ${w} x ${h} = ${w * h} pixels, over the limit of ${limits.maxPixels} (option maxPixels)`,
    );
  const ratio = Math.max(w / h, h / w);
  if (ratio > MAX_ASPECT_RATIO)
    throw new DataError(
      path,
      `image is ${w} x ${h}, an aspect ratio of ${ratio.toFixed(0)}:1, beyond the limit of ${MAX_ASPECT_RATIO}:1`,
    );
  let resizedPixels = 0;
  if (limits.targetWidth > 0 && limits.targetWidth !== w) {
    const resizedHeight = Math.ceil((h * limits.targetWidth) / w);
    resizedPixels = limits.targetWidth * resizedHeight;
    if (resizedPixels > limits.maxPixels) {
      throw new DataError(
        path,
        `image is ${w} x ${h}: resized to width ${limits.targetWidth} it would be ${limits.targetWidth} x ${resizedHeight} = ${resizedPixels} pixels, over the limit of ${limits.maxPixels} (option maxPixels)`,
      );
    }
  }
  const bytes = (d.fixedBytes ?? 0) + w * h * d.bytesPerPixel + 2 * resizedPixels;
  const budget = limits.budgetBytes ?? DECODE_BUDGET_BYTES;
  if (bytes > budget) {
    throw new DataError(
      path,
      `image is ${w} x ${h}: decoding it would hold about ${mib(bytes)} MiB, over the budget of ${mib(budget)} MiB per image`,
    );
  }
  return bytes;
}

const mib = (bytes: number) => Math.ceil(bytes / 2 ** 20);

/** A counting semaphore over bytes: decodes wait while the ones running hold the whole budget. */
class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];
  constructor(private readonly total: number) {}

  /** Runs `fn` once `bytes` fit (at once when nothing else runs: one image may use the whole budget). */
  async with<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    const need = Math.min(bytes, this.total);
    // First come, first served: a newcomer waits behind those already waiting.
    if (this.waiting.length > 0 || (this.used > 0 && this.used + need > this.total))
      await new Promise<void>((go) => this.waiting.push({ bytes: need, go }));
    else this.used += need;
    try {
      return await fn();
    } finally {
      this.used -= need;
      this.wake();
    }
  }

  /** Admits waiters in order while they fit; their bytes are reserved here, before they resume. */
  private wake(): void {
    while (this.waiting.length > 0 && (this.used === 0 || this.used + this.waiting[0]!.bytes <= this.total)) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.go();
    }
  }
}

/** The process-wide budget of concurrent PNG and JPEG decodes. */
export const decodeBudget = new ByteBudget(DECODE_BUDGET_BYTES);
