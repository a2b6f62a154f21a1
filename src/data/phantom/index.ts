/** Synthetic phantom datasets: torchxfer's built-in default data and the tests' fixture source. */
export {
  synthesize,
  PHANTOM_KINDS,
  type PhantomKind,
  type SynthesizeOptions,
  type SynthesizeResult,
} from './synthesize.js';
export {
  ensureDefaultPhantoms,
  defaultCacheDir,
  defaultPhantomsDir,
  DEFAULT_PHANTOMS,
  type DefaultPhantoms,
  type EnsureDefaultOptions,
} from './defaults.js';
export { NIH_FINDINGS, NIH_PREVALENCE, type Finding } from './labels.js';
export { MURA_PARTS, type MuraPart } from './msk.js';
export { PHANTOM_VERSION, SIMULATED_NOTICE, type PhantomManifest } from './writers.js';
export { PHANTOM_DESIGN } from './design.js';
export { phantomExampleGrid, type ExampleGrid, type ExampleGridOptions } from './examples.js';
export { mskExampleGrid, type MskExampleGridOptions } from './examples-msk.js';
