/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, native } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export { runtimeInfo, setNumThreads, getNumThreads, resolveDevice, type RuntimeInfo } from './runtime.js';
export { version } from './version.js';
export { loadModel, Model, ARCHS, type Arch, type ModelOptions, type LoadReport, type LayerGroup, type FrozenBatchNormPolicy } from './model.js';
export { Trainer, augmentBatch, augmentDraws, type TrainerOptions, type StepBatch, type StepResult, type EvaluateBatch, type EvaluateResult, type AugmentOptions } from './train/trainer.js';
