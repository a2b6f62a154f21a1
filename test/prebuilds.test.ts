// Prebuilt addons: their metadata, telling which LibTorch a process loaded, and the loader's choice
// (src/native.ts): an addon built here first, then the first prebuild that loads and fits, else an
// error that says what to do. The loader runs in child processes over a scratch package root whose
// prebuilds/ holds copies of this checkout's build (a real binary for this machine's LibTorch).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { addonOrigin, packageRoot } from '../src/native.js';
import {
  libtorchVersionAt,
  listPrebuilds,
  loadedLibtorch,
  parsePrebuildMeta,
  prebuildMismatch,
  prebuildTag,
  type PrebuildMeta,
} from '../src/prebuilds.js';
import { runtimeInfo } from '../src/runtime.js';

const scratch = (): string => mkdtempSync(join(tmpdir(), 'txf-prebuilds-'));

function meta(
  over: Omit<Partial<PrebuildMeta>, 'libtorch'> & { libtorch?: Partial<PrebuildMeta['libtorch']> } = {},
): PrebuildMeta {
  const version = runtimeInfo().torchVersion;
  const [major, minor] = version.split('.');
  return {
    file: 'torchxfer.napi.glibc.node',
    platform: process.platform,
    arch: process.arch,
    libc: 'glibc',
    napi: 8,
    builtWith: 'node-gyp 12.4.0',
    builtOn: 'a test',
    ...over,
    libtorch: {
      version,
      variant: 'cpu',
      origin: 'system',
      needs: [`libtorch_cpu.so.${major}.${minor}`],
      ...over.libtorch,
    },
  };
}

describe('which LibTorch a process runs on', () => {
  it('reads the version of the LibTorch this process loaded, the one the addon reports', () => {
    const reported = runtimeInfo().torchVersion; // loads the addon, and with it LibTorch
    const loaded = loadedLibtorch();
    expect(loaded?.library).toMatch(/libtorch_cpu\.so/);
    expect(loaded?.version?.split('.').slice(0, 2)).toEqual(reported.split('.').slice(0, 2));
    expect(addonOrigin().libtorch).toEqual(loaded);
  });

  it("tells a pytorch.org LibTorch's version from build-version and a wheel's from version.py", () => {
    const dir = scratch();
    mkdirSync(join(dir, 'libtorch', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'libtorch', 'build-version'), '2.5.1+cpu\n');
    expect(libtorchVersionAt(join(dir, 'libtorch', 'lib', 'libtorch_cpu.so'))).toBe('2.5.1+cpu');
    mkdirSync(join(dir, 'torch', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'torch', 'version.py'), "__version__ = '2.11.0+cu128'\ncuda = '12.8'\n");
    expect(libtorchVersionAt(join(dir, 'torch', 'lib', 'libtorch_cpu.so'))).toBe('2.11.0+cu128');
    expect(libtorchVersionAt(join(dir, 'nowhere', 'lib', 'libtorch_cpu.so'))).toBeUndefined();
    expect(libtorchVersionAt('/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.1')).toBe('1.13.1');
  });

  it('finds libtorch_cpu in a maps file and sees libtorch_cuda beside it', () => {
    const dir = scratch();
    mkdirSync(join(dir, 'torch', 'lib'), { recursive: true });
    writeFileSync(join(dir, 'torch', 'version.py'), "__version__ = '2.11.0'\n");
    for (const lib of ['libtorch_cpu.so', 'libtorch_cuda.so']) writeFileSync(join(dir, 'torch', 'lib', lib), '');
    const maps = join(dir, 'maps');
    writeFileSync(
      maps,
      `7f00-7f01 r-xp 00000000 00:00 0    /usr/lib/libm.so.6\n7f02-7f03 r-xp 00000000 00:00 0    ${join(dir, 'torch', 'lib', 'libtorch_cpu.so')}\n`,
    );
    expect(loadedLibtorch(maps)).toEqual({
      library: join(dir, 'torch', 'lib', 'libtorch_cpu.so'),
      version: '2.11.0',
      cuda: true,
    });
    writeFileSync(maps, '7f00-7f01 r-xp 00000000 00:00 0    /usr/lib/libm.so.6\n');
    expect(loadedLibtorch(maps)).toBeUndefined();
  });
});

