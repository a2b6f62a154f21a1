/** The yargs CLI. `main(argv)` resolves to the process exit code (never calls process.exit). */
import yargs from 'yargs';

import { commands } from './commands/index.js';
import { flagFor, optionsOfCurrentCommand, parseOptions, RENAMED } from './commands/options.js';
import { describe, OptionError } from './errors.js';
import { version } from './version.js';

/** The closest flag of this command to a mistyped one (edit distance <= 2), or what a renamed flag is now. */
function closestFlag(typed: string): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++)
        d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  let best: [string, number] | undefined;
  for (const name of optionsOfCurrentCommand()) {
    const k = dist(typed, name);
    if (k <= 2 && (!best || k < best[1])) best = [name, k];
  }
  return best ? `${best[0].length > 1 ? '--' : '-'}${best[0]}` : RENAMED[typed];
}

/** yargs' own messages, with the command's help pointed to instead of printed in full. */
const GROUPS = new Set(['data', 'weights', 'results']);

function usageMessage(msg: string, argv: string[]): string {
  const known = commands.some((c) => String(c.command).split(' ')[0] === argv[0]);
  const command = !known
    ? ''
    : (GROUPS.has(argv[0]!) && argv[1] && !argv[1].startsWith('-') ? argv.slice(0, 2) : argv.slice(0, 1)).join(' ');
  const kebab = (s: string) => s.replace(/^-+/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  // yargs names flags without dashes, and twice (kebab and camelCase): once, as typed.
  const flags = (list: string) => [...new Set(list.split(', ').map(kebab))];
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  const missing = /^Missing required arguments?: (.+)$/.exec(msg);
  let text = msg;
  // `--shard -1/4`: yargs reads -1/4 as flags; the value must be attached.
  const dashed = argv.findIndex((a, i) => i > 0 && /^-\d/.test(a) && argv[i - 1]!.startsWith('--'));
  if (unknown && dashed > 0) {
    text = `${argv[dashed]} after ${argv[dashed - 1]} reads as an option; give a value that starts with '-' as ${argv[dashed - 1]}=${argv[dashed]}`;
  } else if (unknown) {
    const names = flags(unknown[1]!);
    const suggestions = names.map((n) => closestFlag(n)).filter(Boolean);
    text = `Unknown ${names.length > 1 ? 'options' : 'option'}: ${names.map((n) => (n.length > 1 ? `--${n}` : `-${n}`)).join(', ')}${suggestions.length ? ` (did you mean ${suggestions.join(', ')}?)` : ''}`;
    const typedAsFlag = (n: string) => argv.some((a) => a.startsWith('-') && kebab(a.replace(/=.*$/, '')) === n);
    if (!names.every(typedAsFlag)) text = `Unknown ${names.length > 1 ? 'arguments' : 'argument'}: ${names.join(', ')}`;
  } else if (missing) {
    text = `Missing required ${missing[1]!.includes(',') ? 'options' : 'option'}: ${flags(missing[1]!)
      .map((n) => (n.length > 1 ? `--${n}` : `-${n}`))
      .join(', ')}`;
  }
  return `torchxfer: ${text}\nSee: torchxfer ${command ? `${command} ` : ''}--help`;
}

/** An option error from the library names its key (maxLr, task[0]); the CLI user typed a flag (--max-lr). */
function messageOf(err: unknown): string {
  if (err instanceof OptionError && !err.option.startsWith('--')) {
    const flag = flagFor(err.option);
    if (flag) return `Expected ${err.expected} for ${flag} but received ${describe(err.received)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A usage error yargs reported (unknown flag, missing argument): stops the command before its handler. */
class UsageError extends Error {}

/** The CLI's parser for `argv`, as `main` runs it. */
function buildParser(argv: string[]) {
  return (
    yargs(argv)
      .scriptName('torchxfer')
      .usage('$0 <command> [options]\n\nTransfer learning for small medical imaging datasets (Romero et al. 2020).')
      .command(commands)
      .demandCommand(1, 'Give a command; see the list above.')
      .strict()
      // Values reach the option table as typed, so errors can quote them.
      .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
      .version(version)
      .help()
      .alias('h', 'help')
      .wrap(Math.min(110, process.stdout.columns || 110))
      .exitProcess(false)
      .fail((msg, err, y) => {
        if (err) throw err;
        if (/^(Not enough non-option arguments|Give a)/.test(msg ?? '')) y.showHelp('error');
        throw new UsageError(usageMessage(msg, argv));
      })
  );
}

export async function main(argv: string[]): Promise<number> {
  const parser = buildParser(argv);
  // A handler may set process.exitCode (train: 130 when interrupted, a worker's code; predict: 1 when
  // nothing could be read): that is the command's exit code.
  const outer = process.exitCode;
  process.exitCode = undefined;
  try {
    await parser.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      return 2;
    }
    console.error(`torchxfer: ${messageOf(err)}`);
    return 1;
  } finally {
    process.exitCode = outer;
  }
}

/** Thrown by parseCommandLine's check, after every value is parsed and before the command's handler. */
class Parsed {
  constructor(readonly args: Record<string, unknown>) {}
}

/**
 * Checks a command line as `main` would run it, without running it: the command, unknown, missing and
 * mistyped options (yargs), then every option's value (the option table). Resolves to the parsed
 * arguments (undefined for --help and --version); rejects with the message `main` would print.
 */
export async function parseCommandLine(argv: string[]): Promise<Record<string, unknown> | undefined> {
  const check = (args: Record<string, unknown>) => {
    throw new Parsed(parseOptions({ ...args }, optionsOfCurrentCommand()));
  };
  try {
    await buildParser(argv).middleware(check, false).parseAsync();
  } catch (err) {
    if (err instanceof Parsed) return err.args;
    throw err instanceof UsageError ? new Error(err.message) : err;
  }
  return undefined;
}
