/** `torchxfer train`: one run of the paper's method (defaults: SPEC.md), on your data or the phantoms. */
import type { Argv, CommandModule } from 'yargs';

import { DATASET_FORMATS } from '../data/datasets/index.js';
import { ARCHS, FROZEN_BATCHNORM, GREY_MODES } from '../model.js';
import { STRATEGIES } from '../schedule/index.js';
import { OPTIMIZERS, POLICIES, readConfigFile, TRAIN_DEFAULTS, type TrainConfig } from '../train/config.js';
import { argsWithoutNproc, launchLocal } from '../train/distributed.js';
import { train } from '../train/run.js';
import { expectInteger } from '../validate.js';

/** The options shared by train and the commands that take a training config. */
export function trainOptions<T>(y: Argv<T>): Argv<T> {
  const d = TRAIN_DEFAULTS;
  return y
    .option('config', { type: 'string', describe: 'JSON or YAML file with any of these options (command-line flags win)' })
    .option('data', { type: 'string', describe: 'Dataset root; omit for the built-in SIMULATED phantom chest set' })
    .option('format', { choices: DATASET_FORMATS, describe: `Dataset layout (default ${d.format})` })
    .option('task', { type: 'string', describe: 'Label(s) to learn, comma-separated; one label = binary task (phantom default: Cardiomegaly; else all labels)' })
    .option('n', { type: 'number', describe: 'Training-set size (binary: balanced 50/50; multi-label: first N of a seeded shuffle); default all' })
    .option('split', { choices: ['official', 'random'] as const, describe: `Test split: the dataset's official list, or random 70/10/20 by patient (default ${d.split})` })
    .option('arch', { choices: ARCHS, describe: `Architecture (default ${d.arch})` })
    .option('init', { type: 'string', describe: `none | imagenet | moments | <registry name> | <weights or checkpoint file> (default ${d.init}; phantom default none)` })
    .option('strategy', { choices: STRATEGIES, describe: `Transfer strategy (default ${d.strategy})` })
    .option('policy', { choices: POLICIES, describe: `Learning-rate policy (default ${d.policy})` })
    .option('optimizer', { choices: OPTIMIZERS, describe: `Optimiser (default ${d.optimizer})` })
    .option('epochs', { type: 'number', describe: `Epochs (default ${d.epochs})` })
    .option('batch-size', { type: 'number', describe: `Batch size (default ${d.batchSize})` })
    .option('max-lr', { type: 'string', describe: `max_lr, or auto to run the LR finder (the loss minimum) first (default ${d.maxLr})` })
    .option('final-div', { type: 'number', describe: `one-cycle final LR = max_lr / final-div (default ${d.finalDiv}; the authors' code used 250000)` })
    .option('weight-decay', { type: 'number', describe: 'Decoupled weight decay, none on biases and BatchNorm (default 0)' })
    .option('nesterov', { type: 'boolean', describe: 'Nesterov momentum (SGD only)' })
    .option('image-size', { type: 'number', describe: `Stored image side (default ${d.imageSize})` })
    .option('crop', { type: 'number', describe: `Training crop side (default ${d.crop})` })
    .option('in-channels', { type: 'number', choices: [1, 3], describe: `Model input channels (default ${d.inChannels})` })
    .option('grey-mode', { choices: GREY_MODES, describe: `1-channel input with RGB weights: sum the first conv, or replicate the image (default ${d.greyMode})` })
    .option('dropout', { type: 'number', describe: 'Dropout before the head (default 0)' })
    .option('frozen-batch-norm', { choices: FROZEN_BATCHNORM, describe: `BatchNorm in frozen groups (default ${d.frozenBatchNorm}, as the authors)` })
    .option('tta', { type: 'number', describe: `Test-time augmented copies added to the centre crop (default ${d.tta})` })
    .option('seed', { type: 'number', describe: `Seed (default ${d.seed})` })
    .option('device', { type: 'string', describe: 'cpu | cuda | cuda:N | auto (default auto)' })
    .option('channels-last', { type: 'boolean', describe: 'channels_last memory format (default: on)' })
    .option('threads', { type: 'number', describe: 'CPU threads (default: all cores)' })
    .option('max-steps', { type: 'number', describe: 'Stop after this many optimiser steps (quick looks)' })
    .option('cache-dir', { type: 'string', describe: 'Cache root for images and phantoms (default $TORCHXFER_CACHE or ~/.cache/torchxfer)' }) as Argv<T>;
}

