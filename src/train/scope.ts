/**
 * One owner for the resources of a piece of work (native model, trainer, image cache, a process group):
 * each is registered when acquired and released, newest first, on every path out of the work.
 */
export class Scope {
  readonly #releases: (() => void)[] = [];

  /** Registers `release` to run when the scope closes; returns `value` for chaining. */
  own<T>(value: T, release: (value: T) => void): T {
    this.#releases.push(() => release(value));
    return value;
  }

  /** Runs every release, newest first, even when one throws; returns the errors thrown. */
  close(): unknown[] {
    const errors: unknown[] = [];
    for (let release = this.#releases.pop(); release; release = this.#releases.pop()) {
      try {
        release();
      } catch (err) {
        errors.push(err);
      }
    }
    return errors;
  }
}

/**
 * Runs `body` with a fresh scope and closes it however `body` ends. The body's own error wins over a
 * release's; with no body error, the first release error is thrown.
 */
export async function withScope<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  let result: T;
  try {
    result = await body(scope);
  } catch (err) {
    scope.close();
    throw err;
  }
  const errors = scope.close();
  if (errors.length) throw errors[0];
  return result;
}
