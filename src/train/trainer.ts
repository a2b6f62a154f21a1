/**
 * The native training engine: one optimiser step on an augmented batch, evaluation with test-time
 * augmentation, optimiser state for resume. Every option is validated here before reaching native.
 */
import { OptionError } from '../errors.js';
import { DistributedContext } from '../distributed.js';
import { Model, type NativeModel } from '../model.js';
import {
  native,
  type AugmentBatchOptions,
  type AugmentDraws,
  type AugmentOptions,
  type EvaluateBatch,
  type EvaluateResult,
  type ImageShape,
  type NativeTensor,
  type NativeTrainer,
  type StepBatch,
  type StepResult,
  type TrainerOptions,
} from '../native.js';
import { checkNesterov, checkOption, RECIPE } from './recipe.js';
import { expectBoolean, expectDevice, expectInteger, expectNumber, expectOneOf, expectShape } from '../validate.js';

// What crosses the addon is declared in src/native-types.ts; re-exported here, where users look for it.
export type {
  AugmentBatchOptions,
  AugmentDraws,
  AugmentOptions,
  EvaluateBatch,
  EvaluateResult,
  ImageShape,
  StepBatch,
  StepResult,
  TrainerOptions,
} from '../native.js';

const SEED_MAX = Number.MAX_SAFE_INTEGER;

function validateAugment(o: AugmentOptions): void {
  if (o.crop !== undefined) expectInteger(o.crop, 'crop', 1);
  if (o.flipP !== undefined) expectNumber(o.flipP, 'flipP', 0, 1);
  if (o.maxRotation !== undefined) expectNumber(o.maxRotation, 'maxRotation', 0, 180);
  for (const key of ['mean', 'std'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length < 1 || v.length > 3) throw new OptionError(key, 'an array of 1 to 3 numbers', v);
    v.forEach((x, i) =>
      expectNumber(x, `${key}[${i}]`, key === 'std' ? 0 : -1e6, 1e6, { exclusiveMin: key === 'std' }),
    );
  }
}

function validateImages(images: unknown, shape: unknown): ImageShape {
  if (!(images instanceof Uint8Array)) throw new OptionError('images', 'a Uint8Array', images);
  const dims = expectShape(shape, 'shape');
  if (dims.length !== 4) throw new OptionError('shape', 'a shape [n, channels, height, width]', shape);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== images.length)
    throw new OptionError(
      'shape',
      `dimensions whose product is ${images.length}`,
      `[${dims.join(', ')}] (${count} elements)`,
    );
  return dims as ImageShape;
}

function validateTargets(targets: unknown, n: number): void {
  if (!(targets instanceof Float32Array) || targets.length === 0 || targets.length % Math.max(n, 1) !== 0) {
    throw new OptionError('targets', `a Float32Array of n x labels values (n = ${n})`, targets);
  }
}

function validateGroupNumbers(v: unknown, name: string, max: number): void {
  if (!Array.isArray(v) || v.length !== 3)
    throw new OptionError(name, 'an array of 3 numbers (one per layer group)', v);
  v.forEach((x, i) => expectNumber(x, `${name}[${i}]`, 0, max));
}

/** Validated TrainerOptions (throws OptionError naming the option). */
export function validateTrainerOptions(options: TrainerOptions): TrainerOptions {
  if (typeof options !== 'object' || options === null) throw new OptionError('options', 'an object', options);
  const o = options;
  // The options a training config also has are checked by their recipe entries (src/train/recipe.ts).
  for (const name of ['optimizer', 'nesterov', 'weightDecay'] as const) {
    if (o[name] !== undefined) checkOption(name, o[name]);
  }
  checkNesterov(o.nesterov, o.optimizer);
  if (o.beta2 !== undefined) expectNumber(o.beta2, 'beta2', 0, 0.999999999);
  if (o.eps !== undefined) expectNumber(o.eps, 'eps', 0, 1, { exclusiveMin: true });
  validateAugment(o);
  if (o.augment !== undefined) expectBoolean(o.augment, 'augment');
  if (o.seed !== undefined) expectInteger(o.seed, 'seed', 0, SEED_MAX);
  if (o.device !== undefined) expectDevice(o.device);
  if (o.channelsLast !== undefined) expectBoolean(o.channelsLast, 'channelsLast');
  if (o.autocast !== undefined) expectOneOf(o.autocast, 'autocast', ['none', 'bf16', 'fp16'] as const);
  if (o.cudnnBenchmark !== undefined) expectBoolean(o.cudnnBenchmark, 'cudnnBenchmark');
  if (o.batchSlices !== undefined) expectInteger(o.batchSlices, 'batchSlices', 1, 1024);
  return o;
}

/** The native handle behind a JS Model (the addon's Model itself is accepted too). */
function nativeModel(model: Model | NativeModel): NativeModel {
  if (model instanceof Model) return model.handle;
  if (model instanceof native().Model) return model;
  throw new OptionError('model', 'a Model', model);
}

export class Trainer {
  readonly #native: NativeTrainer;

