/**
 * The docs and the CLI agree: every `--help` example, every command line in README.md and docs/*.md
 * (code blocks and inline code), goes through the real parser (yargs, then the option table's value
 * checks) without running anything. Concrete lines must parse; synopses (`DIR`, `[--json]`, `a|b`,
 * `...`) get a sample value per placeholder and may leave required options out, but never name an
 * unknown option or a bad value. A docs line followed by `torchxfer: <error>` must fail with that error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CommandModule } from 'yargs';

import { main, parseCommandLine } from '../src/cli.js';
import { commands } from '../src/commands/index.js';
import { OPTIONS } from '../src/commands/options.js';

interface CommandLine {
  where: string;
  text: string;
  /** A synopsis: placeholders, optional parts or elisions. */
  synopsis: boolean;
  /** The error the docs show it failing with. */
  error?: string;
}

/** Every `.example()` of a command and its subcommands, recorded by running its builder on a stand-in. */
function helpExamples(mod: CommandModule<unknown, unknown>): string[] {
  const out: string[] = [];
  const recorder: unknown = new Proxy(
    {},
    {
      get:
        (_target, prop) =>
        (...args: unknown[]) => {
          if (prop === 'example') out.push(String(args[0]));
          if (prop === 'command')
            for (const c of [args[0]].flat())
              if (c && typeof c === 'object') out.push(...helpExamples(c as CommandModule<unknown, unknown>));
          return recorder;
        },
    },
  );
  if (typeof mod.builder === 'function') (mod.builder as (y: unknown) => unknown)(recorder);
  return out;
}

