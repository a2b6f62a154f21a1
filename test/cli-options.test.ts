/**
 * The CLI's one vocabulary, checked on what the user sees: every command's --help is read, every flag
 * must be in the option table with its one meaning and type, and every numeric or enum option given a
 * bad value must fail naming the flag as typed and quoting the value.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { main } from '../src/cli.js';
import { OPTIONS, type OptionSpec } from '../src/commands/options.js';

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  out = [];
  err = [];
  const code = await main(args);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

interface HelpOption {
  flag: string;
  text: string;
  required: boolean;
}

/** Option blocks of a --help page: the flag, then its description joined over wrapped lines. */
function parseHelp(help: string): { usage: string; options: HelpOption[]; subcommands: string[] } {
  const lines = help.split('\n');
  const options: HelpOption[] = [];
  const subcommands: string[] = [];
  let section = '';
  for (const line of lines) {
    if (/^\S.*:$/.test(line)) {
      section = line;
      continue;
    }
    if (section === 'Commands:') {
      const m = /^ {2}torchxfer (?:\S+ )*?(\S+)(?= |$)/.exec(line);
      if (m)
        subcommands.push(
          line
            .trim()
            .split(/\s{2,}/)[0]!
            .replace(/^torchxfer /, ''),
        );
      continue;
    }
    if (!/options:$/i.test(section)) continue;
    const m = /^ {2}(?:-(\w), )?\s*(--?[\w-]+)\s{2,}(.*)$/.exec(line) ?? /^ {2}(?:-(\w), )?\s*(--?[\w-]+)$/.exec(line);
    if (m) options.push({ flag: m[2]!.replace(/^-+/, ''), text: m[3] ?? '', required: false });
    else if (options.length && line.trim()) options[options.length - 1]!.text += ` ${line.trim()}`;
  }
  for (const o of options) o.required = /\[required\]/.test(o.text);
  return { usage: lines[0] ?? '', options, subcommands };
}

const squash = (s: string) => s.replace(/\s+/g, '');

