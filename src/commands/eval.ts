/** `torchxfer eval` and `torchxfer predict`: use a trained checkpoint. */
import { writeFileSync } from 'node:fs';

import type { CommandModule } from 'yargs';

import { evaluate, predict } from '../train/inference.js';

export const evalCommand: CommandModule = {
  command: 'eval',
  describe: "Score a checkpoint on its run's test (or val/train) split: AUC, optionally with TTA",
  builder: (y) =>
    y
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'best.safetensors from torchxfer train' })
      .option('split', { choices: ['test', 'val', 'train'] as const, default: 'test' as const })
      .option('tta', { type: 'boolean', default: false, describe: 'Test-time augmentation: centre crop + 4 augmented copies, averaged' })
      .option('tta-copies', { type: 'number', default: 4, describe: 'Augmented copies with --tta' })
      .option('data', { type: 'string', describe: 'Where the data is now, if it moved since training' })
      .option('device', { type: 'string', default: 'cpu' })
      .option('json', { type: 'boolean', default: false })
      .example('$0 eval --checkpoint runs/train/best.safetensors --tta', 'Test AUC with TTA'),
  handler: async (args) => {
    const a = args as unknown as { checkpoint: string; split: 'test' | 'val' | 'train'; tta: boolean; ttaCopies: number; data?: string; device: string; json: boolean };
    const r = await evaluate({ checkpoint: a.checkpoint, split: a.split, tta: a.tta ? a.ttaCopies : 0, data: a.data, device: a.device });
    if (a.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    const per = Object.entries(r.perLabel).map(([l, v]) => `  ${l}: ${v === null ? 'missing (one class)' : v.toFixed(4)}`);
    console.log(`${r.simulated ? '[SIMULATED] ' : ''}${r.split}: ${r.images} images, AUC ${r.auc === null ? 'n/a' : r.auc.toFixed(4)}${r.tta ? ` (TTA, ${r.tta} copies)` : ''}, loss ${r.loss.toFixed(4)}\n${per.join('\n')}`);
  },
};

export const predictCommand: CommandModule = {
  command: 'predict <images..>',
  describe: 'Probabilities per label for image files (PNG, JPEG, DICOM) from a checkpoint',
  builder: (y) =>
    y
      .positional('images', { type: 'string', array: true, describe: 'Image files' })
      .option('checkpoint', { type: 'string', demandOption: true })
      .option('tta', { type: 'number', default: 0, describe: 'Augmented copies averaged with the centre crop' })
      .option('format', { choices: ['csv', 'json'] as const, default: 'csv' as const })
      .option('out', { type: 'string', describe: 'Write here instead of stdout' })
      .option('device', { type: 'string', default: 'cpu' })
      .example('$0 predict --checkpoint best.safetensors a.png b.dcm --format json', 'JSON probabilities'),
  handler: async (args) => {
    const a = args as unknown as { images: string[]; checkpoint: string; tta: number; format: 'csv' | 'json'; out?: string; device: string };
    const preds = await predict({ checkpoint: a.checkpoint, images: a.images, tta: a.tta, device: a.device });
    let text: string;
    if (a.format === 'json') text = JSON.stringify(preds, null, 2) + '\n';
    else {
      const labels = Object.keys(preds.find((p) => p.probabilities)?.probabilities ?? {});
      const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
      text = [['file', ...labels, 'error'].join(','), ...preds.map((p) => [q(p.file), ...labels.map((l) => (p.probabilities ? String(p.probabilities[l]) : '')), q(p.error ?? '')].join(','))].join('\n') + '\n';
    }
    if (a.out) writeFileSync(a.out, text);
    else process.stdout.write(text);
    const failed = preds.filter((p) => p.error).length;
    if (failed) console.error(`${failed} of ${preds.length} image(s) could not be read (see the error column).`);
  },
};