describe('prebuild metadata and matching', () => {
  it('tags a prebuild by LibTorch major.minor, origin and variant', () => {
    expect(prebuildTag({ version: '1.13.1', variant: 'cpu', origin: 'system', needs: [] })).toBe(
      'libtorch-1.13-system-cpu',
    );
    expect(prebuildTag({ version: '2.11.0+cu128', variant: 'cu128', origin: 'pytorch', needs: [] })).toBe(
      'libtorch-2.11-pytorch-cu128',
    );
  });

  it('refuses metadata that is malformed or reaches outside its folder', () => {
    expect(parsePrebuildMeta(meta())).toEqual(meta());
    expect(() => parsePrebuildMeta({ ...meta(), file: '../../evil.node' })).toThrow(/for file/);
    expect(() => parsePrebuildMeta({ ...meta(), napi: '8' })).toThrow(/for napi/);
    expect(() => parsePrebuildMeta({ ...meta(), libtorch: { ...meta().libtorch, version: 'latest' } })).toThrow(
      /libtorch\.version/,
    );
    expect(() => parsePrebuildMeta({ ...meta(), libtorch: { ...meta().libtorch, needs: ['/etc/passwd'] } })).toThrow(
      /libtorch\.needs\[0\]/,
    );
    expect(() => parsePrebuildMeta({ ...meta(), builtOn: 'x'.repeat(500) })).toThrow(/builtOn/);
    expect(() => parsePrebuildMeta('a string')).toThrow();
  });

  it('fits only the LibTorch it was built against, CPU-only where that LibTorch has no CUDA', () => {
    const m = meta({ libtorch: { version: '1.13.0' } });
    const loaded = { library: '/usr/lib/x86_64-linux-gnu/libtorch_cpu.so.1.13.1', version: '1.13.1', cuda: false };
    expect(prebuildMismatch(m, loaded, '1.13.0')).toBeUndefined();
    expect(prebuildMismatch(m, { ...loaded, version: '2.5.1+cpu' }, '1.13.0')).toMatch(
      /built for LibTorch 1\.13 .* but LibTorch 2\.5\.1\+cpu .* was loaded/,
    );
    expect(prebuildMismatch(m, { ...loaded, cuda: true }, '1.13.0')).toMatch(
      /CPU-only and the LibTorch at .* has CUDA/,
    );
    expect(prebuildMismatch(m, { ...loaded, version: undefined }, '1.13.0')).toMatch(/version of .* is unknown/);
    expect(prebuildMismatch(m, undefined, '1.13.0')).toMatch(/no LibTorch library could be seen/);
    expect(prebuildMismatch(m, loaded, '2.0.0')).toMatch(/reports LibTorch 2\.0\.0 but its metadata says 1\.13\.0/);
  });
});

describe('the loader', () => {
  const built = join(packageRoot, 'build', 'Release', 'torchxfer.node');
  const nativeJs = pathToFileURL(join(packageRoot, 'dist', 'native.js')).href;

  /** A scratch package root with prebuilds (name -> metadata, or 'corrupt'), loaded in a child. */
  function loadIn(prebuilds: Record<string, PrebuildMeta | 'corrupt'>, opts: { builtHere?: boolean } = {}) {
    const root = scratch();
    const folder = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(folder, { recursive: true });
    for (const [name, m] of Object.entries(prebuilds)) {
      if (m === 'corrupt') writeFileSync(join(folder, name), 'not an ELF file');
      else copyFileSync(built, join(folder, name));
      writeFileSync(
        join(folder, name.replace(/\.node$/, '.json')),
        JSON.stringify(m === 'corrupt' ? meta({ file: name }) : { ...m, file: name }),
      );
    }
    if (opts.builtHere) {
      mkdirSync(join(root, 'build', 'Release'), { recursive: true });
      copyFileSync(built, join(root, 'build', 'Release', 'torchxfer.node'));
    }
    const code = `import { loadAddon } from ${JSON.stringify(nativeJs)};
try { console.log(JSON.stringify(loadAddon({ root: ${JSON.stringify(root)}, env: {} }).origin)); }
catch (err) { console.log(JSON.stringify({ error: err.name + ': ' + err.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return {
      root,
      result: JSON.parse(r.stdout) as { kind?: string; path?: string; libtorch?: { version?: string }; error?: string },
    };
  }

  it('loads the prebuild that fits, skipping one that does not load, and reports it', () => {
    const { root, result } = loadIn({ 'a.corrupt.node': 'corrupt', 'b.fits.node': meta() });
    expect(result.error).toBeUndefined();
    expect(result.kind).toBe('prebuilt');
    expect(result.path).toBe(join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'b.fits.node'));
    expect(result.libtorch?.version?.split('.').slice(0, 2)).toEqual(runtimeInfo().torchVersion.split('.').slice(0, 2));
    expect(listPrebuilds(root).prebuilds.map((p) => p.path.split('/').pop())).toEqual([
      'a.corrupt.node',
      'b.fits.node',
    ]);
  }, 60_000);

  it('prefers an addon built here over a prebuild', () => {
    const { result } = loadIn({ 'b.fits.node': meta() }, { builtHere: true });
    expect(result.kind).toBe('built here');
  }, 60_000);

  it('refuses a prebuild whose LibTorch is not the one loaded, saying what to do', () => {
    const { result } = loadIn({ 'b.other.node': meta({ libtorch: { version: '2.5.1' } }) });
    expect(result.error).toMatch(
      /^NativeLoadError: torchxfer's prebuilt addon prebuilds\/.*b\.other\.node does not fit this machine: .*2\.5\.1.*npm rebuild torchxfer/,
    );
  }, 60_000);

  it('without a build or a fitting prebuild, says why each prebuild did not fit and how to build', () => {
    const { result } = loadIn({ 'a.corrupt.node': 'corrupt', 'c.json-only.node': 'corrupt' });
    expect(result.error).toMatch(
      /native addon was not found at .*build\/Release\/torchxfer\.node\. No prebuilt addon fits this machine: .*a\.corrupt\.node \(libtorch-[\d.]+-system-cpu\) does not load: .*(invalid ELF header|file too short)/,
    );
    expect(result.error).toMatch(/npm rebuild torchxfer/);
    expect(loadIn({}).result.error).toMatch(/prebuilds\/ has none for /);
  }, 60_000);
});