/** Every leaf command path, read from the help pages themselves. */
async function leafCommands(): Promise<string[][]> {
  const leaves: string[][] = [];
  const visit = async (path: string[]) => {
    const help = parseHelp((await run([...path, '--help'])).stdout);
    const subs = help.subcommands.map((s) => s.split(' ').filter((w) => !/^[<[]/.test(w)));
    if (subs.length === 0 || (path.length > 0 && subs.every((s) => s.join(' ') === path.join(' ')))) {
      leaves.push(path);
      return;
    }
    for (const s of subs) {
      const next = s.slice(0, path.length + 1);
      if (next.length === path.length + 1 && !leaves.some((l) => l.join(' ') === next.join(' '))) await visit(next);
    }
  };
  await visit([]);
  return leaves;
}

describe('one vocabulary', () => {
  it('every flag of every command is in the option table with its one meaning', async () => {
    const leaves = await leafCommands();
    const names = leaves.map((l) => l.join(' '));
    // The commands users reach first must be among those walked.
    for (const c of [
      'train',
      'eval',
      'predict',
      'lr-find',
      'data inspect',
      'data cache',
      'data synth',
      'experiment',
      'results export',
      'schedule',
    ])
      expect(names).toContain(c);
    const meanings = new Map<string, Map<string, string[]>>();
    const table: string[] = [];
    for (const path of leaves) {
      const { options } = parseHelp((await run([...path, '--help'])).stdout);
      for (const o of options) {
        if (o.flag === 'help' || o.flag === 'version') continue;
        const spec: OptionSpec | undefined = OPTIONS[o.flag];
        expect(
          spec,
          `torchxfer ${path.join(' ')} --${o.flag} is not in the option table (src/commands/options.ts)`,
        ).toBeDefined();
        expect(
          squash(o.text).startsWith(squash(spec!.meaning)),
          `torchxfer ${path.join(' ')} --${o.flag}: help text "${o.text}" is not the table's meaning`,
        ).toBe(true);
        const type =
          spec!.kind === 'boolean'
            ? '[boolean]'
            : spec!.kind === 'string' || spec!.kind === 'list'
              ? '[string]'
              : spec!.kind === 'enum'
                ? ''
                : `[${spec!.kind}`;
        if (type) expect(o.text, `torchxfer ${path.join(' ')} --${o.flag}: type`).toContain(type);
        const seen = meanings.get(o.flag) ?? new Map<string, string[]>();
        const key = `${spec!.kind}: ${spec!.meaning}`;
        seen.set(key, [...(seen.get(key) ?? []), path.join(' ')]);
        meanings.set(o.flag, seen);
        table.push(`${path.join(' ')}\t--${o.flag}\t${spec!.kind}`);
      }
    }
    for (const [flag, seen] of meanings)
      expect(
        [...seen.keys()],
        `--${flag} has more than one meaning: ${JSON.stringify(Object.fromEntries(seen))}`,
      ).toHaveLength(1);
    expect(table.length).toBeGreaterThan(100);
    if (process.env.CLI_OPTIONS_TABLE) console.warn(names.join('; '), table.length);
  });

  it('the flags that used to mean two things mean one now', async () => {
    const help = async (p: string[]) => parseHelp((await run([...p, '--help'])).stdout).options.map((o) => o.flag);
    expect(await help(['predict'])).not.toContain('format');
    expect(await help(['results', 'export'])).not.toContain('format');
    expect(await help(['eval'])).not.toContain('tta-copies');
    expect(await help(['eval'])).not.toContain('split');
    for (const c of [['train'], ['lr-find'], ['eval'], ['data', 'inspect'], ['data', 'cache']]) {
      const flags = await help(c);
      for (const f of ['data', 'format', 'labels', 'positive', 'key', 'path-column', 'uncertainty'])
        expect(flags, `${c.join(' ')} --${f}`).toContain(c[0] === 'eval' && f !== 'data' ? 'data' : f);
    }
  });
});

describe('option errors name the flag as typed and quote the value', () => {
  it('walks every numeric and enum option of every command with a bad value', async () => {
    const leaves = await leafCommands();
    let checked = 0;
    for (const path of leaves) {
      const page = (await run([...path, '--help'])).stdout;
      const { usage, options } = parseHelp(page);
      const positionals = (usage.match(/<[^>]+>/g) ?? []).map(() => 'x');
      const valid = (name: string): string => {
        const s = OPTIONS[name]!;
        if (s.kind === 'enum') return s.choices![0]!;
        if (s.kind === 'integer' || s.kind === 'number') return String(Math.max(s.min ?? 1, 1));
        return 'x';
      };
      const required = options.filter((o) => o.required).map((o) => o.flag);
      for (const o of options) {
        const spec = OPTIONS[o.flag];
        if (!spec || !['integer', 'number', 'enum'].includes(spec.kind)) continue;
        const flag = o.flag.length === 1 ? `-${o.flag}` : `--${o.flag}`;
        const others = required.filter((r) => r !== o.flag).flatMap((r) => [`--${r}`, valid(r)]);
        const r = await run([...path, ...positionals, ...others, flag, 'banana']);
        const where = `torchxfer ${[...path, ...positionals, ...others, flag, 'banana'].join(' ')}`;
        expect(r.code, `${where}: exit code\n${r.stderr}`).toBe(1);
        expect(r.stderr, where).toContain(`for ${flag} but received 'banana'`);
        checked++;
        if (spec.kind === 'integer' || spec.kind === 'number') {
          // Out of range: still the flag and the value as typed.
          const low = String((spec.min ?? 0) - 1000);
          const r2 = await run([...path, ...positionals, ...others, `${flag}=${low}`]);
          expect(r2.code, `${where} (${low})\n${r2.stderr}`).toBe(1);
          expect(r2.stderr, `${where} (${low})`).toContain(`for ${flag} but received '${low}'`);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
  });

  it('a mistyped flag gets the nearest one of the command; a renamed one says what to type now', async () => {
    const r = await run(['train', '--labelz', 'x.csv']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown option: --labelz (did you mean --labels?)');
    expect(r.stderr).toContain('See: torchxfer train --help');
    const p = await run(['predict', 'a.png', '--checkpoint', 'c', '--format', 'json']);
    expect(p.stderr).toContain('did you mean --json');
  });

  it('library option names are shown as the flags the user typed', async () => {
    // --task is checked against the dataset's labels after loading: the library's error names `task`.
    const r = await run(['train', '--config', '/nonexistent/run.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/for --config but received '\/nonexistent\/run.yaml/);
  });
});