  /** Binds an optimiser and augmentation to `model` (moved to `options.device` if given). */
  constructor(model: Model | NativeModel, options: TrainerOptions = {}) {
    this.#native = new (native().Trainer)(nativeModel(model), validateTrainerOptions(options));
  }

  /** One optimiser step: augment, forward (train mode), masked BCE, backward, update. */
  step(batch: StepBatch): Promise<StepResult> {
    if (typeof batch !== 'object' || batch === null) throw new OptionError('batch', 'an object', batch);
    const shape = validateImages(batch.images, batch.shape);
    validateTargets(batch.targets, shape[0]);
    validateGroupNumbers(batch.lrs, 'lrs', 1e3);
    validateGroupNumbers(batch.momenta, 'momenta', 0.999999999);
    expectInteger(batch.step, 'step', 0, SEED_MAX);
    if (batch.slice !== undefined) {
      if (typeof batch.slice !== 'object' || batch.slice === null)
        throw new OptionError('slice', 'an object {offset, total}', batch.slice);
      expectInteger(batch.slice.total, 'slice.total', shape[0]);
      expectInteger(batch.slice.offset, 'slice.offset', 0, batch.slice.total - shape[0]);
    }
    return this.#native.step(batch);
  }

  /** Probabilities (or logits) in eval mode, without gradients; TTA averages 1 + tta predictions. */
  evaluate(batch: EvaluateBatch): Promise<EvaluateResult> {
    if (typeof batch !== 'object' || batch === null) throw new OptionError('batch', 'an object', batch);
    const shape = validateImages(batch.images, batch.shape);
    if (batch.targets !== undefined) validateTargets(batch.targets, shape[0]);
    if (batch.tta !== undefined) checkOption('tta', batch.tta);
    if (batch.seed !== undefined) expectInteger(batch.seed, 'seed', 0, SEED_MAX);
    if (batch.copy !== undefined) expectInteger(batch.copy, 'copy', 0, RECIPE.tta.max);
    if (batch.alsoPlain !== undefined && typeof batch.alsoPlain !== 'boolean')
      throw new OptionError('alsoPlain', 'a boolean', batch.alsoPlain);
    if (batch.output !== undefined) {
      expectOneOf(batch.output, 'output', ['probabilities', 'logits'] as const);
      if (batch.output === 'logits' && (batch.tta ?? 0) > 0)
        throw new OptionError('output', "'probabilities' when tta > 0", batch.output);
    }
    return this.#native.evaluate(batch);
  }

  /** Per-parameter optimiser state ("<param>.exp_avg", ".exp_avg_sq", ".momentum_buffer", ".step"). */
  optimizerState(): Promise<Record<string, NativeTensor>> {
    return this.#native.optimizerState();
  }

  loadOptimizerState(state: Record<string, NativeTensor>): Promise<void> {
    if (typeof state !== 'object' || state === null) throw new OptionError('state', 'an object of Tensors', state);
    return this.#native.loadOptimizerState(state);
  }

  /**
   * Joins data-parallel training: rank 0's weights and BatchNorm statistics are copied to every rank,
   * and each later step averages the gradients over ranks (every rank must step every global batch).
   */
  attachDistributed(context: DistributedContext): Promise<void> {
    if (!(context instanceof DistributedContext)) throw new OptionError('context', 'a DistributedContext', context);
    return this.#native.attachDistributed(context.handle);
  }

  get disposed(): boolean {
    return this.#native.disposed;
  }

  dispose(): void {
    this.#native.dispose();
  }
}

/** The training augmentation alone: uint8 [n,c,h,w] -> normalised float [n,channels,crop,crop]. */
export function augmentBatch(
  images: Uint8Array,
  shape: ImageShape,
  options: AugmentBatchOptions = {},
  seed = 0,
): Promise<NativeTensor> {
  const [, , height, width] = validateImages(images, shape);
  validateAugment(options);
  const side = Math.min(height, width);
  if (options.crop !== undefined && options.crop > side) {
    throw new OptionError('crop', `an integer between 1 and ${side} (the images are ${height}x${width})`, options.crop);
  }
  if (options.train !== undefined) expectBoolean(options.train, 'train');
  if (options.channels !== undefined && options.channels !== 1 && options.channels !== 3)
    throw new OptionError('channels', '1 or 3', options.channels);
  if (options.device !== undefined) expectDevice(options.device);
  expectInteger(seed, 'seed', 0, SEED_MAX);
  return native().augmentBatch(images, shape, options, seed);
}

/** The per-image random draws augmentBatch makes for the same n, size, options and seed. */
export function augmentDraws(
  n: number,
  height: number,
  width: number,
  options: AugmentOptions = {},
  seed = 0,
): AugmentDraws {
  expectInteger(n, 'n', 0);
  expectInteger(height, 'height', 1);
  expectInteger(width, 'width', 1);
  validateAugment(options);
  expectInteger(seed, 'seed', 0, SEED_MAX);
  return native().augmentDraws(n, height, width, options, seed);
}