const SYNOPSIS = /(^|\s)(\.\.\.?|[A-Z][A-Z_]*(\.\.\.)?)(\s|$)|\[|\||<[a-z]|\.\.\./;

/** The torchxfer commands of one shell line (after `&&`, without env assignments, pipes or comments). */
function commandsOf(line: string): string[] {
  const out: string[] = [];
  for (const part of line.replace(/\$\([^)]*\)/g, 'x').split(/&&|;/)) {
    const m = /^\s*((?:\S+\s+)*?)(?:\$0|torchxfer)(\s.*)?$/.exec(part.replace(/\s#\s.*$/, ''));
    // Only where torchxfer is the command: after npx, time, env and VAR=value, not in `npm install torchxfer`.
    if (
      !m ||
      !m[1]!
        .split(/\s+/)
        .filter(Boolean)
        .every((w) => /^(npx|time|env|[A-Z_]+=\S*)$/.test(w))
    )
      continue;
    // "torchxfer results / report" in a listing: two commands; the first is enough to check the name.
    out.push(`torchxfer${(m[2] ?? '').split(/\s+\|\s+|\s+>\s+/)[0]!.replace(/^(\s+\S+)\s+\/\s+\S+/, '$1')}`.trim());
  }
  return out;
}

/** Docs command lines: fenced code blocks (with `\` continuations) and inline code that runs torchxfer. */
function docsLines(file: string): CommandLine[] {
  const text = readFileSync(file, 'utf8');
  const out: CommandLine[] = [];
  const fences = text.split(/^```.*$/m);
  fences.forEach((chunk, i) => {
    if (i % 2 === 1) {
      const lines = chunk.replace(/\\\n\s*/g, ' ').split('\n');
      lines.forEach((raw, k) => {
        // A listing of commands ("torchxfer eval    what it does") keeps the part before the gap.
        const line = raw.replace(/^\$\s+/, '').split(/\s{3,}(?![-\w]*\s*#)/)[0]!;
        const error = /^torchxfer: (.*)$/.exec(lines[k + 1] ?? '')?.[1];
        for (const c of commandsOf(line))
          out.push({
            where: `${file}: ${raw.trim()}`,
            text: c,
            synopsis: SYNOPSIS.test(c) || line !== raw.replace(/^\$\s+/, ''),
            error,
          });
      });
      return;
    }
    for (const m of chunk.matchAll(/`([^`]+)`/g)) {
      const span = m[1]!.replace(/\s+/g, ' ');
      for (const c of commandsOf(span)) out.push({ where: `${file}: \`${span}\``, text: c, synopsis: true });
    }
  });
  return out;
}

/** A sample value for a placeholder, by the option's kind. */
function sample(flag: string | undefined): string {
  const spec = flag ? OPTIONS[flag] : undefined;
  if (!spec) return 'x';
  if (spec.choices) return spec.choices[0]!;
  if (spec.kind === 'integer') return String(Math.max(spec.min ?? 1, 1));
  if (spec.kind === 'number') return String(spec.max !== undefined ? Math.min(spec.max, 0.5) : 0.5);
  return 'x';
}

/** Shell words, brackets of optional parts dropped, placeholders and alternatives given sample values. */
function argvOf(command: string): string[] {
  const words = (command.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((w) => w.replace(/^["']|["']$/g, ''));
  const out: string[] = [];
  for (const raw of words.slice(1)) {
    const w = raw.replace(/^\[|\]$/g, '').replace(/\]$/, '');
    const flag = /^--?([a-z][a-z-]*)$/.exec(out[out.length - 1] ?? '')?.[1];
    const valueOfFlag = flag !== undefined && OPTIONS[flag] !== undefined && OPTIONS[flag]!.kind !== 'boolean';
    if (w === '' || (!valueOfFlag && (w === '...' || w === '..'))) continue;
    const placeholder = /^[A-Z][A-Z_]*(\.\.\.)?$/.test(w) || /^<.*>$/.test(w) || /^\.\.+$/.test(w);
    if (placeholder) out.push(sample(flag));
    else if (w.includes('|') && !w.startsWith('-') && flag) out.push(w.split('|')[0]!);
    else out.push(w);
  }
  return out;
}

/**
 * Parses `line`; a synopsis that leaves out a required option or a positional gets a sample one and is
 * parsed again (yargs reports a missing option before an unknown one), so every flag it names is checked.
 */
async function check(line: CommandLine): Promise<string | undefined> {
  const argv = argvOf(line.text);
  for (let attempt = 0; ; attempt++) {
    try {
      await parseCommandLine(argv);
      return line.error ? `${line.where}: parsed, but the docs show it failing with '${line.error}'` : undefined;
    } catch (err) {
      const message = (err as Error).message.replace(/^torchxfer: /, '').split('\nSee:')[0]!;
      if (line.error)
        return message.includes(line.error)
          ? undefined
          : `${line.where}: fails with '${message}', the docs show '${line.error}'`;
      const missing = /^Missing required options?: (.*)$/.exec(message);
      if (line.synopsis && attempt < 5 && missing) {
        for (const flag of missing[1]!.split(', ')) argv.push(flag, sample(flag.replace(/^-+/, '')));
        continue;
      }
      if (line.synopsis && attempt < 5 && /^Not enough non-option arguments/.test(message)) {
        argv.push('x');
        continue;
      }
      // A group named without its subcommand ("torchxfer data inspect|cache"): nothing more to check.
      if (line.synopsis && /^Give an? /.test(message)) return undefined;
      return `${line.where}: ${message} (argv: ${argv.join(' ')})`;
    }
  }
}

let quiet: ReturnType<typeof vi.spyOn>[] = [];
beforeAll(() => {
  // --help lines print the help; a missing positional prints it to stderr: not this test's output.
  quiet = [
    vi.spyOn(console, 'log').mockImplementation(() => {}),
    vi.spyOn(console, 'error').mockImplementation(() => {}),
  ];
});
afterAll(() => quiet.forEach((s) => s.mockRestore()));

describe('the docs and the help agree with the CLI', () => {
  it("every --help example parses (argument parsing and the option table's value checks)", async () => {
    const examples = commands.flatMap((c) => helpExamples(c));
    expect(examples.length).toBeGreaterThan(25);
    const failures: string[] = [];
    for (const e of examples) {
      for (const text of commandsOf(e)) {
        const failure = await check({ where: `--help example: ${e}`, text, synopsis: false });
        if (failure) failures.push(failure);
      }
    }
    expect(failures).toEqual([]);
  });

  it('every command line in README.md and docs/*.md parses, and the errors the docs show are the ones the CLI gives', async () => {
    const files = [
      'README.md',
      ...readdirSync('docs')
        .filter((f) => f.endsWith('.md'))
        .map((f) => join('docs', f)),
    ];
    const lines = files.flatMap(docsLines);
    expect(lines.filter((l) => !l.synopsis).length).toBeGreaterThan(10);
    expect(lines.some((l) => l.error)).toBe(true);
    const failures: string[] = [];
    for (const line of lines) {
      const failure = await check(line);
      if (failure) failures.push(failure);
    }
    expect(failures).toEqual([]);
  });

  it('the checker catches what it is for: an unknown flag, a bad value, a renamed flag', async () => {
    const concrete = (text: string) => check({ where: 'probe', text, synopsis: true });
    expect(await concrete('torchxfer data synth --kind chest --out o --count 5 --n 5')).toMatch(
      /Unknown option: -n|Unknown option: --n/,
    );
    expect(await concrete('torchxfer train --epochs banana')).toMatch(
      /Expected an integer for --epochs but received 'banana'/,
    );
    expect(await concrete('torchxfer train --format png')).toMatch(/for --format but received 'png'/);
    expect(await concrete('torchxfer data synth --kind chest --out DIR --count K --seed S')).toBeUndefined();
  });

  it('data synth: --seed is optional, default 0, and its help says only that', async () => {
    expect(
      await check({ where: 'probe', text: 'torchxfer data synth --kind chest --out o --count 5', synopsis: false }),
    ).toBeUndefined();
    const printed: string[] = [];
    vi.mocked(console.log).mockImplementation((...a: unknown[]) => void printed.push(a.join(' ')));
    await main(['data', 'synth', '--help']);
    const seed = printed
      .join('\n')
      .split('\n')
      .find((l) => l.includes('--seed'))!;
    expect(seed).toContain('default 0');
    expect(seed).not.toContain('[required]');
  });
});
