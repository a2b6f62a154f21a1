// binding.gyp copies nothing by hand: scripts/torch-flags.mjs gives node-gyp the sources CMakeLists.txt's
// globs find and the compile flags and libraries CMake computes from LibTorch's package. Checked against
// the files on disk and against the cmake-js build's own compile commands (build/compile_commands.json).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { describe, expect, it } from 'vitest';

import { packageRoot } from '../src/native.js';

const script = join(packageRoot, 'scripts', 'torch-flags.mjs');

function flags(
  what: string,
  target: string,
  env: NodeJS.ProcessEnv = process.env,
): { status: number | null; words: string[]; stderr: string } {
  const r = spawnSync(process.execPath, [script, what, target], { cwd: packageRoot, env, encoding: 'utf8' });
  return { status: r.status, words: r.stdout.trim().split(/\s+/).filter(Boolean), stderr: r.stderr };
}

/** The .cpp files CMakeLists.txt's globs name: <dir>/*.cpp and <dir>/<sub>/*.cpp. */
function cppFiles(dir: string, depth = 1): string[] {
  return readdirSync(join(packageRoot, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? depth > 0
        ? cppFiles(join(dir, e.name), depth - 1)
        : []
      : e.name.endsWith('.cpp')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('scripts/torch-flags.mjs', () => {
  it("lists CMakeLists.txt's sources for the core and the addon", () => {
    const core = flags('sources', 'core');
    expect(core.status, core.stderr).toBe(0);
    expect(core.words.sort()).toEqual(cppFiles('native/core').sort());
    expect(flags('sources', 'addon').words.sort()).toEqual(cppFiles('native/napi', 0).sort());
  }, 120_000);

  it('gives the addon the defines, system include folders and C++ standard of the cmake-js build', () => {
    const commands = join(packageRoot, 'build', 'compile_commands.json');
    expect(existsSync(commands), 'the cmake-js build (npm run build:native) wrote build/compile_commands.json').toBe(
      true,
    );
    const entry = (JSON.parse(readFileSync(commands, 'utf8')) as { file: string; command: string }[]).find((e) =>
      e.file.endsWith('native/napi/addon.cpp'),
    )!;
    const cmakeJs = entry.command.split(/\s+/);
    const gyp = flags('cflags', 'addon').words;
    const pick = (words: string[], f: (w: string, i: number) => boolean) => [...new Set(words.filter(f))].sort();
    // cmake-js adds BUILDING_NODE_EXTENSION itself, as node-gyp does: it is no LibTorch fact.
    expect(pick(gyp, (w) => w.startsWith('-D'))).toEqual(
      pick(cmakeJs, (w) => w.startsWith('-D') && w !== '-DBUILDING_NODE_EXTENSION'),
    );
    expect(pick(gyp, (w, i) => gyp[i - 1] === '-isystem')).toEqual(
      pick(cmakeJs, (w, i) => cmakeJs[i - 1] === '-isystem'),
    );
    expect(pick(gyp, (w) => w.startsWith('-std='))).toEqual(pick(cmakeJs, (w) => w.startsWith('-std=')));
    expect(gyp).toContain(`-I${relative(join(packageRoot, 'build'), join(packageRoot, 'native'))}`);
  }, 120_000);

  it('links the addon to the LibTorch libraries CMake found, with an rpath', () => {
    const libs = flags('libraries', 'addon').words;
    expect(libs.some((w) => /libtorch_cpu\.so/.test(w))).toBe(true);
    expect(libs.some((w) => /^-Wl,-rpath,/.test(w))).toBe(true);
    expect(libs.some((w) => /torchxfer_core/.test(w))).toBe(false);
  }, 120_000);

  it("stops with CMakeLists.txt's own message where there is no LibTorch, and on bad arguments", () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-libtorch-'));
    const env = {
      ...process.env,
      TORCHXFER_PYTHON: '',
      LIBTORCH: '',
      Torch_DIR: '',
      TORCHXFER_CMAKE_ARGS: `-DCMAKE_FIND_ROOT_PATH=${empty} -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY`,
    };
    const r = flags('cflags', 'core', env);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^torchxfer: LibTorch was not found .*apt-get install libtorch-dev/),
    ]);
    const bad = flags('includes', 'core');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/Expected <sources\|cflags\|libraries> <core\|addon> .* but received 'includes core'/);
    expect(flags('sources', 'core').status).toBe(0); // configures again, with the LibTorch back
  }, 120_000);
});
