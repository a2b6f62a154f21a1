#!/usr/bin/env node
// Lists every function in src/ longer than a limit (default 120 lines, from its first token to its
// closing brace; nested functions count in their parent too), longest first. Exit 1 when any is found.
// `npm run lint` runs it; test/function-length.test.ts keeps it true. `--top N` also prints the N longest.
//   node scripts/long-functions.mjs [--max 120] [--top 10]
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

export const MAX_FUNCTION_LINES = 120;

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Every function-like node under `dir` (.ts files), with its name, file, first line and length in lines. */
export function functionLengths(dir = join(root, 'src')) {
  const out = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        out.push({
          name: functionName(node, source),
          file: relative(root, path),
          line: first + 1,
          lines: last - first + 1,
        });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out.sort((a, b) => b.lines - a.lines);
}

/**
 * The name a reader would search for: the declaration's, the variable or property it is assigned to, or the call it is
 * passed to.
 */
function functionName(node, source) {
  if (node.name) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText(source);
  if (ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  return '(anonymous)';
}

export function longFunctions(max = MAX_FUNCTION_LINES, dir) {
  return functionLengths(dir).filter((f) => f.lines > max);
}

const format = (f) => `${String(f.lines).padStart(4)} lines  ${f.file}:${f.line}  ${f.name}`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(process.argv[i + 1]);
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`Expected a positive integer for ${name} but received '${process.argv[i + 1]}'`);
    return v;
  };
  const max = arg('--max', MAX_FUNCTION_LINES);
  const top = arg('--top', 0);
  const all = functionLengths();
  const long = all.filter((f) => f.lines > max);
  if (top > 0) {
    console.log(`The ${top} longest of ${all.length} functions in src/:`);
    for (const f of all.slice(0, top)) console.log(format(f));
  }
  if (long.length > 0) {
    console.error(`${long.length} function(s) in src/ longer than ${max} lines; split them into named steps:`);
    for (const f of long) console.error(format(f));
    process.exit(1);
  }
  console.log(`No function in src/ is longer than ${max} lines (${all.length} functions checked).`);
}
