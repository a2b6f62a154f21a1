/**
 * A small RFC 4180 CSV reader that keeps line numbers, so every table error can name file, line and
 * column. Quoted fields may hold commas, doubled quotes and newlines; CRLF and a UTF-8 BOM are accepted.
 */
import { readFileSync } from 'node:fs';

import { DataError, TableError } from './errors.js';

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
    if (i < 0) throw new TableError(this.path, 1, name, `missing column (columns: ${this.header.map((h) => `'${h}'`).join(', ')})`);
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

/** Parses CSV text; `path` only names the file in errors. */
export function parseCsv(text: string, path: string, opts: ParseOptions = {}): CsvTable {
  const header = opts.header ?? true;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: CsvRow[] = [];
  let cells: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false; // current field started with a quote
  let fieldStarted = false;
  const n = text.length;
  const endRecord = () => {
    cells.push(field);
    // Skip blank lines (a lone empty field) rather than making empty records.
    if (!(cells.length === 1 && cells[0] === '' && !quoted)) records.push({ line: recordLine, cells });
    cells = [];
    field = '';
    quoted = false;
    fieldStarted = false;
  };
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        // Closing quote: only a separator, a line end or the end may follow.
        const next = text[i + 1];
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
          throw new TableError(path, line, cells.length + 1, `bad quoting: unexpected character '${next}' after a closing quote`);
        }
        quoted = false;
        fieldStarted = true;
        i++;
        // Mark that this field was quoted so an empty quoted field is still a field.
        if (next === undefined || next === '\n' || next === '\r') {
          cells.push(field);
          records.push({ line: recordLine, cells });
          cells = [];
          field = '';
          fieldStarted = false;
          if (next === '\r') i++;
          if (text[i] === '\n') i++;
          line++;
          recordLine = line;
        }
        continue;
      }
      if (ch === '\n') line++;
      field += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      if (field.length > 0 || fieldStarted) throw new TableError(path, line, cells.length + 1, 'bad quoting: a quote inside an unquoted field (quote the whole field and double inner quotes)');
      quoted = true;
      i++;
      continue;
    }
    if (ch === ',') {
      cells.push(field);
      field = '';
      fieldStarted = false;
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      endRecord();
      if (ch === '\r' && text[i + 1] === '\n') i++;
      i++;
      line++;
      recordLine = line;
      continue;
    }
    field += ch;
    i++;
  }
  if (quoted) throw new TableError(path, recordLine, cells.length + 1, 'bad quoting: a quoted field is never closed');
  if (field.length > 0 || cells.length > 0 || fieldStarted) endRecord();
  if (records.length === 0) throw new DataError(path, 'empty CSV file (no header)');
  const head = header ? records.shift()!.cells.map((h) => h.trim()) : [];
  const width = header ? head.length : records[0].cells.length;
  // Trailing unnamed header fields (a header ending in a comma, as NIH's) are optional in records.
  let minWidth = width;
  while (header && minWidth > 1 && head[minWidth - 1] === '') minWidth--;
  for (const r of records) {
    if (r.cells.length >= minWidth && r.cells.length < width) while (r.cells.length < width) r.cells.push('');
    if (r.cells.length !== width) throw new TableError(path, r.line, undefined, `expected ${width} fields${header ? ' (as the header)' : ''} but found ${r.cells.length}`);
  }
  return new CsvTable(path, head, records);
}

/** Reads and parses a CSV file; a missing file is a DataError naming it. */
export function readCsv(path: string, opts: ParseOptions = {}): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(err)})`);
  }
  return parseCsv(text, path, opts);
}
