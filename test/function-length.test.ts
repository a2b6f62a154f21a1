/** Functions fit on a screen: no function in src/ is longer than MAX_FUNCTION_LINES (scripts/long-functions.mjs). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain .mjs script without type declarations
import { MAX_FUNCTION_LINES, functionLengths, longFunctions } from '../scripts/long-functions.mjs';

interface Length {
  name: string;
  file: string;
  line: number;
  lines: number;
}

const dir = mkdtempSync(join(tmpdir(), 'torchxfer-fnlen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('function length', () => {
  it(`finds no function in src/ longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = (longFunctions() as Length[]).map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
    expect(long).toEqual([]);
  });

  it('measures declarations, methods and arrow functions, nested ones included, and names them', () => {
    const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    writeFileSync(
      join(dir, 'sample.ts'),
      [
        `export function longOne(): void {`,
        body(130),
        `}`,
        `class A {`,
        `  method(): void {`,
        body(3),
        `  }`,
        `}`,
        `const arrow = () => {`,
        `  const inner = function () {`,
        body(2),
        `  };`,
        `};`,
        '',
      ].join('\n'),
    );
    const found = functionLengths(dir) as Length[];
    const byName = Object.fromEntries(found.map((f) => [f.name, f]));
    expect(byName.longOne).toMatchObject({ file: expect.stringContaining('sample.ts'), line: 1, lines: 132 });
    expect(byName.method).toMatchObject({ line: 134, lines: 5 });
    expect(byName.arrow).toMatchObject({ lines: 6 });
    expect(byName.inner).toMatchObject({ lines: 4 });
    expect((longFunctions(MAX_FUNCTION_LINES, dir) as Length[]).map((f) => f.name)).toEqual(['longOne']);
  });
});
