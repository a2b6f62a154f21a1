/** Built-in experiment specs, selected by name on the command line (`torchxfer experiment demo`). */
import { demoSpec } from './demo.js';
import { paperSpec } from './paper.js';

export interface PresetOptions {
  /** Dataset roots for the paper preset (else the NIH_ROOT, CHEXPERT_ROOT, MURA_ROOT environment variables). */
  nihRoot?: string;
  chexpertRoot?: string;
  muraRoot?: string;
  /**
   * Published same-anatomy weights for the paper preset (a registry name such as
   * densenet121-res224-chex, or a DenseNet121 weights file): offered in Fig. 6 as one more source.
   */
  sameAnatomyWeights?: string;
}

export const presetNames = ['paper', 'demo'];

/** The raw (unvalidated) spec of a preset. */
export function presetSpec(name: string, opts: PresetOptions, _env: NodeJS.ProcessEnv): unknown {
  return name === 'paper' ? paperSpec(opts) : demoSpec();
}
