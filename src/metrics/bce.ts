/** Binary cross-entropy helpers (means over the entries), matching torch's definitions. */
import { OptionError } from '../errors.js';
import { isArrayLike } from './auc.js';

export function sigmoid(x: number): number {
  // Two branches keep exp() from overflowing for large |x|.
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** torch.nn.functional.binary_cross_entropy_with_logits, mean reduction (NaN targets masked). */
export function bceWithLogits(logits: ArrayLike<number>, targets: ArrayLike<number>): number {
  check(logits, targets, 'logits');
  let s = 0;
  let n = 0;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    const y = targets[i];
    if (Number.isNaN(y)) continue;
    s += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-Math.abs(x)));
    n++;
  }
  return n ? s / n : NaN;
}

/** torch.nn.functional.binary_cross_entropy on probabilities: log terms clamped at -100 as torch. */
export function bce(probs: ArrayLike<number>, targets: ArrayLike<number>): number {
  check(probs, targets, 'probs');
  let s = 0;
  let n = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    const y = targets[i];
    if (Number.isNaN(y)) continue;
    if (!(p >= 0 && p <= 1)) throw new OptionError(`probs[${i}]`, 'a probability in [0, 1]', p);
    s -= y * Math.max(Math.log(p), -100) + (1 - y) * Math.max(Math.log1p(-p), -100);
    n++;
  }
  return n ? s / n : NaN;
}

function check(a: ArrayLike<number>, t: ArrayLike<number>, name: string): void {
  if (!isArrayLike(a)) throw new OptionError(name, 'an array of numbers', a);
  if (!isArrayLike(t) || t.length !== a.length)
    throw new OptionError('targets', `an array of ${a.length} numbers (as long as ${name})`, t);
}
