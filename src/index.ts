/** torchxfer: the public library API. */
export { OptionError } from './errors.js';
export { NativeLoadError, native } from './native.js';
export { tensor, toDevice, type Tensor, type TypedArrayLike } from './tensor.js';
export { runtimeInfo, setNumThreads, getNumThreads, resolveDevice, type RuntimeInfo } from './runtime.js';
export { version } from './version.js';
export { synthesize, ensureDefaultPhantoms, DEFAULT_PHANTOMS, NIH_FINDINGS, MURA_PARTS, type SynthesizeOptions, type SynthesizeResult, type DefaultPhantoms } from './data/phantom/index.js';
