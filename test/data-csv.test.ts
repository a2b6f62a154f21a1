// The RFC 4180 reader and writer: quoting, line numbers across quoted newlines, errors naming
// line/column, and what the writer writes reads back unchanged.
import { describe, expect, it } from 'vitest';

import { csvField, formatCsv, parseCsv } from '../src/data/csv.js';

describe('parseCsv', () => {
  it('reads quoted commas, doubled quotes, quoted newlines, CRLF and a BOM, with record line numbers', () => {
    const t = parseCsv('\ufeffa,b,c\r\n1,"x, y",3\r\n"multi\nline","say ""hi""",\r\n\r\nlast,,""\r\n', 'f.csv');
    expect(t.header).toEqual(['a', 'b', 'c']);
    expect(t.rows.map((r) => r.cells)).toEqual([
      ['1', 'x, y', '3'],
      ['multi\nline', 'say "hi"', ''],
      ['last', '', ''],
    ]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3, 6]);
  });

  it('reads a file without a final newline', () => {
    expect(parseCsv('a,b\n1,2', 'f.csv').rows[0].cells).toEqual(['1', '2']);
  });

  it('names file, line and column for malformed input', () => {
    expect(() => parseCsv('a,b\n1,2\n3\n', 'bad.csv')).toThrow(
      'bad.csv: line 3: expected 2 fields (as the header) but found 1',
    );
    expect(() => parseCsv('a,b\n1,2\n"open,2\n4,5\n', 'q.csv')).toThrow(
      'q.csv: line 3, column 1: bad quoting: a quoted field is never closed',
    );
    expect(() => parseCsv('a,b\n1,x"y"\n', 'q.csv')).toThrow(
      'q.csv: line 2, column 2: bad quoting: a quote inside an unquoted field',
    );
    expect(() => parseCsv('a,b\n"1"x,2\n', 'q.csv')).toThrow(
      "q.csv: line 2, column 1: bad quoting: unexpected character 'x' after a closing quote",
    );
    expect(() => parseCsv('', 'empty.csv')).toThrow('empty.csv: empty CSV file (no header)');
    expect(() => parseCsv('\n\n', 'blank.csv')).toThrow('blank.csv: empty CSV file (no header)');
    const t = parseCsv('a,b\n1,2\n', 'h.csv');
    expect(() => t.column('Path')).toThrow("h.csv: line 1, column 'Path': missing column (columns: 'a', 'b')");
  });
});

describe('formatCsv', () => {
  it('quotes commas, quotes, LF and a lone CR, and reads back to the same cells', () => {
    const rows = [
      ['name', 'value', 'note'],
      ['a,b', 'say "hi"', 'two\nlines'],
      ['carriage\rreturn', 1.5, null],
      [' spaced ', undefined, 'crlf\r\nend'],
    ];
    const text = formatCsv(rows);
    expect(csvField('carriage\rreturn')).toBe('"carriage\rreturn"');
    expect(csvField(null)).toBe('');
    const back = parseCsv(text, 'round.csv');
    expect(back.header).toEqual(rows[0]);
    expect(back.rows.map((r) => r.cells)).toEqual(
      rows.slice(1).map((r) => r.map((v) => (v === null || v === undefined ? '' : String(v)))),
    );
  });
});
