/** Option validation in the style "Expected <what> for <name> but received <value>". */
import { OptionError } from './errors.js';

export function expectInteger(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      min > -Infinity && max < Infinity
        ? ` between ${min} and ${max}`
        : min > -Infinity
          ? ` >= ${min}`
          : max < Infinity
            ? ` <= ${max}`
            : '';
    throw new OptionError(name, `an integer${range}`, value);
  }
  return value;
}

export function expectNumber(
  value: unknown,
  name: string,
  min = -Infinity,
  max = Infinity,
  opts: { exclusiveMin?: boolean } = {},
): number {
  const tooLow = typeof value === 'number' && (opts.exclusiveMin ? value <= min : value < min);
  if (typeof value !== 'number' || !Number.isFinite(value) || tooLow || value > max) {
    const lo = min > -Infinity ? `${opts.exclusiveMin ? '>' : '>='} ${min}` : '';
    const hi = max < Infinity ? `<= ${max}` : '';
    const range = [lo, hi].filter(Boolean).join(' and ');
    throw new OptionError(name, `a finite number${range ? ' ' + range : ''}`, value);
  }
  return value;
}

export function expectString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new OptionError(name, 'a non-empty string', value);
  return value;
}

export function expectBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new OptionError(name, 'a boolean', value);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, name: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new OptionError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

export function expectShape(value: unknown, name: string): number[] {
  if (!Array.isArray(value)) throw new OptionError(name, 'an array of non-negative integers', value);
  value.forEach((d, i) => expectInteger(d, `${name}[${i}]`, 0));
  return value as number[];
}

/** Device names accepted everywhere: cpu, cuda, cuda:N, auto. */
export function expectDevice(value: unknown, name = 'device'): string {
  if (typeof value !== 'string' || !/^(cpu|auto|cuda(:\d+)?)$/.test(value))
    throw new OptionError(name, "'cpu', 'cuda', 'cuda:N' or 'auto'", value);
  return value;
}

/**
 * Names that become parts of file and folder names (experiments, datasets, sources): letters, digits,
 * '.', '_' or '-', starting with a letter or digit (so never '..', hidden or absolute), at most 128.
 */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function expectSafeName(value: unknown, name: string): string {
  if (typeof value !== 'string' || !SAFE_NAME.test(value)) {
    throw new OptionError(
      name,
      "a name of at most 128 letters, digits, '.', '_' or '-' starting with a letter or digit",
      value,
    );
  }
  return value;
}
