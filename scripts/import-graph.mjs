#!/usr/bin/env node
// Checks the import graph of src/: every relative import (type-only and dynamic ones included) must
// point to the same layer or one below it (LAYERS, lowest first), and no circle of imports may span
// more than two files. Prints the circles and the upward imports; exit 1 when any breaks the rules.
// `npm run lint` runs it.
//   node scripts/import-graph.mjs [--max-circle 2]
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * The layers of src/, lowest first: a module may import its own layer and those below. A name is a
 * top-level file (without .ts) or folder of src/; a folder's files share its layer.
 */
export const LAYERS = [
  ['errors', 'native', 'native-types', 'prebuilds'],
  ['validate', 'version', 'random', 'lockfile', 'fs-atomic', 'progress', 'stats'],
  ['runtime', 'tensor', 'distributed', 'schedule', 'metrics', 'plot'],
  ['weights'],
  ['checkpoint'],
  ['model', 'data'],
  ['radiomics'],
  ['train'],
  ['experiments'],
  ['report'],
  ['commands'],
  ['cli', 'index'],
];

/** The layer of a path relative to src/ (e.g. 'train/run.ts' -> 7); undefined when no layer names it. */
export function layerOf(file) {
  const top = file.split('/')[0].replace(/\.ts$/, '');
  const i = LAYERS.findIndex((names) => names.includes(top));
  return i < 0 ? undefined : i;
}

/** Every relative import in src/: [from, to] as paths relative to src/, with the line of the import. */
export function importEdges(dir = join(root, 'src')) {
  const edges = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const path = join(entry.parentPath, entry.name);
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      const spec = moduleSpecifier(node);
      if (spec?.startsWith('.')) {
        const target = resolveImport(path, spec);
        const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
        edges.push({ from: relative(dir, path), to: relative(dir, target), line });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return edges;
}

/** The module named by an import or export declaration, a dynamic import() or an import('...') type. */
function moduleSpecifier(node) {
  const text = (literal) => (literal && ts.isStringLiteral(literal) ? literal.text : undefined);
  if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return text(node.moduleSpecifier);
  if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) return text(node.arguments[0]);
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) return text(node.argument.literal);
  return undefined;
}

/** './x.js' -> x.ts, './dir' or './dir/index.js' -> dir/index.ts. */
function resolveImport(from, spec) {
  const base = resolve(dirname(from), spec);
  const ts = base.replace(/\.js$/, '.ts');
  if (existsSync(ts) && ts.endsWith('.ts')) return ts;
  if (existsSync(join(base, 'index.ts'))) return join(base, 'index.ts');
  return ts;
}

/** Strongly connected components of more than one file (Tarjan), each sorted, largest first. */
export function circles(edges) {
  const next = new Map();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, new Set());
    next.get(from).add(to);
  }
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let counter = 0;
  const connect = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = [];
    for (let w = stack.pop(); ; w = stack.pop()) {
      onStack.delete(w);
      component.push(w);
      if (w === v) break;
    }
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) connect(v);
  return out.sort((a, b) => b.length - a.length);
}

/** Imports from a lower layer to a higher one, or from or to a file no layer names. */
export function upwardImports(edges) {
  return edges.filter(({ from, to }) => {
    const a = layerOf(from);
    const b = layerOf(to);
    return a === undefined || b === undefined || b > a;
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--max-circle');
  const maxCircle = i < 0 ? 2 : Number(process.argv[i + 1]);
  if (!Number.isInteger(maxCircle) || maxCircle < 1) {
    throw new Error(`Expected a positive integer for --max-circle but received '${process.argv[i + 1]}'`);
  }
  const edges = importEdges();
  const found = circles(edges);
  const upward = upwardImports(edges);
  const layerName = (file) => (layerOf(file) === undefined ? 'no layer' : `layer ${layerOf(file)}`);
  for (const c of found) {
    const inside = new Set(c);
    const links = edges
      .filter((e) => inside.has(e.from) && inside.has(e.to))
      .map((e) => `${e.from}:${e.line} -> ${e.to}`);
    const tag = c.length > maxCircle ? 'circle' : 'circle (allowed)';
    console.log(`${tag} of ${c.length} files: ${c.join(', ')}\n  ${links.join('\n  ')}`);
  }
  for (const e of upward) {
    console.log(`upward import: ${e.from}:${e.line} (${layerName(e.from)}) -> ${e.to} (${layerName(e.to)})`);
  }
  const tooLarge = found.filter((c) => c.length > maxCircle).length;
  const bad = tooLarge + upward.length;
  const summary =
    `${edges.length} imports in src/: ${found.length} circle(s) (${tooLarge} over ${maxCircle} files), ` +
    `${upward.length} upward import(s)`;
  if (bad > 0) {
    console.error(`${summary}. The layers, lowest first, are LAYERS in scripts/import-graph.mjs.`);
    process.exit(1);
  }
  console.log(`${summary}.`);
}
