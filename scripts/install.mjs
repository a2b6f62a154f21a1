#!/usr/bin/env node
// npm's install hook. Where a prebuilt addon (prebuilds/<platform>-<arch>/) fits the LibTorch this
// machine's dynamic loader finds, it is used and nothing is compiled: a child process loads it with every
// symbol bound and checks its LibTorch (src/native.ts, src/prebuilds.ts). Otherwise, or when asked
// (--build-from-source, or LIBTORCH / Torch_DIR / TORCHXFER_PYTHON naming a LibTorch), it says why and
// builds the addon (build/Release/torchxfer.node) from the shipped sources with cmake-js, the way
// `npm install` builds any native package: CMakeLists.txt finds LibTorch (LIBTORCH / Torch_DIR, then
// the Python torch, then the system) and switches on CUDA, cuDNN, NCCL and Gloo where that LibTorch
// and its headers have them; this script runs it, checks that the result loads, and turns a failure
// into one message (CMakeLists.txt's own "torchxfer: ..." errors, such as a missing LibTorch, are
// printed alone; anything else prints the log's tail).
//
// Skipped in a source checkout (it has src/, which the package does not ship: developers build with
// `npm run build:native` when they choose) and when TORCHXFER_ADDON names a build to load instead. `npm rebuild
// torchxfer` runs it again.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const addonPath = join(buildDir, 'Release', 'torchxfer.node');
const logPath = join(root, 'install.log'); // outside build/, which cmake-js may clean

const say = (line) => console.log(`torchxfer: ${line}`);

class InstallError extends Error {}

function checkTools() {
  const missing = ['cmake', process.env.CXX || 'c++'].filter(
    (tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length > 0) {
    throw new InstallError(
      `building the native addon needs cmake and a C++17 compiler; not found: ${missing.join(', ')}. ` +
        'Install them (Debian/Ubuntu: sudo apt-get install cmake g++), then run npm rebuild torchxfer.',
    );
  }
}

/** The paragraph of a "CMake Error ... (message): torchxfer: ..." block, or undefined. */
export function ownCmakeError(log) {
  const m = /CMake Error at [^\n]*CMakeLists\.txt:\d+ \(message\):\n((?: {2}[^\n]*\n?)+)/.exec(log);
  const text = m?.[1]
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return text?.startsWith('torchxfer:') ? text.slice('torchxfer:'.length).replace(/\s+/g, ' ').trim() : undefined;
}

/** TORCHXFER_CMAKE_ARGS="-DVAR=value ..." (e.g. -DTORCH_CUDA_ARCH_LIST=9.0) reaches CMake as given. */
function extraCmakeArgs(value = process.env.TORCHXFER_CMAKE_ARGS ?? '') {
  const args = value.split(/\s+/).filter(Boolean);
  const bad = args.find((a) => !/^-D[A-Za-z_][A-Za-z0-9_]*(:[A-Z]+)?=/.test(a));
  if (bad) throw new InstallError(`Expected -DVAR=value entries for TORCHXFER_CMAKE_ARGS but received '${bad}'`);
  return args.map((a) => `--CD${a.slice(2)}`);
}

async function cmakeJs(args) {
  const cli = createRequire(import.meta.url).resolve('cmake-js/bin/cmake-js');
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await new Promise((done, fail) => child.on('error', fail).on('close', done));
  await new Promise((done) => log.end(done));
  if (code === 0) return;
  const text = readFileSync(logPath, 'utf8');
  const own = ownCmakeError(text);
  if (own) throw new InstallError(own);
  const tail = text.trimEnd().split('\n').slice(-30).join('\n');
  throw new InstallError(
    `the native build failed (cmake-js exit ${code}); the log's last lines:\n${tail}\nFull log: ${logPath}`,
  );
}

/** Loads the fresh build in a separate process (a failed dlopen must not take this one down). */
function checkLoads() {
  const probe = `const a = require(${JSON.stringify(addonPath)}); process.stdout.write(JSON.stringify(a.info()));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) {
    const why = (r.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? r.stderr;
    throw new InstallError(`the addon was built but does not load: ${why.trim()}. Full build log: ${logPath}`);
  }
  return JSON.parse(r.stdout);
}

const yes = (b) => (b ? 'yes' : 'no');
const featureList = (f) => `Gloo ${yes(f.gloo)}, CUDA ${yes(f.cuda)}, cuDNN ${yes(f.cudnn)}, NCCL ${yes(f.nccl)}`;

/** Why the user asked for a source build, or undefined. */
export function sourceBuildAsked(env = process.env) {
  if (/^(true|1|yes)$/i.test(env.npm_config_build_from_source ?? '')) return '--build-from-source was given';
  const named = ['LIBTORCH', 'Torch_DIR', 'TORCHXFER_PYTHON'].find((k) => env[k]);
  return named ? `${named} is set, so the addon is built against that LibTorch` : undefined;
}

/**
 * Asks a child process (a crash there must not end this one) to load the prebuilt addon that fits,
 * binding every symbol now: { origin, info } when one fits, else { why }.
 */
function tryPrebuilt() {
  const native = pathToFileURL(join(root, 'dist', 'native.js')).href;
  const code = `import { loadPrebuiltAddon } from ${JSON.stringify(native)};
let out;
try {
  const { loaded, reasons } = loadPrebuiltAddon(undefined, true);
  out = loaded ? { origin: loaded.origin, info: loaded.addon.info() } : { why: reasons.join('; ') };
} catch (err) { out = { why: err.message }; }
process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0)
    return { why: `loading a prebuilt addon failed: ${(r.stderr || `exit ${r.status}`).trim().split('\n')[0]}` };
  return JSON.parse(r.stdout);
}

