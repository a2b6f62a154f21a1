#!/usr/bin/env node
// Shared build facts for binding.gyp (node-gyp): the source globs of native/sources.json (which
// CMakeLists.txt expands too) and LibTorch's include/library flags, discovered in the same order as
// CMakeLists.txt: $LIBTORCH or $Torch_DIR, then the Python torch install, then the system.
//   node scripts/native-config.mjs sources core addon   -> space-separated source files
//   node scripts/native-config.mjs torch-includes        -> include directories
//   node scripts/native-config.mjs torch-libs            -> linker flags
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function globOne(pattern) {
  // Patterns are "dir/*.ext" (the only form sources.json uses).
  const dir = join(root, dirname(pattern));
  const [prefix, suffix] = pattern.split('/').pop().split('*');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(suffix))
    .sort()
    .map((f) => relative(root, join(dir, f)));
}

export function sources(keys) {
  const spec = JSON.parse(readFileSync(join(root, 'native', 'sources.json'), 'utf8'));
  return keys.flatMap((k) => (spec[k] ?? []).flatMap(globOne));
}

export function torchRoot(env = process.env) {
  if (env.LIBTORCH) return { root: env.LIBTORCH, system: false };
  if (env.Torch_DIR) return { root: resolve(env.Torch_DIR, '..', '..', '..'), system: false };
  try {
    const py = env.TORCHXFER_PYTHON || 'python3';
    const prefix = execFileSync(py, ['-c', 'import torch; print(torch.utils.cmake_prefix_path)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(prefix, 'Torch', 'TorchConfig.cmake'))) return { root: resolve(prefix, '..', '..'), system: false };
  } catch {
    // no Python torch: fall through to the system LibTorch
  }
  return { root: '/usr', system: true };
}

function main(argv) {
  const [cmd, ...rest] = argv;
  const t = torchRoot();
  if (cmd === 'sources') return sources(rest.length ? rest : ['core', 'addon']);
  if (cmd === 'torch-includes') return [join(t.root, 'include'), join(t.root, 'include', 'torch', 'csrc', 'api', 'include')];
  if (cmd === 'torch-libs') {
    const libdir = t.system ? null : join(t.root, 'lib');
    return [...(libdir ? [`-L${libdir}`, `-Wl,-rpath,${libdir}`] : []), '-ltorch', '-ltorch_cpu', '-lc10'];
  }
  throw new Error(`unknown command '${cmd}' (expected sources, torch-includes or torch-libs)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(main(process.argv.slice(2)).join(' '));
  } catch (err) {
    console.error(`native-config: ${err.message}`);
    process.exit(2);
  }
}
