/**
 * Prebuilt addons (prebuilds/<platform>-<arch>/, the layout of prebuildify) and the LibTorch a process
 * has loaded. LibTorch has no stable ABI, so a prebuilt addon is tagged by the LibTorch it was built
 * against (`libtorch-1.13-system-cpu`): a JSON file beside each binary says which (scripts/prebuild.mjs
 * writes it), and one is used only when the LibTorch that the dynamic loader finds at run time is that
 * one (src/native.ts loads, then checks with {@link prebuildMismatch}).
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** What scripts/prebuild.mjs records beside a prebuilt addon. */
export interface PrebuildMeta {
  /** The binary, in the same folder. */
  file: string;
  platform: string;
  arch: string;
  /** 'glibc' or 'musl' on Linux. */
  libc?: string;
  napi: number;
  libtorch: {
    /** The LibTorch version its headers declared (TORCH_VERSION), e.g. "1.13.0". */
    version: string;
    /** 'cpu', or the CUDA variant it needs ('cu121'...). */
    variant: string;
    /** 'system' (a distribution's LibTorch, versioned sonames) or 'pytorch' (pytorch.org / a wheel). */
    origin: string;
    /** The LibTorch libraries it links to by soname, e.g. libtorch_cpu.so.1.13. */
    needs: string[];
  };
  /** "node-gyp 12.4.0" */
  builtWith: string;
  /** The build machine, e.g. "Debian GNU/Linux 12 (bookworm), g++ 12.2.0". */
  builtOn: string;
}

export interface Prebuild {
  path: string;
  meta: PrebuildMeta;
}

/** The LibTorch the dynamic loader mapped into this process. */
export interface LoadedLibtorch {
  /** libtorch_cpu's file (symlinks resolved). */
  library: string;
  /** From the versioned file name, a LibTorch folder's build-version or a wheel's version.py. */
  version?: string;
  /** A libtorch_cuda library sits beside it. */
  cuda: boolean;
}

/** The tag that names a prebuild of one LibTorch: libtorch-<major>.<minor>-<origin>-<variant>. */
export function prebuildTag(libtorch: PrebuildMeta['libtorch']): string {
  return `libtorch-${majorMinor(libtorch.version)}-${libtorch.origin}-${libtorch.variant}`;
}

export function prebuildFolder(root: string, platform = process.platform, arch = process.arch): string {
  return join(root, 'prebuilds', `${platform}-${arch}`);
}

const SAFE_FILE = /^[\w.+-]{1,200}\.node$/;
const SHORT = /^[\w .,:;()+/-]{1,200}$/;

/** Checks a metadata file's fields (it is read from disk: typed and bounded before use). */
export function parsePrebuildMeta(value: unknown): PrebuildMeta {
  const o = (value ?? {}) as Record<string, unknown>;
  const lt = (o.libtorch ?? {}) as Record<string, unknown>;
  const bad = (field: string, expected: string): never => {
    throw new TypeError(`Expected ${expected} for ${field}`);
  };
  const str = (v: unknown, field: string, pattern = SHORT): string =>
    typeof v === 'string' && pattern.test(v) ? v : bad(field, 'a short plain string');
  if (typeof o !== 'object' || Array.isArray(o)) bad('the metadata', 'a JSON object');
  const needs =
    Array.isArray(lt.needs) && lt.needs.length <= 16
      ? lt.needs.map((n, i) => str(n, `libtorch.needs[${i}]`, /^lib[\w.+-]{1,100}$/))
      : bad('libtorch.needs', 'a list of sonames');
  if (typeof o.napi !== 'number' || !Number.isInteger(o.napi) || o.napi < 1 || o.napi > 100)
    bad('napi', 'an integer between 1 and 100');
  return {
    file: str(o.file, 'file', SAFE_FILE),
    platform: str(o.platform, 'platform', /^\w{1,20}$/),
    arch: str(o.arch, 'arch', /^\w{1,20}$/),
    ...(o.libc === undefined ? {} : { libc: str(o.libc, 'libc', /^(glibc|musl)$/) }),
    napi: o.napi as number,
    libtorch: {
      version: str(lt.version, 'libtorch.version', /^\d+\.\d+\.\d+[\w.+-]{0,40}$/),
      variant: str(lt.variant, 'libtorch.variant', /^(cpu|cu\d{2,4}|rocm[\d.]{1,10})$/),
      origin: str(lt.origin, 'libtorch.origin', /^(system|pytorch)$/),
      needs,
    },
    builtWith: str(o.builtWith, 'builtWith'),
    builtOn: str(o.builtOn, 'builtOn'),
  };
}

