/**
 * Data-parallel membership of one process: rank, world size and the rendezvous (TCP at
 * masterAddr:masterPort, or a shared file), over c10d Gloo (CPU) or NCCL (CUDA builds). Launchers set
 * the environment the torchrun way (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or the Slurm way
 * (SLURM_PROCID, SLURM_NTASKS); `distributedFromEnv` reads either.
 */
import { OptionError } from './errors.js';
import { native, type DistributedOptions, type NativeDistributedContext } from './native.js';
import { expectInteger, expectOneOf, expectString } from './validate.js';

// Declared with what crosses the addon (src/native-types.ts); re-exported here, where users look for it.
export type { DistributedOptions } from './native.js';

/** What this build supports: Gloo needs LibTorch with c10d (and the Gloo headers at build time). */
export function distributedAvailable(): { gloo: boolean; nccl: boolean } {
  return native().distributedAvailable();
}

export function validateDistributedOptions(o: DistributedOptions): DistributedOptions {
  if (typeof o !== 'object' || o === null) throw new OptionError('options', 'an object', o);
  expectInteger(o.worldSize, 'worldSize', 1, 65536);
  expectInteger(o.rank, 'rank', 0, o.worldSize - 1);
  if (o.masterAddr !== undefined) expectString(o.masterAddr, 'masterAddr');
  if (o.masterPort !== undefined) expectInteger(o.masterPort, 'masterPort', 1, 65535);
  if (o.fileStore !== undefined) expectString(o.fileStore, 'fileStore');
  if (o.backend !== undefined) expectOneOf(o.backend, 'backend', ['gloo', 'nccl'] as const);
  if (o.timeoutMs !== undefined) expectInteger(o.timeoutMs, 'timeoutMs', 1, 2 ** 31 - 1);
  if (o.localRank !== undefined) expectInteger(o.localRank, 'localRank', 0, 1023);
  return o;
}

export class DistributedContext {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  /** @internal the addon's object, for Trainer.attachDistributed */
  readonly handle: NativeDistributedContext;

  private constructor(options: DistributedOptions) {
    this.localRank = options.localRank ?? 0;
    this.handle = new (native().DistributedContext)({ ...options, cudaDevice: this.localRank });
    this.rank = options.rank;
    this.worldSize = options.worldSize;
  }

  /** Joins the group; resolves when every rank joined, rejects after timeoutMs naming the rendezvous. */
  static async join(options: DistributedOptions): Promise<DistributedContext> {
    const ctx = new DistributedContext(validateDistributedOptions(options));
    await ctx.handle.join();
    return ctx;
  }

  get isMain(): boolean {
    return this.rank === 0;
  }

  barrier(): Promise<void> {
    return this.handle.barrier();
  }

  /** Element-wise sum over ranks of a few numbers. */
  allreduceSum(values: number[] | Float64Array): Promise<Float64Array> {
    return this.handle.allreduceSum(Float64Array.from(values));
  }

  /** Every rank receives root's numbers (root 0 by default; the others' values are ignored). */
  broadcast(values: number[] | Float64Array, root = 0): Promise<Float64Array> {
    expectInteger(root, 'root', 0, this.worldSize - 1);
    return this.handle.broadcast(Float64Array.from(values), root);
  }

  dispose(): void {
    this.handle.dispose();
  }
}

/** The rank this process was launched as: torchrun's RANK/WORLD_SIZE first, then Slurm's; null when neither is set. */
export function distributedFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): (DistributedOptions & { localRank: number; launcher: 'torchrun' | 'slurm' }) | null {
  const int = (name: string, min: number): number => {
    const raw = env[name]!;
    const v = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || v < min)
      throw new OptionError(name, `an integer >= ${min} (environment variable)`, raw);
    return v;
  };
  const common = () => {
    const port = env.MASTER_PORT !== undefined && env.MASTER_PORT !== '' ? int('MASTER_PORT', 1) : 29500;
    if (port > 65535)
      throw new OptionError('MASTER_PORT', 'an integer in [1, 65535] (environment variable)', env.MASTER_PORT);
    return { masterAddr: env.MASTER_ADDR || '127.0.0.1', masterPort: port };
  };
  let found: { rank: number; worldSize: number; localRank: number; launcher: 'torchrun' | 'slurm' } | null = null;
  if (env.RANK !== undefined && env.WORLD_SIZE !== undefined) {
    found = {
      rank: int('RANK', 0),
      worldSize: int('WORLD_SIZE', 1),
      localRank: env.LOCAL_RANK ? int('LOCAL_RANK', 0) : 0,
      launcher: 'torchrun',
    };
  } else if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) {
    found = {
      rank: int('SLURM_PROCID', 0),
      worldSize: int('SLURM_NTASKS', 1),
      localRank: env.SLURM_LOCALID ? int('SLURM_LOCALID', 0) : 0,
      launcher: 'slurm',
    };
  }
  if (!found) return null;
  if (found.rank >= found.worldSize)
    throw new OptionError(
      found.launcher === 'slurm' ? 'SLURM_PROCID' : 'RANK',
      `an integer below the world size ${found.worldSize}`,
      found.rank,
    );
  return { ...found, ...common() };
}