const CLI_KEYS: Record<string, keyof TrainConfig> = {
  data: 'data', format: 'format', task: 'task', n: 'n', split: 'split', arch: 'arch', init: 'init', strategy: 'strategy', policy: 'policy',
  optimizer: 'optimizer', epochs: 'epochs', batchSize: 'batchSize', maxLr: 'maxLr', finalDiv: 'finalDiv', weightDecay: 'weightDecay',
  nesterov: 'nesterov', imageSize: 'imageSize', crop: 'crop', inChannels: 'inChannels', greyMode: 'greyMode', dropout: 'dropout',
  frozenBatchNorm: 'frozenBatchNorm', tta: 'tta', seed: 'seed', device: 'device', channelsLast: 'channelsLast', threads: 'threads',
  maxSteps: 'maxSteps', cacheDir: 'cacheDir', out: 'out', resume: 'resume',
};

/**
 * The built-in default (no --data): the paper's best recipe that runs offline here, sized to finish in
 * minutes on 2 CPU cores: one-cycle, fine-tuning from torchvision's init (no pretrained weights can be
 * downloaded here), N = 200 on a binary phantom target, 128-px images.
 */
export const PHANTOM_DEFAULTS: Partial<TrainConfig> = { init: 'none', strategy: 'fine-tune', n: 200, epochs: 6, imageSize: 128, crop: 118, maxLr: 3e-3, tta: 4 };

/** CLI arguments (+ config file) -> TrainConfig input; flags given on the command line win. */
export function configFromArgs(args: Record<string, unknown>): Partial<TrainConfig> & { out: string } {
  const fromFile = typeof args.config === 'string' ? readConfigFile(args.config) : {};
  const fromCli: Record<string, unknown> = {};
  for (const [arg, key] of Object.entries(CLI_KEYS)) if (args[arg] !== undefined) fromCli[key] = args[arg];
  if (typeof fromCli.maxLr === 'string') fromCli.maxLr = fromCli.maxLr === 'auto' ? 'auto' : Number(fromCli.maxLr);
  const merged = { ...fromFile, ...fromCli } as Partial<TrainConfig> & { out: string };
  if (merged.data === undefined) return { ...PHANTOM_DEFAULTS, ...merged };
  return merged;
}

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train a model (one-cycle, transfer strategies, TTA); no --data: the built-in phantom demo',
  builder: (y) =>
    trainOptions(y)
      .option('out', { type: 'string', describe: 'Output folder: best.safetensors, metrics.json, plots, resume/ (default: runs/train-<date>-<time>, a new one each run)' })
      .option('resume', { type: 'boolean', default: false, describe: 'Continue the interrupted run in --out' })
      .option('nproc', { type: 'number', describe: 'Data-parallel: N local worker processes (Gloo on 127.0.0.1), the global batch split between them' })
      .example('$0 train', 'The built-in demo: SIMULATED phantom chest X-rays, Cardiomegaly, N=200 (minutes on a laptop CPU)')
      .example('$0 train --data /data/NIH --format nih --task Emphysema --n 400 --init imagenet', 'The paper\'s recipe on NIH ChestX-ray14 Emphysema, N=400')
      .example('$0 train --data /data/NIH --task Hernia --init densenet121-res224-nih --strategy gradual-unfreeze --max-lr auto', 'Same-anatomy source weights, LR finder')
      .example('$0 train --config run.yaml --resume', 'Continue an interrupted run')
      .example('$0 train --nproc 2', 'Data-parallel over 2 local processes (torchrun/srun launches work too: see README)'),
  handler: async (args) => {
    if (args.nproc !== undefined) {
      const nproc = expectInteger(args.nproc, 'nproc', 1, 256);
      if (process.env.RANK !== undefined) throw new Error('--nproc cannot be combined with an external launcher (RANK is already set)');
      if (nproc > 1) {
        process.exitCode = await launchLocal(nproc, argsWithoutNproc(process.argv.slice(2)));
        return;
      }
    }
    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      console.error('\nInterrupt: saving a resumable state (Ctrl-C again to quit at once)...');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    try {
      const config = configFromArgs(args as Record<string, unknown>);
      if (!config.out) {
        if (config.resume) throw new Error('--resume needs the --out folder of the run to continue');
        config.out = `runs/train-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
      }
      const run = train(config, { signal: controller.signal });
      run.on('log', (line) => console.error(line));
      const result = await run;
      const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
      console.log(
        `${result.simulated ? '[SIMULATED phantom data] ' : ''}test AUC ${fmt(result.testAuc)} (with TTA ${fmt(result.testAucTta)}), best epoch ${result.bestEpoch === null ? 'n/a' : result.bestEpoch + 1}, ` +
          `${Math.round(result.seconds)} s.\nOutputs in ${result.out}: best.safetensors (checkpoint), metrics.json, training-curves.svg/.png, schedule.svg/.png`,
      );
    } catch (err) {
      if (controller.signal.aborted) {
        console.error('Stopped. Resume with the same options plus --resume.');
        process.exitCode = 130;
        return;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  },
};
