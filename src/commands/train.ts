/** `torchxfer train`: one run of the paper's method (defaults: docs/protocol.md), on your data or the phantoms. */
import { join } from 'node:path';

import type { CommandModule } from 'yargs';

import { resolveTrainConfig, type TrainConfig } from '../train/config.js';
import { argsWithoutNproc, launchLocal } from '../train/distributed.js';
import { train, type TrainResult } from '../train/run.js';
import { addOptions, parseOptions, RUN_OPTIONS, type OptionList } from './options.js';
import { configFromArgs } from './run-config.js';

const TRAIN_OPTIONS: OptionList = [...RUN_OPTIONS, 'tta', 'out', 'resume', 'keep-resume', 'force', 'nproc'];

/** What the user reads at the end of a run: results, then where every artefact is. */
export function summary(result: TrainResult, tta: number): string {
  const fmt = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  // The interval is the bootstrap of the AUC reported last: with TTA, the TTA AUC.
  const ci = (of: string) =>
    result.testAucCi ? ` (95% CI of the ${of} ${fmt(result.testAucCi[0])}-${fmt(result.testAucCi[1])})` : '';
  const auc =
    tta > 0
      ? `test AUC ${fmt(result.testAuc)}; with TTA (${tta} copies) ${fmt(result.testAucTta)}${ci('TTA AUC')}`
      : `test AUC ${fmt(result.testAuc)}${ci('test AUC')}`;
  const best = result.bestEpoch === null ? 'n/a' : String(result.bestEpoch);
  const files = ['best.safetensors (checkpoint)', 'metrics.json', 'training-curves.svg/.png', 'schedule.svg/.png'].map(
    (f) => `  ${join(result.out, f)}`,
  );
  return `${result.simulated ? '[SIMULATED phantom data] ' : ''}${auc}, best epoch ${best} of ${result.epochs.length}, ${Math.round(result.seconds)} s.\nOutputs:\n${files.join('\n')}`;
}

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Train a model (one-cycle, transfer strategies, TTA); no --data: the built-in phantom demo',
  builder: (y) =>
    addOptions(
      y,
      TRAIN_OPTIONS.map((o) =>
        o === 'out'
          ? [
              'out',
              {
                note: 'a folder: best.safetensors, metrics.json, plots, resume/ (default: runs/train-<date>-<time>, a new one each run)',
              },
            ]
          : o,
      ),
    )
      .example(
        '$0 train',
        'The built-in demo: SIMULATED phantom chest X-rays, Cardiomegaly, N=200 (minutes on a laptop CPU)',
      )
      .example(
        '$0 train --data /data/NIH --format nih --task Emphysema --n 400 --init imagenet',
        "The paper's recipe on NIH ChestX-ray14 Emphysema, N=400",
      )
      .example(
        '$0 train --data /data/NIH --task Hernia --init densenet121-res224-nih --strategy gradual-unfreeze --max-lr auto',
        'Same-anatomy source weights, LR finder',
      )
      .example(
        '$0 train --data scans/ --task Effusion',
        'Your own data, its layout recognised (here a DICOM tree with labels.csv at its top)',
      )
      .example(
        '$0 train --data scans/ --format dicom --labels labels.csv --key SOPInstanceUID --task Effusion',
        'Your DICOM tree, labels from a CSV keyed by a DICOM tag',
      )
      .example(
        '$0 train --data scans/ --labels labels.csv --patient-column subject --task Effusion',
        'Patients from a column of the labels CSV (never read as a label)',
      )
      .example(
        '$0 train --data images/ --positive fracture --image-size 128',
        'A folder per class, 128-px images (the crop follows: 121)',
      )
      .example('$0 train --out runs/a --resume', 'Continue an interrupted run with its saved options')
      .example(
        '$0 train --nproc 2',
        'Data-parallel over 2 local processes (torchrun/srun launches work too: see README)',
      ),
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, TRAIN_OPTIONS);
    if (args.nproc !== undefined) {
      const nproc = args.nproc as number;
      if (process.env.RANK !== undefined)
        throw new Error('--nproc cannot be combined with an external launcher (RANK is already set)');
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
    let config: (Partial<TrainConfig> & { out: string }) | undefined;
    try {
      config = configFromArgs(args, TRAIN_OPTIONS, (line) => console.error(line));
      if (!config.out) {
        if (config.resume) throw new Error('--resume needs the --out folder of the run to continue');
        config.out = `runs/train-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
      }
      const run = train(config, { signal: controller.signal });
      run.on('log', (line) => console.error(line));
      const result = await run;
      console.log(summary(result, resolveTrainConfig(config).tta));
    } catch (err) {
      if (controller.signal.aborted) {
        console.error(
          `Stopped. Continue with: torchxfer train --out ${config?.out ?? '<out>'} --resume (the saved options are reused).`,
        );
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
