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
  /** With tta > 0: also the centre crop alone (what tta 0 gives), from the same passes. */
  alsoPlain?: boolean;
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
  /** With alsoPlain and tta > 0: the evaluation of the centre crop alone. */
  plain?: RowsEvaluation;
}

/** Accumulates one kind of output (probabilities and the masked mean BCE) batch by batch. */
class Accumulator {
  readonly probabilities: Float32Array;
  #lossSum = 0;
  #lossCount = 0;
  constructor(rows: number, labels: number) {
    this.probabilities = new Float32Array(rows * labels);
  }
  add(offset: number, output: Float32Array, loss: number | undefined, batchTargets: Float32Array | undefined): void {
    this.probabilities.set(output, offset);
    if (batchTargets && loss !== undefined && Number.isFinite(loss)) {
      const unmasked = batchTargets.reduce((a, t) => a + (Number.isNaN(t) ? 0 : 1), 0);
      this.#lossSum += loss * unmasked;
      this.#lossCount += unmasked;
    }
  }
  result(targets: Float32Array | undefined, labels: number): RowsEvaluation {
    const probabilities = this.probabilities;
    // Diverged weights give NaN outputs: no AUC and no loss exist then (the caller stops the run).
    if (probabilities.some((p) => Number.isNaN(p))) return { probabilities, loss: NaN, auc: null };
    const auc = targets ? macroAuc({ data: targets, cols: labels }, { data: probabilities, cols: labels }) : null;
    return { probabilities, loss: this.#lossCount ? this.#lossSum / this.#lossCount : NaN, auc };
  }
}

export async function evaluateRows(
  trainer: Trainer,
  cache: ImageCache,
  rows: number[],
  targets: Float32Array | undefined,
  opts: EvaluateRowsOptions,
): Promise<RowsEvaluation> {
  const { width, height } = cache.geometry;
  const L = opts.labels;
  const alsoPlain = Boolean(opts.alsoPlain) && opts.tta > 0;
  const main = new Accumulator(rows.length, L);
  const plain = alsoPlain ? new Accumulator(rows.length, L) : undefined;
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
    const pending = trainer.evaluate({
      images: cur.images,
      shape: [cur.n, 1, height, width],
      targets: batchTargets,
      tta: opts.tta,
      seed: opts.seed + cur.start,
      alsoPlain: alsoPlain || undefined,
    });
    next = cur.start + cur.n < rows.length ? read(cur.start + cur.n) : undefined;
    const res = await pending;
    main.add(cur.start * L, res.output, res.loss, batchTargets);
    if (plain) plain.add(cur.start * L, res.plain!, res.plainLoss, batchTargets);
    opts.onBatch?.(cur.start + cur.n, rows.length);
  }
  const result = main.result(targets, L);
  return plain ? { ...result, plain: plain.result(targets, L) } : result;
}
