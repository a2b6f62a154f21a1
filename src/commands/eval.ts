/**
 * `torchxfer eval` and `torchxfer predict`: use a trained checkpoint (it carries its data, labels and preprocessing).
 */
import { writeFileSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { formatCsv } from '../data/csv.js';
import { evaluate, predict } from '../train/inference.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

const EVAL_OPTIONS: OptionList = [
  ['checkpoint', { required: true }],
  ['subset', { default: true }],
  ['tta', { default: 0 }],
  ['data', { note: 'eval: only if the data moved since training (the checkpoint records where it was)' }],
  'cache-dir',
  'device',
  ['json', { default: true }],
];

export const evalCommand: CommandModule = {
  command: 'eval',
  describe: "Score a checkpoint on its run's test (or val/train) images: AUC, optionally with TTA",
  builder: (y) =>
    addOptions(y, EVAL_OPTIONS)
      .example('$0 eval --checkpoint runs/train/best.safetensors --tta 4', 'Test AUC with 4 augmented copies per image')
      .example('$0 eval --checkpoint best.safetensors --subset val --json', 'Validation AUC as JSON'),
  handler: async (args) => {
    const a = parseOptions(args as Record<string, unknown>, EVAL_OPTIONS) as unknown as {
      checkpoint: string;
      subset: 'test' | 'val' | 'train';
      tta: number;
      data?: string;
      cacheDir?: string;
      device?: string;
      json: boolean;
    };
    const r = await evaluate({
      checkpoint: a.checkpoint,
      split: a.subset,
      tta: a.tta,
      data: a.data,
      cacheDir: a.cacheDir,
      device: a.device ?? 'auto',
    });
    if (a.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    const per = Object.entries(r.perLabel).map(
      ([l, v]) => `  ${l}: ${v === null ? 'n/a (one class only)' : v.toFixed(4)}`,
    );
    const tta = r.tta > 0 ? ` with TTA (${r.tta} copies)` : '';
    const ci = r.ci ? ` (95% CI ${r.ci[0].toFixed(3)}-${r.ci[1].toFixed(3)})` : '';
    console.log(
      `${r.simulated ? '[SIMULATED] ' : ''}${r.split}: ${r.images} images, AUC ${r.auc === null ? 'n/a' : r.auc.toFixed(4)}${tta}${ci}, loss ${r.loss.toFixed(4)}\n${per.join('\n')}`,
    );
  },
};

const PREDICT_OPTIONS: OptionList = [
  ['checkpoint', { required: true }],
  ['tta', { default: 0 }],
  ['out', { note: 'a file (default: stdout)' }],
  'device',
  ['json', { default: true }],
];

export const predictCommand: CommandModule = {
  command: 'predict <images..>',
  describe:
    'Probabilities per label for image files (PNG, JPEG, DICOM) from a checkpoint; exits 1 when no image could be read',
  builder: (y) =>
    addOptions(
      y.positional('images', { type: 'string', array: true, describe: 'Image files' }),
      PREDICT_OPTIONS,
    ).example('$0 predict --checkpoint best.safetensors a.png b.dcm --json', 'JSON probabilities'),
  handler: async (args) => {
    const a = parseOptions(args as Record<string, unknown>, PREDICT_OPTIONS) as unknown as {
      images: string[];
      checkpoint: string;
      tta: number;
      json: boolean;
      out?: string;
      device?: string;
    };
    const preds = await predict({
      checkpoint: a.checkpoint,
      images: a.images.map(String),
      tta: a.tta,
      device: a.device ?? 'auto',
    });
    let text: string;
    if (a.json) text = JSON.stringify(preds, null, 2) + '\n';
    else {
      const labels = Object.keys(preds.find((p) => p.probabilities)?.probabilities ?? {});
      text = formatCsv([
        ['file', ...labels, 'error'],
        ...preds.map((p) => [p.file, ...labels.map((l) => p.probabilities?.[l]), p.error]),
      ]);
    }
    if (a.out) {
      writeFileSync(a.out, text);
      console.error(`Wrote ${a.out}`);
    } else process.stdout.write(text);
    const failed = preds.filter((p) => p.error).length;
    if (failed)
      console.error(
        `${failed} of ${preds.length} image(s) could not be read (see the error ${a.json ? 'field' : 'column'}).`,
      );
    if (failed === preds.length) {
      console.error('torchxfer: no image could be read; nothing was predicted.');
      process.exitCode = 1;
    }
  },
};
