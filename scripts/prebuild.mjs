#!/usr/bin/env node
// Makes the prebuilt addon for this machine's LibTorch: builds it with node-gyp (binding.gyp) in
// build-prebuild/ (a copy of the build inputs, so the checkout's build/ stays cmake-js's; sources keep
// their times, so a second run recompiles only what changed), strips it, and writes it with its
// metadata to prebuilds/<platform>-<arch>/torchxfer.napi.<libc>.<tag>.node + .json, where the tag names
// the LibTorch (libtorch-1.13-system-cpu: src/prebuilds.ts). A prebuild of another tag is kept.
// `npm pack` runs it (prepack), so the tarball carries the prebuild of the packing machine's LibTorch;
// docs/building.md says how to add another LibTorch.
//   node scripts/prebuild.mjs [--variant cu121]     (the variant is needed for a LibTorch with CUDA)
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stage = join(root, 'build-prebuild');
// What binding.gyp reads: itself, CMakeLists.txt (through scripts/torch-flags.mjs) and the sources.
const INPUTS = [
  'binding.gyp',
  'CMakeLists.txt',
  'package.json',
  'scripts/torch-flags.mjs',
  'scripts/install.mjs',
  'native/core',
  'native/napi',
];

const say = (line) => console.log(`prebuild: ${line}`);
class PrebuildError extends Error {}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new PrebuildError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0)
    throw new PrebuildError(
      `${cmd} ${args.join(' ')} exited with ${r.status}\n${(r.stderr || r.stdout || '').trimEnd().split('\n').slice(-30).join('\n')}`,
    );
  return r.stdout;
}

function stageInputs() {
  mkdirSync(join(stage, 'scripts'), { recursive: true });
  rmSync(join(stage, 'native'), { recursive: true, force: true }); // a deleted source must not linger
  for (const p of INPUTS) cpSync(join(root, p), join(stage, p), { recursive: true, preserveTimestamps: true });
  // node-addon-api's headers sit inside the stage, as in a checkout: the compile commands match a checkout's.
  const napi = dirname(createRequire(join(root, 'package.json')).resolve('node-addon-api/package.json'));
  cpSync(napi, join(stage, 'node_modules', 'node-addon-api'), { recursive: true, preserveTimestamps: true });
}

/** node-gyp configure + build in the stage; offline machines use the running Node's own headers. */
function buildWithNodeGyp() {
  const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  const prefix = dirname(dirname(process.execPath));
  const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
  const nodedir = !process.env.npm_config_nodedir && localHeaders ? [`--nodedir=${prefix}`] : [];
  const jobs = String(Number(process.env.JOBS) || availableParallelism());
  // Its output goes to stderr: `npm pack --json` (prepack runs this) keeps stdout for its JSON.
  const r = spawnSync(process.execPath, [nodeGyp, 'configure', 'build', '--release', '-j', jobs, ...nodedir], {
    cwd: stage,
    stdio: ['ignore', 2, 2],
  });
  if (r.status !== 0) throw new PrebuildError(`node-gyp failed (exit ${r.status}) in ${stage}`);
  const version = JSON.parse(readFileSync(join(dirname(dirname(nodeGyp)), 'package.json'), 'utf8')).version;
  return { addon: join(stage, 'build', 'Release', 'torchxfer.node'), builtWith: `node-gyp ${version}` };
}

/** Loads the build in a child (every symbol bound now) and returns what it reports and the LibTorch it mapped. */
function probe(addon) {
  const prebuilds = pathToFileURL(join(root, 'dist', 'prebuilds.js')).href;
  if (!existsSync(fileURLToPath(prebuilds)))
    throw new PrebuildError('dist/ is not built: run `npx tsc -p tsconfig.json` first');
  const code = `import { constants } from 'node:os'; import { loadedLibtorch, runtimeLibc } from ${JSON.stringify(prebuilds)};
const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(addon)}, constants.dlopen.RTLD_NOW);
console.log(JSON.stringify({ info: m.exports.info(), libtorch: loadedLibtorch(), libc: runtimeLibc() }));`;
  return JSON.parse(run(process.execPath, ['--input-type=module', '-e', code]));
}

/** The LibTorch sonames the binary links to (its DT_NEEDED entries). */
function neededLibtorch(addon) {
  const out = run('readelf', ['-d', addon]);
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)]
    .map((m) => m[1])
    .filter((n) => /^lib(torch|c10)/.test(n));
}

function buildMachine() {
  const os = existsSync('/etc/os-release')
    ? /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    : undefined;
  const cxx = run(process.env.CXX || 'c++', ['--version']).split('\n')[0];
  return [os ?? process.platform, cxx]
    .join(', ')
    .replace(/[^\w .,:;()+/-]/g, ' ')
    .slice(0, 200);
}

function variantOf(info, args) {
  const i = args.indexOf('--variant');
  const given = i >= 0 ? args[i + 1] : undefined;
  if (given !== undefined && !/^(cpu|cu\d{2,4}|rocm[\d.]{1,10})$/.test(given)) {
    throw new PrebuildError(`Expected cpu, cuNNN or rocmN.N for --variant but received '${given}'`);
  }
  if (info.features.cuda && (!given || given === 'cpu'))
    throw new PrebuildError('this LibTorch has CUDA: name its variant, e.g. --variant cu121');
  return given ?? 'cpu';
}

async function main(args) {
  const start = performance.now();
  stageInputs();
  const { addon, builtWith } = buildWithNodeGyp();
  const { info, libtorch, libc } = probe(addon);
  const { prebuildTag, parsePrebuildMeta, prebuildFolder } = await import(
    pathToFileURL(join(root, 'dist', 'prebuilds.js')).href
  );
  const needs = neededLibtorch(addon);
  const meta = {
    platform: process.platform,
    arch: process.arch,
    ...(libc ? { libc } : {}),
    napi: 8,
    libtorch: {
      version: info.torchVersion,
      variant: variantOf(info, args),
      origin: needs.some((n) => /\.so\.\d/.test(n)) ? 'system' : 'pytorch',
      needs,
    },
    builtWith,
    builtOn: buildMachine(),
  };
  const tag = prebuildTag(meta.libtorch);
  const file = ['torchxfer', 'napi', libc, tag, 'node'].filter(Boolean).join('.');
  const folder = prebuildFolder(root);
  mkdirSync(folder, { recursive: true });
  for (const old of readdirSync(folder).filter((n) => n.includes(`.${tag}.`))) rmSync(join(folder, old));
  copyFileSync(addon, join(folder, file));
  run('strip', ['--strip-all', join(folder, file)]);
  writeFileSync(
    join(folder, file.replace(/\.node$/, '.json')),
    `${JSON.stringify(parsePrebuildMeta({ file, ...meta }), null, 2)}\n`,
  );
  const mib = (statSync(join(folder, file)).size / 2 ** 20).toFixed(1);
  say(
    `${relative(root, join(folder, file))} (${mib} MiB): LibTorch ${info.torchVersion} from ${libtorch?.library ?? 'an unknown place'}; ` +
      `${((performance.now() - start) / 1000).toFixed(0)} s`,
  );
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`prebuild: ${err instanceof PrebuildError ? err.message : (err?.stack ?? String(err))}`);
  process.exit(1);
});
