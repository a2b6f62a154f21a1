/** `torchxfer data inspect`: label counts, patients, official split sizes and the files that cannot be used. */
import type { CommandModule } from 'yargs';

import { labelCounts } from '../data/datasets/common.js';
import { decodeGrey } from '../data/decode.js';
import { probeImage } from '../data/probe.js';
import type { Dataset } from '../data/types.js';
import { Progress } from '../progress.js';
import { loadFromArgs, type DatasetArgs } from './data-options.js';
import { addOptions, DATASET_OPTIONS, parseOptions, type OptionList } from './options.js';

const INSPECT_OPTIONS: OptionList = [
  ...DATASET_OPTIONS.map((o) =>
    o === 'data' ? (['data', { required: true }] as [string, { required: boolean }]) : o,
  ).filter((o) => o !== 'cache-dir'),
  ['verify', { default: true }],
  ['json', { default: true }],
];

/** Everything `inspect` prints, as data (also the --json output). */
export function inspectDataset(ds: Dataset) {
  const patients = new Set(ds.samples.map((s) => s.patientId));
  const official = ds.officialSplits
    ? {
        trainVal: ds.samples.filter((s) => ds.officialSplits?.trainVal?.has(s.id)).length,
        test: ds.samples.filter((s) => ds.officialSplits?.test?.has(s.id)).length,
      }
    : undefined;
  return {
    name: ds.name,
    images: ds.samples.length,
    patients: patients.size,
    labels: labelCounts(ds),
    officialSplits: official,
    skipped: ds.skipped,
  };
}

/** The dataset without the samples whose file is not a whole image: header checks, or (verify) full decodes. */
async function checkFiles(ds: Dataset, verify: boolean, quiet: boolean): Promise<Dataset> {
  const bar = new Progress({
    total: ds.samples.length,
    label: verify ? 'decoding' : 'checking headers',
    unit: 'img',
    stream: quiet ? null : undefined,
  });
  const bad = new Map<string, string>();
  for (const s of ds.samples) {
    let reason = probeImage(s.path);
    if (!reason && verify) {
      try {
        await decodeGrey(s.path, { width: 32, height: 32 });
      } catch (err) {
        reason = `cannot be decoded (${(err as Error).message})`;
      }
    }
    if (reason) bad.set(s.id, reason);
    bar.tick(1);
  }
  bar.finish();
  const samples = ds.samples.filter((s) => !bad.has(s.id));
  const skipped = [
    ...ds.skipped,
    ...ds.samples.filter((s) => bad.has(s.id)).map((s) => ({ path: s.path, reason: bad.get(s.id)! })),
  ];
  return { ...ds, samples, skipped };
}

export const dataInspectCommand: CommandModule = {
  command: 'inspect',
  describe:
    'Show label counts, patients, official split sizes and the files that cannot be used (headers checked; --verify decodes every image)',
  builder: (y) =>
    addOptions(y, INSPECT_OPTIONS)
      .example('$0 data inspect --data ~/data/ChestX-ray14', 'Counts of the NIH dataset (its layout recognised)')
      .example(
        '$0 data inspect --data scans/ --format dicom --labels labels.csv --verify',
        'A DICOM tree, every image decoded',
      )
      .example('$0 data inspect --data labels.csv --format csv --json', 'Your own table, as JSON'),
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, INSPECT_OPTIONS) as unknown as DatasetArgs & {
      verify: boolean;
      json: boolean;
    };
    const ds = await checkFiles(loadFromArgs(args), args.verify, args.json);
    const info = inspectDataset(ds);
    if (args.json) {
      console.log(JSON.stringify({ ...info, checked: args.verify ? 'decoded' : 'headers' }, null, 2));
      return;
    }
    console.log(
      `${info.name}: ${info.images} usable images, ${info.patients} patients (${args.verify ? 'every image decoded' : 'headers checked; --verify decodes every image'})`,
    );
    const w = Math.max(5, ...info.labels.map((l) => l.label.length));
    console.log(`${'label'.padEnd(w)}  positive  negative  unknown`);
    for (const l of info.labels)
      console.log(
        `${l.label.padEnd(w)}  ${String(l.positive).padStart(8)}  ${String(l.negative).padStart(8)}  ${String(l.unknown).padStart(7)}`,
      );
    if (info.officialSplits)
      console.log(`official split: ${info.officialSplits.trainVal} train_val, ${info.officialSplits.test} test`);
    else console.log('official split: none (training falls back to a random 70/10/20 split by patient)');
    console.log(`skipped: ${info.skipped.length}`);
    for (const s of info.skipped.slice(0, 50)) console.log(`  ${s.path}: ${s.reason}`);
    if (info.skipped.length > 50) console.log(`  ... and ${info.skipped.length - 50} more (--json lists all)`);
  },
};
