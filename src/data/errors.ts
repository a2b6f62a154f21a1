/** Errors of the data pipeline: each names the file (and line/column for tables) it is about. */

/** An image or table that cannot be used; `path` is the file, the message starts with it. */
export class DataError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'DataError';
  }
}

/** A malformed table: the message names file, line (1-based) and column when known. */
export class TableError extends DataError {
  constructor(
    path: string,
    readonly line: number,
    readonly column: string | number | undefined,
    detail: string,
  ) {
    super(
      path,
      `line ${line}${column !== undefined ? `, column ${typeof column === 'number' ? column : `'${column}'`}` : ''}: ${detail}`,
    );
    this.name = 'TableError';
  }
}
