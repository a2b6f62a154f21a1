/**
 * The training options of a command (train, lr-find): the command line on top of --config, and with
 * --resume the saved run's options. The defaults are the library's (resolveTrainConfig), so
 * `torchxfer train` and `train({ out })` start from the same recipe.
 */
import { resolve } from 'node:path';

import { readConfigFile, type TrainConfig } from '../train/config.js';
import { RESUME_FREE_KEYS, ResumeState } from '../train/state.js';
import { RUN_OPTIONS, type OptionList } from './options.js';

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
/** Flags that are not training-config keys. */
const NOT_CONFIG = new Set(['config', 'nproc', 'json', 'num-iter', 'start-lr', 'end-lr']);

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * --resume: the saved run's options, with what the command line (or --config) gives on top. Options that
 * change the result must match the saved ones (listed if not); the others (threads, cache) may change.
 */
function withSavedOptions(
  given: Record<string, unknown>,
  out: string,
  log: (line: string) => void,
): Record<string, unknown> {
  const saved = new ResumeState(resolve(out)).savedConfig();
  if (!saved) return given;
  const free = new Set<string>(RESUME_FREE_KEYS);
  const differ = Object.keys(given).filter(
    (k) =>
      given[k] !== undefined &&
      k in saved &&
      show(given[k]) !== show((saved as unknown as Record<string, unknown>)[k]) &&
      !['out', 'resume'].includes(k),
  );
  const line = (k: string) =>
    `--${kebab(k)} ${show(given[k])} (the run used ${show((saved as unknown as Record<string, unknown>)[k])})`;
  const blocking = differ.filter((k) => !free.has(k));
  if (blocking.length)
    throw new Error(
      `cannot resume ${out} with different options: ${blocking.map(line).join(', ')}. Drop them to continue with the saved options, or start a new run without --resume.`,
    );
  if (differ.length) log(`Resuming with the saved options, except ${differ.map(line).join(', ')}.`);
  else log(`Resuming with the saved options of ${out}.`);
  return { ...saved, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
}

/** Parsed CLI arguments (+ config file) -> TrainConfig input; flags given on the command line win. */
export function configFromArgs(
  args: Record<string, unknown>,
  names: OptionList = RUN_OPTIONS,
  log: (line: string) => void = () => undefined,
): Partial<TrainConfig> & { out: string } {
  const fromFile = typeof args.config === 'string' ? readConfigFile(args.config) : {};
  const fromCli: Record<string, unknown> = {};
  for (const n of names) {
    const name = typeof n === 'string' ? n : n[0];
    if (NOT_CONFIG.has(name)) continue;
    if (args[name] !== undefined) fromCli[camel(name)] = args[name];
  }
  let merged: Record<string, unknown> = { ...fromFile, ...fromCli };
  if (merged.resume === true && typeof merged.out === 'string') merged = withSavedOptions(merged, merged.out, log);
  // No --data: resolveTrainConfig applies the phantom recipe's defaults (PHANTOM_DEFAULTS), as for train({ out }).
  return merged as Partial<TrainConfig> & { out: string };
}
