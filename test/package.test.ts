// The npm package as a user gets it: `npm pack` (its prepack makes the prebuilt addon for this
// machine's LibTorch with node-gyp: scripts/prebuild.mjs), then `npm install <tarball>` in an empty
// project, which uses that prebuild and compiles no addon (scripts/install.mjs), and `npx torchxfer`
// runs from there. Slow the first time (the node-gyp build; later packs recompile only what changed, and
// better-sqlite3 still compiles at install): it is the one test that proves the published package works.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native.js';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// The installed package must not pick up this checkout's build, and the nested npm must not inherit
// the settings `npm test` hands its scripts (npm_config_local_prefix would point it at this checkout).
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries({ ...process.env, CI: '1' }).filter(([k]) => !/^(npm_|TORCHXFER_ADDON$|INIT_CWD$)/i.test(k)),
);

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

// Asynchronous: a worker blocked for minutes in spawnSync loses its link to vitest.
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail).on('close', (status) => done({ status, stdout, stderr }));
  });
}

/**
 * The environment of a machine without LibTorch for CMake: re-rooting its package search in an empty
 * folder hides every LibTorch the machine has, and no Python torch is asked.
 */
function noLibtorch(): NodeJS.ProcessEnv {
  const empty = mkdtempSync(join(tmpdir(), 'no-libtorch-'));
  const cmakeArgs = `-DCMAKE_FIND_ROOT_PATH=${empty} -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY`;
  return { ...env, TORCHXFER_PYTHON: '', LIBTORCH: '', Torch_DIR: '', TORCHXFER_CMAKE_ARGS: cmakeArgs };
}

