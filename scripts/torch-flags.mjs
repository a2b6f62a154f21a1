#!/usr/bin/env node
// binding.gyp's window onto LibTorch's CMake package, so that the node-gyp build copies no fact by hand.
// It configures the real CMakeLists.txt (the same LibTorch discovery, source globs, C++ standard, Gloo
// and CUDA switches as the cmake-js build; no precompiled header, no benchmark) into build/torch-flags
// and prints, for one of CMakeLists.txt's targets, what CMake computed for it: the source list, the
// compile flags (defines, include directories, -std, TORCH_CXX_FLAGS) from compile_commands.json, or
// the link libraries (with rpath) from the target's link line. binding.gyp expands them with <!@(...).
// Paths inside the package come out relative (sources to the package, include folders to build/).
//   node scripts/torch-flags.mjs <sources|cflags|libraries> <core|addon> [node headers directory]
// One configure serves every call of a node-gyp run: it is redone when CMakeLists.txt, a native source
// folder or the LibTorch variables (LIBTORCH, Torch_DIR, TORCHXFER_PYTHON, TORCHXFER_CMAKE_ARGS) change.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ownCmakeError } from './install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const probeDir = join(root, 'build', 'torch-flags');
const flagsPath = join(probeDir, 'torchxfer-flags.json');
const TARGETS = { core: 'torchxfer_core', addon: 'torchxfer' };
const WHATS = ['sources', 'cflags', 'libraries'];

class FlagsError extends Error {}