async function buildFromSource() {
  checkTools();
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  const jobs = String(Number(process.env.CMAKE_BUILD_PARALLEL_LEVEL) || availableParallelism());
  say(`building the native addon with cmake-js (${jobs} jobs; several minutes on 2 cores; log: ${logPath})`);
  const start = performance.now();
  const cmakeArgs = ['--CDCMAKE_BUILD_TYPE=Release', '--CDTORCHXFER_BUILD_BENCH=OFF', ...extraCmakeArgs()];
  rmSync(logPath, { force: true });
  await cmakeJs(['configure', ...cmakeArgs]);
  await cmakeJs(['build', '--parallel', jobs, ...cmakeArgs]);
  const info = checkLoads();
  say(
    `built ${addonPath} in ${((performance.now() - start) / 1000).toFixed(0)} s: LibTorch ${info.torchVersion}; ${featureList(info.features)}`,
  );
}

async function main() {
  if (existsSync(join(root, 'src'))) {
    say('source checkout: not building at install; run `npm run build:native` (or `bash scripts/setup.sh`).');
    return;
  }
  if (process.env.TORCHXFER_ADDON) {
    say(`TORCHXFER_ADDON=${process.env.TORCHXFER_ADDON} is set: not building, that addon is loaded instead.`);
    return;
  }
  const asked = sourceBuildAsked();
  const prebuilt = asked ? { why: asked } : tryPrebuilt();
  if (prebuilt.origin) {
    rmSync(buildDir, { recursive: true, force: true }); // an earlier source build would be loaded first
    const { origin, info } = prebuilt;
    const where = origin.libtorch ? ` at ${origin.libtorch.library}` : '';
    say(
      `using the prebuilt addon ${relative(root, origin.path)}: LibTorch ${info.torchVersion}${where}; ${featureList(info.features)}. Nothing to compile.`,
    );
    return;
  }
  say(`building from source: ${prebuilt.why}`);
  await buildFromSource();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`torchxfer: ${err instanceof InstallError ? err.message : (err?.stack ?? String(err))}`);
    process.exit(1);
  });
}
