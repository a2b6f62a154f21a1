/**
 * The project's CSV, read and written in one place. The reader (RFC 4180) keeps line numbers, so every
 * table error can name file, line and column; quoted fields may hold commas, doubled quotes and
 * newlines; CRLF and a UTF-8 BOM are accepted. The writer quotes exactly what the reader needs quoted.
 */

import { DataError, TableError } from './errors.js';
import { readRegularFileSync } from './regular-file.js';

export interface CsvRow {
  /** 1-based line where the record starts. */
  line: number;
  cells: string[];
}

export interface ParseOptions {
  /** The first record is a header (default true). */
  header?: boolean;
}

/** A parsed table: header names, records, and lookups that fail naming file/line/column. */
export class CsvTable {
  constructor(
    readonly path: string,
    readonly header: string[],
    readonly rows: CsvRow[],
  ) {}

  /** Index of a header column; a TableError at line 1 when it is missing. */
  column(name: string): number {
    const i = this.header.indexOf(name);
    if (i < 0)
      throw new TableError(
        this.path,
        1,
        name,
        `missing column (columns: ${this.header.map((h) => `'${h}'`).join(', ')})`,
      );
    return i;
  }

  hasColumn(name: string): boolean {
    return this.header.includes(name);
  }

  /** A TableError for a cell. */
  error(row: CsvRow, column: string | number, detail: string): TableError {
    return new TableError(this.path, row.line, column, detail);
  }
}

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/** Parses CSV text; `path` only names the file in errors. */
export function parseCsv(text: string, path: string, opts: ParseOptions = {}): CsvTable {
  const header = opts.header ?? true;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRow[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  // Fields are sliced between delimiters (no per-character concatenation): NIH's 112k rows parse fast.
  while (i < n) {
    const recordLine = line;
    const cells: string[] = [];
    let quotedOnly = false;
    for (;;) {
      let field: string;
      if (text.charCodeAt(i) === QUOTE) {
        const fieldLine = line;
        field = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0)
            throw new TableError(path, fieldLine, cells.length + 1, 'bad quoting: a quoted field is never closed');
          const part = text.slice(j, q);
          for (let k = part.indexOf('\n'); k >= 0; k = part.indexOf('\n', k + 1)) line++;
          field += part;
          if (text.charCodeAt(q + 1) === QUOTE) {
            field += '"';
            j = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        const c = text.charCodeAt(i);
        if (i < n && c !== COMMA && c !== LF && c !== CR) {
          throw new TableError(
            path,
            line,
            cells.length + 1,
            `bad quoting: unexpected character '${text[i]}' after a closing quote`,
          );
        }
        quotedOnly = cells.length === 0;
      } else {
        let j = i;
        for (; j < n; j++) {
          const c = text.charCodeAt(j);
          if (c === COMMA || c === LF || c === CR) break;
          if (c === QUOTE)
            throw new TableError(
              path,
              line,
              cells.length + 1,
              'bad quoting: a quote inside an unquoted field (quote the whole field and double inner quotes)',
            );
        }
        field = text.slice(i, j);
        i = j;
      }
      cells.push(field);
      if (i < n && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      if (i < n) {
        if (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF) i++;
        i++;
        line++;
      }
      break;
    }
    // Blank lines are skipped rather than made into empty records.
    if (!(cells.length === 1 && cells[0] === '' && !quotedOnly)) records.push({ line: recordLine, cells });
  }
  if (records.length === 0) throw new DataError(path, 'empty CSV file (no header)');
  const head = header ? records.shift()!.cells.map((h) => h.trim()) : [];
  const width = header ? head.length : records[0].cells.length;
  // Trailing unnamed header fields (a header ending in a comma, as NIH's) are optional in records.
  let minWidth = width;
  while (header && minWidth > 1 && head[minWidth - 1] === '') minWidth--;
  for (const r of records) {
    if (r.cells.length >= minWidth && r.cells.length < width) while (r.cells.length < width) r.cells.push('');
    if (r.cells.length !== width)
      throw new TableError(
        path,
        r.line,
        undefined,
        `expected ${width} fields${header ? ' (as the header)' : ''} but found ${r.cells.length}`,
      );
  }
  return new CsvTable(path, head, records);
}

/** The largest table read: 256 MiB (CheXpert's, the largest published, is about 30 MB). */
export const MAX_TABLE_BYTES = 256 * 2 ** 20;

/** Reads and parses a CSV file (a regular file within MAX_TABLE_BYTES); a missing file is a DataError naming it. */
export function readCsv(path: string, opts: ParseOptions = {}): CsvTable {
  return parseCsv(readRegularFileSync(path, MAX_TABLE_BYTES).toString('utf8'), path, opts);
}

/** One CSV field: empty for null/undefined; quoted, inner quotes doubled, when it holds a comma, quote, CR or LF. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of values as CSV text, one LF-terminated line per row. */
export function formatCsv(rows: Iterable<readonly unknown[]>): string {
  let text = '';
  for (const row of rows) text += row.map(csvField).join(',') + '\n';
  return text;
}