/** Splits a command line as a POSIX shell would (quotes and backslashes; no expansions). */
export function shellWords(line) {
  const words = [];
  let word = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new FlagsError(`unbalanced ${c} in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end).replace(c === '"' ? /\\(["\\$`])/g : /$^/g, '$1');
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Quotes a word for gyp's <!@(...), which splits the output with Python's shlex. */
const quote = (w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'"'"'`)}'`);

/** The folders whose contents CMakeLists.txt globs: adding or removing a source changes their mtime. */
function watchedMtime() {
  const paths = [join(root, 'CMakeLists.txt')];
  for (const top of ['native/core', 'native/napi']) {
    paths.push(join(root, top));
    for (const e of readdirSync(join(root, top), { withFileTypes: true }))
      if (e.isDirectory()) paths.push(join(root, top, e.name));
  }
  return Math.max(...paths.map((p) => statSync(p).mtimeMs));
}

function configureKey(nodeInclude) {
  const env = Object.fromEntries(
    ['LIBTORCH', 'Torch_DIR', 'TORCHXFER_PYTHON', 'TORCHXFER_CMAKE_ARGS', 'CXX'].map((k) => [k, process.env[k] ?? '']),
  );
  return JSON.stringify({ nodeInclude, env });
}

function configure(nodeInclude) {
  // From scratch: a CMake cache would keep the LibTorch an earlier configure found (Torch_DIR).
  rmSync(probeDir, { recursive: true, force: true });
  mkdirSync(probeDir, { recursive: true });
  const extra = (process.env.TORCHXFER_CMAKE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const args = [
    '-S',
    root,
    '-B',
    probeDir,
    '-G',
    'Unix Makefiles',
    '-DCMAKE_BUILD_TYPE=Release',
    '-DCMAKE_EXPORT_COMPILE_COMMANDS=ON',
    '-DTORCHXFER_USE_PCH=OFF',
    '-DTORCHXFER_BUILD_BENCH=OFF',
    ...(nodeInclude ? [`-DCMAKE_JS_INC=${nodeInclude}`] : []),
    ...extra,
  ];
  const r = spawnSync('cmake', args, { cwd: root, encoding: 'utf8' });
  if (r.error)
    throw new FlagsError(
      `the node-gyp build asks LibTorch's CMake package for its flags and needs cmake (>= 3.19): ${r.error.message}`,
    );
  const log = `${r.stdout}\n${r.stderr}`;
  writeFileSync(join(probeDir, 'configure.log'), log);
  if (r.status !== 0) {
    throw new FlagsError(
      ownCmakeError(log) ??
        `configuring CMakeLists.txt failed; the log's last lines:\n${log.trimEnd().split('\n').slice(-20).join('\n')}`,
    );
  }
}

/**
 * A path inside the package, alone or after -I, made relative to build/ (where node-gyp's make runs): the
 * build then does not depend on where the package sits, so a moved copy of a build stays current.
 */
function relocatable(word) {
  const [, flag, path] = /^(-I|-isystem|-iquote)?(\/.*)$/.exec(word) ?? [];
  if (!path) return word;
  const inside = relative(root, resolve(path));
  return inside.startsWith('..') ? word : `${flag ?? ''}${relative(join(root, 'build'), join(root, inside)) || '.'}`;
}

/** Sources and compile flags of each CMake target, from compile_commands.json. */
function compileFacts() {
  const commands = JSON.parse(readFileSync(join(probeDir, 'compile_commands.json'), 'utf8'));
  const facts = {};
  for (const entry of commands) {
    const words = entry.arguments ?? shellWords(entry.command);
    const o = words.indexOf('-o');
    const target = /CMakeFiles\/([^/]+)\.dir\//.exec(words[o + 1] ?? '')?.[1];
    if (!target) throw new FlagsError(`no CMake target in the compile command of ${entry.file}`);
    const c = words.indexOf('-c');
    const dropped = new Set([0, o, o + 1, c, c + 1]); // the compiler, -o <object>, -c <source>
    const cflags = words.filter((_, i) => !dropped.has(i)).map(relocatable);
    const fact = (facts[target] ??= { sources: [], cflags });
    if (fact.cflags.join(' ') !== cflags.join(' ')) {
      throw new FlagsError(
        `CMake compiles ${entry.file} with other flags than the rest of ${target}; binding.gyp has one list per target`,
      );
    }
    fact.sources.push(relative(root, resolve(entry.directory, entry.file)));
  }
  return facts;
}

/** The libraries (and rpath) after the object files of a target's link line (Unix Makefiles' link.txt). */
function linkLibraries(target) {
  const words = shellWords(readFileSync(join(probeDir, 'CMakeFiles', `${target}.dir`, 'link.txt'), 'utf8').trim());
  const lastObject = words.findLastIndex((w) => w.endsWith('.o'));
  const own = new Set(Object.values(TARGETS).map((t) => `lib${t}.a`));
  // Consecutive -Wl words are merged (gyp drops repeated entries, such as a second "-Wl,--as-needed").
  return words
    .slice(lastObject + 1)
    .filter((w) => !own.has(w))
    .reduce((out, w) => {
      if (w.startsWith('-Wl,') && out.at(-1)?.startsWith('-Wl,')) out[out.length - 1] += w.slice(3);
      else out.push(w);
      return out;
    }, []);
}

/** Every target's sources, cflags and libraries, configuring first unless build/torch-flags is current. */
export function torchFlags(nodeInclude = '') {
  const key = configureKey(nodeInclude);
  if (existsSync(flagsPath)) {
    const cached = JSON.parse(readFileSync(flagsPath, 'utf8'));
    if (cached.key === key && statSync(flagsPath).mtimeMs >= watchedMtime()) return cached.targets;
  }
  configure(nodeInclude);
  const facts = compileFacts();
  const targets = {};
  for (const [name, target] of Object.entries(TARGETS)) {
    if (!facts[target]) throw new FlagsError(`CMakeLists.txt configured no sources for ${target}`);
    targets[name] = { ...facts[target], libraries: target === TARGETS.addon ? linkLibraries(target) : [] };
  }
  writeFileSync(flagsPath, JSON.stringify({ key, targets }, null, 2));
  return targets;
}

function main([what, target, nodeRoot]) {
  if (!WHATS.includes(what) || !(target in TARGETS)) {
    throw new FlagsError(
      `Expected <${WHATS.join('|')}> <${Object.keys(TARGETS).join('|')}> [node headers directory] but received '${what ?? ''} ${target ?? ''}'`,
    );
  }
  const nodeInclude = nodeRoot ? resolve(nodeRoot, 'include', 'node') : '';
  console.log(torchFlags(nodeInclude)[target][what].map(quote).join(' '));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`torchxfer: ${err instanceof FlagsError ? err.message : (err?.stack ?? String(err))}`);
    process.exit(1);
  }
}
