/**
 * One spelling of every value: a spec is read in the train command's spellings and names (`one-cycle`,
 * `gradual-unfreeze`, `auto`, `options.labels`, `valLimit`...). Specs, and the specs and runs stored in
 * results databases, written before in the old ones (`onecycle`, `gradual`, `find`, `labelsCsv`,
 * `valSize`...) are respelt on reading, each old spelling named in a notice. Run keys and spec hashes are
 * computed from the old spellings (`respell(x, 'legacy')`, used by keyForm), so every key made before
 * stays the same and both spellings of one recipe are one run. The pairs come from the recipe's
 * `legacy` entries (src/train/recipe.ts).
 */
import { OptionError } from '../errors.js';
import { RECIPE, RECIPE_NAMES, type RecipeOption } from '../train/recipe.js';

type Pairs = readonly (readonly [unknown, unknown])[];
type Obj = Record<string, unknown>;

/** Arm field -> its [old, canonical] value pairs. */
const VALUE_PAIRS: Record<string, Pairs> = Object.fromEntries(
  RECIPE_NAMES.flatMap((n) => {
    const o = RECIPE[n] as RecipeOption;
    return o.arm && o.legacy?.values ? [[n, o.legacy.values]] : [];
  }),
);
/** `options` keys: [old, canonical]. */
const KEY_PAIRS: [string, string][] = RECIPE_NAMES.flatMap((n) => {
  const old = (RECIPE[n] as RecipeOption).legacy?.key;
  return old === undefined ? [] : [[old, n] as [string, string]];
});

export type Spelling = 'legacy' | 'canonical';
/** One respelt value or key: where, and from what to what. */
export interface Respelt {
  path: string;
  from: unknown;
  to: unknown;
  key: boolean;
}

const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const join = (path: string, k: string) => (path ? `${path}.${k}` : k);

/** The value `field` takes in the other spelling, or undefined when it has none. */
function swapValue(field: string, v: unknown, to: Spelling, asText = false): unknown {
  for (const [old, canonical] of VALUE_PAIRS[field] ?? []) {
    const [from, into] = to === 'legacy' ? [canonical, old] : [old, canonical];
    if (asText ? String(from) === v : Object.is(from, v)) return asText ? String(into) : into;
  }
  return undefined;
}

function renameKeys(options: Obj, to: Spelling, changed: Respelt[], path: string): Obj {
  const out: Obj = { ...options };
  for (const [old, canonical] of KEY_PAIRS) {
    const [from, into] = to === 'legacy' ? [canonical, old] : [old, canonical];
    if (!(from in out)) continue;
    if (into in out)
      throw new OptionError(join(path, from), `either ${canonical} or its old name ${old}, not both`, out[from]);
    out[into] = out[from];
    delete out[from];
    changed.push({ path: join(path, from), from, to: into, key: true });
  }
  return out;
}

/** A stage's values and winner follow the option it varies. */
function respellStage(k: string, v: unknown, vary: string, to: Spelling, changed: Respelt[], at: string): unknown {
  if (k === 'values' && Array.isArray(v)) {
    return v.map((x, i) => {
      const y = swapValue(vary, x, to);
      if (y === undefined) return x;
      changed.push({ path: `${at}[${i}]`, from: x, to: y, key: false });
      return y;
    });
  }
  if (k === 'winner' && isObject(v)) {
    const out: Obj = { ...v };
    for (const f of ['value', 'simpler']) {
      const y = typeof v[f] === 'string' ? swapValue(vary, v[f], to, true) : undefined;
      if (y === undefined) continue;
      changed.push({ path: join(at, f), from: v[f], to: y, key: false });
      out[f] = y;
    }
    return out;
  }
  return undefined;
}

/**
 * `value` (a spec, raw or validated, a job's config, an arm) in the old or the canonical spellings:
 * arm fields (policy, strategy, maxLr, tta) wherever they are, `options` keys, a stage's values and
 * winner. `changed` collects what was respelt. An `options` object holding a key in both spellings is
 * an error naming it.
 */
export function respell<T>(value: T, to: Spelling, changed: Respelt[] = [], path = ''): T {
  if (Array.isArray(value)) return value.map((v, i) => respell(v, to, changed, `${path}[${i}]`)) as T;
  if (!isObject(value)) return value;
  const vary = typeof value.vary === 'string' && value.vary in VALUE_PAIRS ? value.vary : undefined;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const at = join(path, k);
    const swapped = k in VALUE_PAIRS ? swapValue(k, v, to) : undefined;
    const staged = vary === undefined ? undefined : respellStage(k, v, vary, to, changed, at);
    if (swapped !== undefined) {
      changed.push({ path: at, from: v, to: swapped, key: false });
      out[k] = swapped;
    } else if (staged !== undefined) out[k] = staged;
    else if (k === 'options' && isObject(v)) out[k] = renameKeys(respell(v, to, changed, at), to, changed, at);
    else out[k] = respell(v, to, changed, at);
  }
  return out as T;
}

const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));

/** The notice for old spellings read: each one named, with what it was read as. */
export function oldSpellingNotice(changed: Respelt[], where: string): string | undefined {
  if (changed.length === 0) return undefined;
  const items = changed.map((c) =>
    c.key ? `${c.path} (now ${String(c.to)})` : `${c.path}: ${show(c.from)} (now ${show(c.to)})`,
  );
  const what = `${where} uses old spellings, read as torchxfer train writes them (run keys are unchanged)`;
  return `torchxfer: notice: ${what}: ${items.join(', ')}`;
}
