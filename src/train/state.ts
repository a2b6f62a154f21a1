/**
 * The resumable state of a run, in OUT/resume/: model and optimiser tensors (safetensors, atomic) and
 * a JSON file with the loop's position, history and a hash of the config it belongs to. Written at
 * every epoch end and on interruption; `--resume` continues from it to the same result.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import type { NativeTensor } from '../native.js';
import { readSafetensors, writeSafetensors } from '../weights/io.js';
import type { TrainConfig } from './config.js';

export interface EpochRecord {
  /** The epoch's number, from 1 (as on screen, in metrics.json, checkpoints and the results DB). */
  epoch: number;
  trainLoss: number;
  valLoss: number;
  valAuc: number | null;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface LoopPosition {
  /** Epoch being trained and the next batch within it. */
  epoch: number;
  batch: number;
  /** Optimiser steps done. */
  step: number;
  /** Sum and count of training losses in the current epoch so far. */
  epochLossSum: number;
  epochLossCount: number;
  history: EpochRecord[];
  bestValLoss: number | null;
  /** The number (from 1) of the epoch whose checkpoint was kept. */
  bestEpoch: number | null;
  /** The max_lr used (after the LR finder when 'auto'). */
  maxLr: number;
  /** The finder's curve, the max_lr chosen and the other rules' suggestions (recorded beside it). */
  lrFinder?: {
    lrs: number[];
    losses: number[];
    suggestion: number;
    suggestions?: { valley: number; minimum: number; minDiv10: number };
  };
  done: boolean;
}

interface StateFile {
  configHash: string;
  /** The run's options, so --resume can reuse them (absent in states of older versions). */
  config?: TrainConfig;
  position: LoopPosition;
  stamp: string;
  tensorsFile: string;
}

/** Options that do not change the result: a resumed run may change them. */
export const RESUME_FREE_KEYS = ['out', 'resume', 'keepResume', 'force', 'threads', 'cacheDir'] as const;

/** A hash of the options that change the result. */
export function configHash(config: TrainConfig): string {
  const rest: Record<string, unknown> = { ...config };
  for (const k of RESUME_FREE_KEYS) delete rest[k];
  const canonical = JSON.stringify(rest, Object.keys(rest).sort());
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

import { writeJsonAtomic } from '../fs-atomic.js';

export { writeJsonAtomic };

export class ResumeState {
  readonly dir: string;
  constructor(out: string) {
    this.dir = join(out, 'resume');
  }
  get jsonPath(): string {
    return join(this.dir, 'state.json');
  }
  exists(): boolean {
    return existsSync(this.jsonPath);
  }

  /**
   * Tensors to a new file first, then the JSON that names it, then the old tensors go: a crash at any
   * point leaves a consistent pair.
   */
  async save(
    config: TrainConfig,
    position: LoopPosition,
    model: Record<string, NativeTensor>,
    optimizer: Record<string, NativeTensor>,
  ): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const tensors: Record<string, NativeTensor> = {};
    for (const [k, v] of Object.entries(model)) tensors[`model.${k}`] = v;
    for (const [k, v] of Object.entries(optimizer)) tensors[`optim.${k}`] = v;
    const stamp = `${position.epoch}-${position.batch}-${position.step}`;
    const tensorsFile = `state-${stamp}.safetensors`;
    await writeSafetensors(join(this.dir, tensorsFile), tensors, { stamp });
    const file: StateFile = { configHash: configHash(config), config, position, stamp, tensorsFile };
    writeJsonAtomic(this.jsonPath, file);
    for (const f of readdirSync(this.dir)) {
      if (f.startsWith('state-') && f !== tensorsFile) rmSync(join(this.dir, f), { force: true });
    }
  }

  /**
   * Removes the state this class wrote (state.json, state-*.safetensors), then resume/ itself only if nothing else is
   * in it.
   */
  remove(): void {
    if (!existsSync(this.dir)) return;
    for (const f of readdirSync(this.dir)) {
      if (f === 'state.json' || /^state\.json\.tmp-\d+$/.test(f) || /^state-[\d-]+\.safetensors$/.test(f))
        rmSync(join(this.dir, f), { force: true });
    }
    if (readdirSync(this.dir).length === 0) rmdirSync(this.dir);
  }

  /** The options the saved run was started with (undefined: no state, or one written before they were kept). */
  savedConfig(): TrainConfig | undefined {
    if (!this.exists()) return undefined;
    try {
      return (JSON.parse(readFileSync(this.jsonPath, 'utf8')) as StateFile).config;
    } catch {
      return undefined;
    }
  }

  async load(
    config: TrainConfig,
  ): Promise<{ position: LoopPosition; model: Record<string, NativeTensor>; optimizer: Record<string, NativeTensor> }> {
    let file: StateFile;
    try {
      file = JSON.parse(readFileSync(this.jsonPath, 'utf8')) as StateFile;
    } catch (err) {
      throw new Error(`cannot resume: ${this.jsonPath} is unreadable (${(err as Error).message})`);
    }
    if (file.configHash !== configHash(config)) {
      throw new Error(
        `cannot resume: ${this.dir} belongs to a run with different options (start without --resume, or use another --out)`,
      );
    }
    const tensorsPath = join(this.dir, file.tensorsFile);
    const { tensors, metadata } = await readSafetensors(tensorsPath);
    if (metadata.stamp !== file.stamp)
      throw new Error(`cannot resume: ${tensorsPath} does not match ${this.jsonPath}; start again without --resume`);
    const model: Record<string, NativeTensor> = {};
    const optimizer: Record<string, NativeTensor> = {};
    for (const [k, v] of Object.entries(tensors)) {
      if (k.startsWith('model.')) model[k.slice(6)] = v;
      else if (k.startsWith('optim.')) optimizer[k.slice(6)] = v;
    }
    return { position: numberedFromOne(file.position), model, optimizer };
  }
}

/**
 * States saved before epochs were numbered from 1 everywhere hold history[0].epoch === 0 and a
 * 0-based bestEpoch: renumbered here, so a resumed run reports one numbering.
 */
function numberedFromOne(position: LoopPosition): LoopPosition {
  if (position.history.length === 0 || position.history[0]!.epoch !== 0) return position;
  return {
    ...position,
    history: position.history.map((e) => ({ ...e, epoch: e.epoch + 1 })),
    bestEpoch: position.bestEpoch === null ? null : position.bestEpoch + 1,
  };
}
