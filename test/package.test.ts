// The npm package as a user gets it: `npm pack`, then `npm install <tarball>` in an empty project builds
// the addon at install (scripts/install.mjs, cmake-js), and `npx torchxfer` runs from there. Slow (a
// full native build): it is the one test that proves the published package works.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
    console.log(`package: ${pack.filename} ${(pack.size / 1024).toFixed(0)} KiB packed, ${(pack.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${pack.files.length} files`);
  }, 300_000);

  it('ships only what runs: bin, dist, the native sources and build files, the weights manifest', () => {
    const paths = pack.files.map((f) => f.path);
    for (const p of ['package.json', 'bin/torchxfer.js', 'dist/cli.js', 'dist/index.d.ts', 'CMakeLists.txt', 'scripts/install.mjs', 'weights/manifest.json', 'native/core/runtime.cpp', 'native/napi/addon.cpp'])
      expect(paths).toContain(p);
    const unexpected = paths.filter(
      (p) => !/^(package\.json|README\.md|LICENSE|CMakeLists\.txt|scripts\/install\.mjs|weights\/manifest\.json)$|^bin\/|^dist\/|^native\/(core|napi)\//.test(p) || p.endsWith('.map'),
    );
    expect(unexpected).toEqual([]);
  });

  it('installs into an empty project, building the addon; `npx torchxfer info` and a one-epoch phantom train run there', async () => {
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'empty-project', version: '1.0.0', private: true }));
    const start = performance.now();
    const install = await run(npm, ['install', join(dir, pack.filename), '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'], { cwd: project });
    const seconds = (performance.now() - start) / 1000;
    expect(install.status, `${install.stdout}\n${install.stderr}`).toBe(0);
    console.log(`package: npm install into an empty project took ${seconds.toFixed(0)} s`);
    expect(install.stdout).toMatch(/torchxfer: built .*torchxfer\.node in \d+ s/);
    expect(existsSync(join(installed, 'build', 'Release', 'torchxfer.node'))).toBe(true);

    const info = await run('npx', ['--no-install', 'torchxfer', 'info', '--json'], { cwd: project });
    expect(info.status, info.stderr).toBe(0);
    const facts = JSON.parse(info.stdout) as { torchxfer: string; torchVersion: string; features: Record<string, boolean> };
    expect(facts.torchxfer).toBe((JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version);
    expect(facts.torchVersion).toMatch(/^\d+\.\d+\.\d+$/);
    // scripts/setup.sh installs the Gloo headers: a build without them is a setup regression.
    expect(facts.features).toEqual({ gloo: true, cuda: expect.any(Boolean), cudnn: expect.any(Boolean), nccl: expect.any(Boolean) });

    const out = join(dir, 'run');
    const train = await run('npx', ['--no-install', 'torchxfer', 'train', '--epochs', '1', '--n', '16', '--arch', 'resnet50', '--batch-size', '8', '--image-size', '64',
      '--crop', '56', '--tta', '0', '--device', 'cpu', '--cache-dir', join(dir, 'cache'), '--out', out], { cwd: project });
    expect(train.status, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/\[SIMULATED phantom data\] test AUC/);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(true);
  }, 1_800_000);

  it('without LibTorch the install fails with one message saying what to install', async () => {
    expect(existsSync(join(installed, 'scripts', 'install.mjs')), 'the previous test installed the package').toBe(true);
    // Re-rooting CMake's package search in an empty folder hides every LibTorch the machine has, and
    // no Python torch is asked: the machine as one without LibTorch.
    const empty = mkdtempSync(join(dir, 'no-libtorch-'));
    const cmakeArgs = `-DCMAKE_FIND_ROOT_PATH=${empty} -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY`;
    const r = await run(process.execPath, [join(installed, 'scripts', 'install.mjs')], {
      cwd: installed,
      env: { ...env, TORCHXFER_PYTHON: '/nonexistent/python3', LIBTORCH: '', Torch_DIR: '', TORCHXFER_CMAKE_ARGS: cmakeArgs },
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^torchxfer: LibTorch was not found .*apt-get install libtorch-dev.*pip install torch.*LIBTORCH=/);
  }, 300_000);
});

