/** Built-in experiment specs, selected by name on the command line (`torchxfer experiment demo`). */
import { demoSpec } from './demo.js';
import { paperSpec, type PresetOptions } from './paper.js';

export type { PresetOptions } from './paper.js';

export const presetNames = ['paper', 'demo'];

/** The raw (unvalidated) spec of a preset. */
export function presetSpec(name: string, opts: PresetOptions, _env: NodeJS.ProcessEnv): unknown {
  return name === 'paper' ? paperSpec(opts) : demoSpec();
}
