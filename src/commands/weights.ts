/** `torchxfer weights list | fetch NAME | import FILE --name N | inspect FILE [--json]`. */
import { join } from 'node:path';

import type { Argv, CommandModule } from 'yargs';

import { inspectWeights, type WeightsInspection } from '../weights/io.js';
import { describeHead, describeNetwork, recognisedArchitecture } from '../weights/identify.js';
import { fetchWeights, importWeights } from '../weights/fetch.js';
import { loadManifest } from '../weights/manifest.js';
import { addOptions, parseOptions, type OptionList } from './options.js';

interface CommonArgs {
  manifest?: string;
  'cache-dir'?: string;
}

const COMMON: OptionList = ['manifest', 'cache-dir'];
const common = (y: Argv, more: OptionList = []): Argv<CommonArgs> => addOptions(y, [...COMMON, ...more]) as never;
/** The weights folder in the --cache-dir root (undefined: the library's default, the same place). */
const weightsDir = (args: CommonArgs) =>
  args['cache-dir'] === undefined ? undefined : join(args['cache-dir'], 'weights');
const parsed = <T>(args: T, more: OptionList = []): T =>
  parseOptions(args as Record<string, unknown>, [...COMMON, ...more]) as T;

function checksumNote(verified: boolean, sha256: string): string {
  return verified ? `sha256 ${sha256} (verified)` : `sha256 ${sha256} (NOT verified: no published hash)`;
}

const list: CommandModule<object, CommonArgs & { json: boolean }> = {
  command: 'list',
  describe: 'List the named weight sets',
  builder: (y) => common(y, [['json', { default: true }]]) as never,
  handler: (argv) => {
    const args = parsed(argv, ['json']);
    const entries = [...loadManifest(args.manifest).entries.values()];
    if (args.json) {
      console.log(JSON.stringify(entries, null, 2));
      return;
    }
    for (const e of entries) {
      const check = e.sha256 ? 'sha256' : e.sha256Prefix ? `sha256 prefix ${e.sha256Prefix}` : 'no published hash';
      const pre = e.preprocessing;
      console.log(
        `${e.name.padEnd(28)} ${e.architecture.padEnd(12)} ${String(e.outputs).padStart(4)} outputs  ${pre.channels}ch ${pre.inputSize}px [${pre.valueRange.join(', ')}]  ${check}${e.container === 'pickled-module' ? '  (pickled module)' : ''}`,
      );
    }
  },
};

const fetch: CommandModule<object, CommonArgs & { name: string }> = {
  command: 'fetch <name>',
  describe: 'Download named weights into the cache (resumable, checksum-verified)',
  builder: (y) => common(y).positional('name', { type: 'string', demandOption: true }) as never,
  handler: async (argv) => {
    const args = parsed(argv);
    const r = await fetchWeights(args.name, { cacheDir: weightsDir(args), manifestPath: args.manifest });
    console.log(
      `${r.name}: ${r.downloaded ? 'downloaded to' : 'already in'} ${r.path}\n${checksumNote(r.verified, r.sha256)}`,
    );
    const entry = loadManifest(args.manifest).entries.get(r.name);
    if (entry?.container === 'pickled-module')
      console.log(
        `note: ${String(entry.containerNote ?? 'this file pickles a whole module: its state_dict is read as data')}`,
      );
  },
};

const importCmd: CommandModule<object, CommonArgs & { file: string; name?: string }> = {
  command: 'import <file>',
  describe: 'Copy a local weights file into the cache under a registry name, after verifying its checksum',
  builder: (y) => common(y.positional('file', { type: 'string', demandOption: true }), ['name']) as never,
  handler: async (argv) => {
    const args = parsed(argv, ['name']);
    const r = await importWeights(args.file, args.name, { cacheDir: weightsDir(args), manifestPath: args.manifest });
    console.log(`${r.name}: imported to ${r.path}\n${checksumNote(r.verified, r.sha256)}`);
  },
};

