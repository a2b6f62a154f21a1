/** The layers of src/ hold: no upward import, no circle over two files (scripts/import-graph.mjs). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

// @ts-expect-error: a plain .mjs script without type declarations
import { circles, importEdges, upwardImports } from '../scripts/import-graph.mjs';

interface Edge {
  from: string;
  to: string;
  line: number;
}

const dir = mkdtempSync(join(tmpdir(), 'torchxfer-imports-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
}

describe('import graph', () => {
  it('finds no upward import and no circle of more than two files in src/', () => {
    const edges = importEdges() as Edge[];
    expect(edges.length).toBeGreaterThan(100);
    expect((upwardImports(edges) as Edge[]).map((e) => `${e.from}:${e.line} -> ${e.to}`)).toEqual([]);
    expect((circles(edges) as string[][]).filter((c) => c.length > 2)).toEqual([]);
  });

  it('reports type-only, dynamic and re-export imports that run up the layers, and circles by size', () => {
    write({
      'native.ts': "import type { Model } from './model.js';\nexport type M = Model;\n",
      'model.ts': "export interface Model { x: number }\nexport const load = () => import('./train/run.js');\n",
      'train/run.ts': "export { b } from './b.js';\nimport { load } from '../model.js';\nexport const run = load;\n",
      'train/b.ts': "import { c } from './c.js';\nexport const b = c;\n",
      'train/c.ts': "import { run } from './run.js';\nexport const c = run;\n",
      'data/x.ts': "import { y } from './y.js';\nexport const x = 1 + y;\n",
      'data/y.ts': "import type { x } from './x.js';\nexport const y = 2 as typeof x;\n",
    });
    const edges = importEdges(dir) as Edge[];
    const upward = (upwardImports(edges) as Edge[]).map((e) => `${e.from} -> ${e.to}`).sort();
    expect(upward).toEqual(['model.ts -> train/run.ts', 'native.ts -> model.ts']);
    const found = circles(edges) as string[][];
    expect(found).toEqual([
      ['model.ts', 'train/b.ts', 'train/c.ts', 'train/run.ts'],
      ['data/x.ts', 'data/y.ts'],
    ]);
  });
});