/** This platform's prebuilds, by file name; a folder or metadata file that cannot be used is a reason. */
export function listPrebuilds(root: string): { prebuilds: Prebuild[]; problems: string[] } {
  const folder = prebuildFolder(root);
  const prebuilds: Prebuild[] = [];
  const problems: string[] = [];
  if (!existsSync(folder)) return { prebuilds, problems };
  for (const name of readdirSync(folder)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    try {
      const meta = parsePrebuildMeta(JSON.parse(readFileSync(join(folder, name), 'utf8')));
      if (meta.platform !== process.platform || meta.arch !== process.arch)
        throw new Error(`it is for ${meta.platform}-${meta.arch}`);
      if (!existsSync(join(folder, meta.file))) throw new Error(`its binary ${meta.file} is missing`);
      prebuilds.push({ path: join(folder, meta.file), meta });
    } catch (err) {
      problems.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { prebuilds, problems };
}

/** The C library this Node runs on ('glibc' or 'musl'), undefined off Linux. */
export function runtimeLibc(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/**
 * A LibTorch library's version: its versioned file name, the LibTorch folder's build-version, or the wheel's
 * version.py.
 */
export function libtorchVersionAt(library: string): string | undefined {
  const fromName = /\.so\.(\d+\.\d+\.\d+)$/.exec(basename(library))?.[1];
  if (fromName) return fromName;
  const up = dirname(dirname(library));
  const read = (p: string): string | undefined => (existsSync(p) ? readFileSync(p, 'utf8').slice(0, 4096) : undefined);
  const buildVersion = read(join(up, 'build-version'))?.trim().split(/\s+/)[0];
  if (buildVersion && /^\d+\.\d+\.\d+/.test(buildVersion)) return buildVersion;
  return /__version__\s*=\s*['"](\d+\.\d+\.\d+[^'"]{0,40})['"]/.exec(read(join(up, 'version.py')) ?? '')?.[1];
}

/** The LibTorch mapped into this process (Linux: /proc/self/maps), undefined when none is or off Linux. */
export function loadedLibtorch(maps = '/proc/self/maps'): LoadedLibtorch | undefined {
  if (!existsSync(maps)) return undefined;
  const line = readFileSync(maps, 'utf8')
    .split('\n')
    .find((l) => /\/libtorch_cpu\.(so|dylib)[^/]*$/.test(l));
  const mapped = line?.slice(line.indexOf('/'));
  if (!mapped) return undefined;
  const library = existsSync(mapped) ? realpathSync(mapped) : mapped;
  const cuda =
    existsSync(dirname(library)) && readdirSync(dirname(library)).some((n) => /^libtorch_cuda\.(so|dylib)/.test(n));
  return { library, version: libtorchVersionAt(library), cuda };
}

function majorMinor(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * Why a loaded prebuild does not fit the LibTorch it found (undefined when it does): another
 * major.minor, a LibTorch with CUDA for a CPU-only binary, or a binary whose headers were another version.
 */
export function prebuildMismatch(
  meta: PrebuildMeta,
  loaded: LoadedLibtorch | undefined,
  reportedVersion: string,
): string | undefined {
  const wanted = `LibTorch ${majorMinor(meta.libtorch.version)} (${prebuildTag(meta.libtorch)})`;
  if (majorMinor(reportedVersion) !== majorMinor(meta.libtorch.version)) {
    return `it reports LibTorch ${reportedVersion} but its metadata says ${meta.libtorch.version}`;
  }
  if (!loaded) return `it is built for ${wanted} and no LibTorch library could be seen in this process`;
  if (!loaded.version) return `it is built for ${wanted} and the version of ${loaded.library} is unknown`;
  if (majorMinor(loaded.version) !== majorMinor(meta.libtorch.version)) {
    return `it is built for ${wanted} but LibTorch ${loaded.version} (${loaded.library}) was loaded`;
  }
  if (meta.libtorch.variant === 'cpu' && loaded.cuda) {
    return `it is CPU-only and the LibTorch at ${dirname(loaded.library)} has CUDA`;
  }
  return undefined;
}