describe('the npm package', () => {
  const dir = mkdtempSync(join(tmpdir(), 'txf-package-'));
  const project = join(dir, 'project');
  const installed = join(project, 'node_modules', 'torchxfer');
  let pack: PackResult;

  beforeAll(async () => {
    // `npm pack` runs prepack (the TypeScript build), so dist/ is current in the tarball.
    const r = await run(npm, ['pack', '--json', '--pack-destination', dir], { cwd: packageRoot });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    pack = (JSON.parse(out.slice(out.search(/^\[/m))) as PackResult[])[0]!;
    console.log(
      `package: ${pack.filename} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files`,
    );
  }, 2_400_000);

  it('ships only what runs: bin, dist, the prebuilt addon, the native sources and both build files, the weights manifest', () => {
    const paths = pack.files.map((f) => f.path);
    for (const p of [
      'package.json',
      'bin/torchxfer.js',
      'dist/cli.js',
      'dist/index.d.ts',
      'CMakeLists.txt',
      'binding.gyp',
      'scripts/install.mjs',
      'scripts/torch-flags.mjs',
      'weights/manifest.json',
      'native/core/runtime.cpp',
      'native/napi/addon.cpp',
    ])
      expect(paths).toContain(p);
    const prebuilt = paths.filter((p) => p.startsWith(`prebuilds/${process.platform}-${process.arch}/`)).sort();
    expect(prebuilt).toEqual([
      expect.stringMatching(/\.libtorch-[\d.]+-\w+-\w+\.json$/),
      expect.stringMatching(/\.libtorch-[\d.]+-\w+-\w+\.node$/),
    ]);
    const unexpected = paths.filter(
      (p) =>
        !/^(package\.json|README\.md|LICENSE|CMakeLists\.txt|binding\.gyp|scripts\/(install|torch-flags)\.mjs|weights\/manifest\.json)$|^bin\/|^dist\/|^native\/(core|napi)\/|^prebuilds\/[\w-]+\/torchxfer\.[\w.+-]+\.(node|json)$/.test(
          p,
        ) || p.endsWith('.map'),
    );
    expect(unexpected).toEqual([]);
  });

  it('installs into an empty project with the prebuilt addon, compiling none; `npx torchxfer info` names it; a one-epoch phantom train runs', async () => {
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }),
    );
    const start = performance.now();
    const install = await run(
      npm,
      ['install', join(dir, pack.filename), '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      { cwd: project },
    );
    const seconds = (performance.now() - start) / 1000;
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    console.log(
      `package: npm install into an empty project took ${seconds.toFixed(0)} s (load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    );
    expect(install.stdout).toMatch(
      /torchxfer: using the prebuilt addon prebuilds\/[\w-]+\/torchxfer\.napi\.\S+\.node: LibTorch \d+\.\d+\.\d+ at \S+libtorch_cpu\S*; Gloo yes.*Nothing to compile/,
    );
    expect(install.stdout).not.toMatch(/torchxfer: building/);
    expect(existsSync(join(installed, 'build'))).toBe(false);

    const info = await run('npx', ['--no-install', 'torchxfer', 'info', '--json'], { cwd: project });
    expect(info.status, info.stderr).toBe(0);
    const facts = JSON.parse(info.stdout) as {
      torchxfer: string;
      torchVersion: string;
      features: Record<string, boolean>;
      addon: { kind: string; path: string; tag: string };
    };
    expect(facts.torchxfer).toBe(
      (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version,
    );
    expect(facts.torchVersion).toMatch(/^\d+\.\d+\.\d+$/);
    // scripts/setup.sh installs the Gloo headers: a build without them is a setup regression.
    expect(facts.features).toEqual({
      gloo: true,
      cuda: expect.any(Boolean),
      cudnn: expect.any(Boolean),
      nccl: expect.any(Boolean),
    });
    expect(facts.addon.kind).toBe('prebuilt');
    expect(facts.addon.path).toBe(join(installed, pack.files.find((f) => f.path.endsWith('.node'))!.path));
    expect(facts.addon.path).toContain(`.${facts.addon.tag}.node`);
    const text = await run('npx', ['--no-install', 'torchxfer', 'info'], { cwd: project });
    expect(text.stdout).toMatch(
      /^addon {6}prebuilt prebuilds\/[\w-]+\/torchxfer\.napi\.\S+\.node \(libtorch-[\d.]+-\w+-\w+; node-gyp /m,
    );

    const out = join(dir, 'run');
    const train = await run(
      'npx',
      [
        '--no-install',
        'torchxfer',
        'train',
        '--epochs',
        '1',
        '--n',
        '16',
        '--arch',
        'resnet50',
        '--batch-size',
        '8',
        '--image-size',
        '64',
        '--crop',
        '56',
        '--tta',
        '0',
        '--device',
        'cpu',
        '--cache-dir',
        join(dir, 'cache'),
        '--out',
        out,
      ],
      { cwd: project },
    );
    expect(train.status, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/\[SIMULATED phantom data\] test AUC/);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
  }, 1_800_000);

  it('a prebuild that does not fit this LibTorch sends the install to a source build, saying why', async () => {
    const metaFile = join(
      installed,
      pack.files.find((f) => f.path.endsWith('.json') && f.path.startsWith('prebuilds/'))!.path,
    );
    const original = readFileSync(metaFile, 'utf8');
    const meta = JSON.parse(original) as { libtorch: { version: string } };
    writeFileSync(metaFile, JSON.stringify({ ...meta, libtorch: { ...meta.libtorch, version: '99.0.0' } }));
    try {
      // CMake then finds no LibTorch (see the next test), so the source build stops at configure.
      const r = await run(process.execPath, [join(installed, 'scripts', 'install.mjs')], {
        cwd: installed,
        env: noLibtorch(),
      });
      expect(r.stdout).toMatch(
        /torchxfer: building from source: prebuilds\/\S+\.node does not fit: it reports LibTorch \d+\.\d+\.\d+ but its metadata says 99\.0\.0/,
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^torchxfer: LibTorch was not found/);
    } finally {
      writeFileSync(metaFile, original);
    }
  }, 300_000);

  it('without LibTorch the install fails with one message saying what to install', async () => {
    expect(existsSync(join(installed, 'scripts', 'install.mjs')), 'the previous test installed the package').toBe(true);
    // The prebuild would load (the LibTorch is there): --build-from-source goes past it to CMake.
    const r = await run(process.execPath, [join(installed, 'scripts', 'install.mjs')], {
      cwd: installed,
      env: { ...noLibtorch(), npm_config_build_from_source: 'true' },
    });
    expect(r.stdout).toMatch(/torchxfer: building from source: --build-from-source was given/);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^torchxfer: LibTorch was not found .*apt-get install libtorch-dev.*pip install torch.*LIBTORCH=/,
    );
  }, 300_000);
});
