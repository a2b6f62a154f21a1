/**
 * A job's failure in the words of the spec that made it: the training options it names (a config key
 * such as `crop`, or a CLI flag in advice such as `--init none`) become the spec keys that set them
 * (`options: { crop }` of the target, `train: { source: "none" }` of the source task). Spec users never
 * typed a flag, so an error advising one would send them to the wrong place.
 */
import { OptionError } from '../errors.js';
import { ARM_FIELDS, SPEC_OPTION_KEYS } from '../train/recipe.js';
import type { RunJob } from './types.js';

/**
 * Where a spec sets a training option (a TrainConfig key), by the same name (the recipe's,
 * src/train/recipe.ts): an arm field, a key of a dataset's `options`, or a dataset field.
 */
const ARM_KEYS = new Set<string>([...ARM_FIELDS, 'init']);
const OPTION_KEYS = new Set<string>(SPEC_OPTION_KEYS);
const DATASET_FIELDS: Record<string, string> = { data: 'root', format: 'dataset', task: 'labels' };

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function owner(job: RunJob): string {
  return job.kind === 'source' ? `source '${job.data.name}'` : `target '${job.data.name}'`;
}

/** Where `key` (a TrainConfig key) is set for this job, as a path: "options.crop of target 'x'". */
export function specPathOf(key: string, job: RunJob): string | undefined {
  const where = owner(job);
  if (OPTION_KEYS.has(key)) return `options.${key} of ${where}`;
  if (key in DATASET_FIELDS) return `${DATASET_FIELDS[key]} of ${where}`;
  if (key === 'n') return job.kind === 'source' ? `n of ${where}` : 'nGrid';
  if (key === 'seed') return job.kind === 'source' ? `seed of ${where}` : 'seeds';
  if (ARM_KEYS.has(key)) return job.kind === 'source' ? `train.${key} of ${where}` : `${key} of the arm on ${where}`;
  return undefined;
}

const quote = (v: string) => (/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(v) ? v : JSON.stringify(v));

/** `--init none` -> `train: { source: "none" } (source 'x')`; `--crop 200` -> `options: { crop: 200 } (target 'y')`. */
function setting(flag: string, value: string | undefined, job: RunJob): string | undefined {
  let key = camel(flag);
  let v = value;
  // --init none / imagenet name the arm's source; other inits (moments, a file) its init.
  if (key === 'init' && (v === 'none' || v === 'imagenet')) key = 'source';
  if (key === 'init' && v !== undefined && v !== 'moments') v = 'pretrained';
  const pair = v === undefined ? key : `${key}: ${quote(v)}`;
  if (OPTION_KEYS.has(key)) return `options: { ${pair} } (${owner(job)})`;
  if (ARM_KEYS.has(key) || key === 'source') {
    return job.kind === 'source' ? `train: { ${pair} } (${owner(job)})` : `${pair} in the arm (${owner(job)})`;
  }
  const path = specPathOf(key, job);
  return path === undefined ? undefined : `${path}${v === undefined ? '' : ` (${quote(v)})`}`;
}

/** Flags whose value is a word worth carrying over (enum or number options, and --init's named sources). */
const VALUED =
  /^(init|split|policy|strategy|optimizer|arch|uncertainty|epochs|batch-size|max-lr|tta|seed|crop|image-size)$/;

/** The message with each CLI flag (and its value where it has one) replaced by the spec setting. */
export function inSpecWords(message: string, job: RunJob): string {
  return message.replace(
    /--([a-z][a-z-]*)(?:[ =]([\w.+:-]*\w))?/g,
    (whole, flag: string, value: string | undefined) => {
      const valued =
        value !== undefined && VALUED.test(flag) && (flag !== 'init' || /^(none|imagenet|moments)$/.test(value));
      const replaced = setting(flag, valued ? value : undefined, job);
      if (replaced === undefined) return whole;
      return valued || value === undefined ? replaced : `${replaced} ${value}`;
    },
  );
}

/** The error a spec user reads: option names and advised flags as spec keys; the cause kept. */
export function inSpecTerms(err: unknown, job: RunJob): Error {
  if (err instanceof OptionError) {
    const key = err.option.replace(/^--/, '').replace(/\[\d+\]$/, '');
    const path = specPathOf(camel(key), job);
    if (path !== undefined) {
      const out = new OptionError(path, inSpecWords(err.expected, job), err.received);
      out.stack = err.stack;
      return out;
    }
  }
  if (!(err instanceof Error)) return new Error(inSpecWords(String(err), job));
  const message = inSpecWords(err.message, job);
  if (message === err.message) return err;
  const out = new Error(message, { cause: err });
  out.name = err.name;
  return out;
}
