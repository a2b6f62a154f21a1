/** Errors raised by torchxfer's TypeScript layer. */

/** An option or argument with a wrong type or value; message: "Expected X for name but received Y". */
export class OptionError extends TypeError {
  constructor(
    readonly option: string,
    readonly expected: string,
    readonly received: unknown,
  ) {
    super(`Expected ${expected} for ${option} but received ${describe(received)}`);
    this.name = 'OptionError';
  }
}

/** A short, human description of any value, for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 80 ? value.slice(0, 77) + '...' : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === 'function') return 'a function';
  return 'an object';
}
