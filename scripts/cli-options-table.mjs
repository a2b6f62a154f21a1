#!/usr/bin/env node
// Prints the CLI's option vocabulary as Markdown, read from every command's --help (run `npm run build:ts`
// first): one table of flags (type, meaning, commands) and one line of flags per command. docs/cli.md holds it.
import { main } from '../dist/cli.js';
import { OPTIONS } from '../dist/commands/options.js';

async function help(path) {
  const lines = [];
  const log = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try {
    await main([...path, '--help']);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

function parse(text) {
  const flags = [];
  const subs = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) section = line;
    else if (section === 'Commands:' && /^ {2}torchxfer /.test(line))
      subs.push(
        line
          .trim()
          .split(/\s{2,}/)[0]
          .replace(/^torchxfer /, '')
          .split(' ')
          .filter((w) => !/^[<[]/.test(w)),
      );
    else if (/options:$/i.test(section)) {
      const m = /^ {2}(?:-\w, )?\s*(--?[\w-]+)/.exec(line);
      if (m) flags.push(m[1].replace(/^-+/, ''));
    }
  }
  return { flags: flags.filter((f) => f !== 'help' && f !== 'version'), subs };
}

const perCommand = [];
async function visit(path) {
  const { flags, subs } = parse(await help(path));
  const children = subs.filter(
    (s) => s.length === path.length + 1 && s.slice(0, path.length).join(' ') === path.join(' '),
  );
  if (path.length && children.length === 0) perCommand.push([path.join(' '), flags]);
  for (const c of children) await visit(c);
}
await visit([]);

const dash = (f) => (f.length === 1 ? `-${f}` : `--${f}`);
const users = new Map();
for (const [cmd, flags] of perCommand) for (const f of flags) users.set(f, [...(users.get(f) ?? []), cmd]);
const out = ['| flag | type | meaning | commands |', '|---|---|---|---|'];
for (const [name, s] of Object.entries(OPTIONS)) {
  if (!users.has(name)) continue;
  const type = s.kind === 'enum' ? s.choices.join(' \\| ') : s.kind;
  out.push(`| \`${dash(name)}\` | ${type} | ${s.meaning.replace(/\|/g, '\\|')} | ${users.get(name).join(', ')} |`);
}
out.push('', '| command | options |', '|---|---|');
for (const [cmd, flags] of perCommand)
  out.push(`| \`${cmd}\` | ${flags.map((f) => `\`${dash(f)}\``).join(' ') || '(none)'} |`);
console.log(out.join('\n'));
