/**
 * Bad input to `torchxfer experiment` (dry runs only: training is not exercised here), `results
 * merge | export`, `report` and `schedule`: every malformed spec, database or option gives a clear error
 * naming the file, key path or option and a non-zero exit code; outputs that could not be made are not
 * left half-written. Never a crash or hang. Needs dist/ (npx tsc).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { cli, expectCleanFailure } from './helpers/bad-input.js';

let dir: string;
const p = (name: string) => join(dir, name);
const file = (name: string, text: string | Buffer) => {
  writeFileSync(p(name), text);
  return p(name);
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'txf-bad-exp-'));
  file('a-file', 'a file, not a directory');
  file('text.db', 'this is not a SQLite database\n'.repeat(200));
  file('empty.db', '');
  // A SQLite header followed by garbage: opens, then fails on the first read.
  file('corrupt.db', Buffer.concat([Buffer.from('SQLite format 3\0'), Buffer.alloc(4080, 0xab)]));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('experiment: bad specs and options (dry runs)', () => {
  const dry = (spec: string, ...extra: string[]) => cli(['experiment', spec, '--dry-run', '--db', p('x.db'), ...extra]);

  it('a missing spec file names it', async () => {
    expectCleanFailure(await dry(p('nope.yaml')), /nope\.yaml/);
  });

  it('malformed JSON names the file', async () => {
    const f = file('broken.json', '{"name": "x", "targets": [');
    expectCleanFailure(await dry(f), f);
  });

  it('malformed YAML names the file and line', async () => {
    const f = file('broken.yaml', 'name: x\ntargets:\n  - name: a\n    data: [unclosed\nnGrid: [1, 2\n');
    expectCleanFailure(await dry(f), f, /line \d/);
  });

  it('a spec that is a list names what was expected', async () => {
    const f = file('list.json', '[1, 2, 3]');
    expectCleanFailure(await dry(f), /Expected an object/);
  });

  it('an unknown key names its path', async () => {
    const f = file('unknown.json', JSON.stringify({ name: 'x', colour: 'blue' }));
    expectCleanFailure(await dry(f), /colour/);
  });

  it('an unknown preset names it', async () => {
    expectCleanFailure(await dry('no-such-preset'), /no-such-preset/);
  });

  it.each([['5/3'], ['abc'], ['1/0'], ['-1/4']])('--shard %s names --shard', async (shard) => {
    expectCleanFailure(await dry('demo', '--shard', shard), /shard/);
  });

  it('the dry run of a bad spec leaves no database behind', () => {
    expect(existsSync(p('x.db'))).toBe(false);
  });
});

describe('results merge and export: databases that are not databases', () => {
  it.each([['text.db'], ['corrupt.db']])('export of %s names the file', async (name) => {
    expectCleanFailure(await cli(['results', 'export', p(name)]), p(name));
  });

  it('export of a missing database names it (and does not create it)', async () => {
    expectCleanFailure(await cli(['results', 'export', p('missing.db')]), p('missing.db'));
    expect(existsSync(p('missing.db'))).toBe(false);
  });

  it('export --format xml names --format', async () => {
    expectCleanFailure(
      await cli(['results', 'export', p('text.db'), '--format', 'xml']),
      /Unknown option: --format \(did you mean --json/,
    );
  });

  it('merge of a corrupt input names it and leaves no output', async () => {
    const out = p('merged.db');
    expectCleanFailure(await cli(['results', 'merge', out, p('text.db')]), p('text.db'));
    expect(readdirSync(dir).filter((f) => f.startsWith('merged'))).toEqual([]);
  });

  it('merge of a missing input names it', async () => {
    expectCleanFailure(await cli(['results', 'merge', p('merged2.db'), p('missing2.db')]), p('missing2.db'));
    expect(existsSync(p('missing2.db'))).toBe(false);
  });
});

describe('report: bad databases and output folders', () => {
  it.each([['text.db'], ['empty.db'], ['corrupt.db'], ['missing.db']])('%s is named', async (name) => {
    expectCleanFailure(await cli(['report', p(name), '--out', p(`report-${name}`)]), p(name));
  });

  it('an output folder under a file is named', async () => {
    const before = readFileSync(p('a-file'), 'utf8');
    expectCleanFailure(await cli(['report', p('text.db'), '--out', join(p('a-file'), 'report')]), /a-file|text\.db/);
    expect(readFileSync(p('a-file'), 'utf8')).toBe(before);
  });
});

describe('schedule: options out of range or of the wrong type name the option', () => {
  it.each([
    [['--iters', '0', '--max-lr', '1e-3'], /iters/],
    [['--iters', '1.5', '--max-lr', '1e-3'], /iters/],
    [['--iters', 'many', '--max-lr', '1e-3'], /iters/],
    [['--iters', '100', '--max-lr', '-1'], /max-lr|maxLr/],
    [['--iters', '100', '--max-lr', 'fast'], /max-lr|maxLr/],
    [['--iters', '100', '--max-lr', '1e-3', '--pct-start', '1.5'], /pct-start|pctStart/],
    [['--iters', '100', '--max-lr', '1e-3', '--div-factor', '0'], /div-factor|divFactor/],
    [['--iters', '100', '--max-lr', '1e-3', '--final-div', '-4'], /final-div|finalDiv/],
    [['--iters', '100', '--max-lr', '1e-3', '--policy', 'triangle'], /policy/],
    [['--iters', '100', '--max-lr', '1e-3', '--strategy', 'freeze-all'], /strategy/],
    [
      ['--iters', '50', '--max-lr', '1e-3', '--policy', 'regular', '--val-losses', '0.9,abc,0.7'],
      /val-losses|valLosses|abc/,
    ],
    [['--iters', '50', '--max-lr', '1e-3', '--policy', 'regular', '--momentum', '2'], /momentum/],
  ])('%j', async (args, why) => {
    expectCleanFailure(await cli(['schedule', '--json', ...args]), why);
  });

  it('--out with an unknown extension names --out and writes nothing', async () => {
    const out = p('plot.gif');
    expectCleanFailure(await cli(['schedule', '--iters', '20', '--max-lr', '1e-3', '--out', out]), /out|\.gif/);
    expect(existsSync(out)).toBe(false);
  });

  it('--out under a file names the path', async () => {
    const out = join(p('a-file'), 'plot.svg');
    expectCleanFailure(await cli(['schedule', '--iters', '20', '--max-lr', '1e-3', '--out', out]), /a-file/);
  });
});