/** The lines on where the file came from, what holds the weights and what network they are. */
function describeFile(info: WeightsInspection): [string, string][] {
  const p = info.provenance;
  const lines: [string, string][] = [['format', p.era ? `${info.format}: ${p.era}` : info.format]];
  if (p.storageTypes.length) {
    const cuda = p.storageTypes.some((t) => t.startsWith('torch.cuda.'));
    lines.push([
      'storages',
      `${p.storageTypes.join(', ')}${p.locations.length ? ` saved on ${p.locations.join(', ')}` : ''}${cuda ? ' (a GPU save: read onto the CPU)' : ''}`,
    ]);
  }
  const checkpoint = info.container.startsWith('checkpoint') ? `training ${info.container}` : info.container;
  const others = p.checkpointKeys.length ? `; also ${p.checkpointKeys.join(', ')} (not loaded)` : '';
  lines.push([
    'contents',
    checkpoint + others + (p.strippedPrefix ? `; names read without DataParallel's '${p.strippedPrefix}'` : ''),
  ]);
  lines.push(['network', describeNetwork(info)]);
  const found = recognisedArchitecture(info);
  if (found) {
    lines.push(['head', describeHead(found) + (found.headNote ? ` (${found.headNote})` : '')]);
    if (found.leftOut.length)
      lines.push([
        'left out',
        `${found.leftOut.length} tensors: ${found.leftOut.slice(0, 3).join(', ')}${found.leftOut.length > 3 ? ', ...' : ''}`,
      ]);
  }
  return lines;
}

const INSPECT_OPTIONS: OptionList = [
  ['json', { default: true }],
  ['keys', { default: true }],
];

const inspect: CommandModule<object, { file: string; json: boolean; keys: number }> = {
  command: 'inspect <file>',
  describe:
    'Show the format and torch era, what holds the weights, the network recognised (prefix, head, classes), tensors and dtypes of a weights file',
  builder: (y) => addOptions(y.positional('file', { type: 'string', demandOption: true }), INSPECT_OPTIONS) as never,
  handler: async (argv) => {
    const args = parseOptions(argv as Record<string, unknown>, INSPECT_OPTIONS) as unknown as {
      file: string;
      json: boolean;
      keys: number;
    };
    const keys = args.keys;
    const info = await inspectWeights(args.file);
    const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const parameters = info.tensors.reduce((n, t) => n + numel(t.shape), 0);
    const dtypes: Record<string, number> = {};
    for (const t of info.tensors) dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    if (args.json) {
      const network = describeNetwork(info);
      console.log(
        JSON.stringify(
          {
            file: args.file,
            format: info.format,
            container: info.container,
            provenance: info.provenance,
            network,
            architectures: info.architectures,
            tensors: info.tensors.length,
            parameters,
            dtypes,
            entries: info.tensors,
            metadata: info.metadata,
          },
          null,
          2,
        ),
      );
      return;
    }
    console.log(`file        ${args.file}`);
    for (const [label, text] of describeFile(info)) console.log(`${label.padEnd(11)} ${text}`);
    console.log(`tensors     ${info.tensors.length}`);
    console.log(`parameters  ${parameters.toLocaleString('en-US')}`);
    console.log(
      `dtypes      ${Object.entries(dtypes)
        .map(([d, n]) => `${d} (${n})`)
        .join(', ')}`,
    );
    if (Object.keys(info.metadata).length) console.log(`metadata    ${Object.keys(info.metadata).join(', ')}`);
    for (const t of info.tensors.slice(0, keys)) console.log(`  ${t.name}  ${t.dtype} [${t.shape.join(', ')}]`);
    if (info.tensors.length > keys) console.log(`  ... ${info.tensors.length - keys} more`);
  },
};

export const weightsCommand: CommandModule<object, object> = {
  command: 'weights <command>',
  describe: 'Weight registry and weight files: list, fetch, import, inspect',
  builder: (y) => y.command(list).command(fetch).command(importCmd).command(inspect).demandCommand(1) as never,
  handler: () => {},
};
