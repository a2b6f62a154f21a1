/** Batched evaluation of cache rows: probabilities (optionally with TTA), mean BCE and macro AUC. */
import type { ImageCache } from '../data/cache.js';
import { macroAuc, type MacroAuc } from '../metrics/index.js';
import type { Trainer } from './trainer.js';

export interface EvaluateRowsOptions {
  batchSize: number;
  labels: number;
  /** Augmented copies added to the centre crop (0: none). */
  tta: number;
  seed: number;
  /** Called after each batch with the rows done so far. */
  onBatch?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface RowsEvaluation {
  /** rows x labels probabilities. */
  probabilities: Float32Array;
  /** Mean BCE over unmasked targets (NaN without targets). */
  loss: number;
  auc: MacroAuc | null;
}

export async function evaluateRows(trainer: Trainer, cache: ImageCache, rows: number[], targets: Float32Array | undefined, opts: EvaluateRowsOptions): Promise<RowsEvaluation> {
  const { width, height } = cache.geometry;
  const L = opts.labels;
  const probabilities = new Float32Array(rows.length * L);
  let lossSum = 0;
  let lossCount = 0;
  // Read batch k+1 from the cache while the native side evaluates batch k.
  const read = (start: number) => {
    const batchRows = rows.slice(start, start + opts.batchSize);
    return { start, n: batchRows.length, images: cache.readBatch(batchRows) };
  };
  let next = rows.length ? read(0) : undefined;
  while (next) {
    opts.signal?.throwIfAborted();
    const cur = next;
    const batchTargets = targets?.subarray(cur.start * L, (cur.start + cur.n) * L);
    const pending = trainer.evaluate({ images: cur.images, shape: [cur.n, 1, height, width], targets: batchTargets, tta: opts.tta, seed: opts.seed + cur.start });
    next = cur.start + cur.n < rows.length ? read(cur.start + cur.n) : undefined;
    const res = await pending;
    probabilities.set(res.output, cur.start * L);
    if (batchTargets && res.loss !== undefined && Number.isFinite(res.loss)) {
      const unmasked = batchTargets.reduce((a, t) => a + (Number.isNaN(t) ? 0 : 1), 0);
      lossSum += res.loss * unmasked;
      lossCount += unmasked;
    }
    opts.onBatch?.(cur.start + cur.n, rows.length);
  }
  // Diverged weights give NaN outputs: no AUC and no loss exist then (the caller stops the run).
  if (probabilities.some((p) => Number.isNaN(p))) return { probabilities, loss: NaN, auc: null };
  const auc = targets ? macroAuc({ data: targets, cols: L }, { data: probabilities, cols: L }) : null;
  return { probabilities, loss: lossCount ? lossSum / lossCount : NaN, auc };
}
