/**
 * Model initialisation for a run (SPEC "Initialisation"): torchvision's default init ('none'),
 * ImageNet weights ('imagenet'), their "moments" (Raghu et al.), a registry weight set, or a file
 * (a torchxfer checkpoint or any state_dict). The input normalisation travels with the weights.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';

import { loadCheckpoint, NotACheckpointError, type StoredCheckpointMetadata } from '../checkpoint.js';
import { deriveSeed } from '../random.js';
import { OptionError } from '../errors.js';
import { manualSeed } from '../runtime.js';
import { loadModel, type LoadReport, type Model } from '../model.js';
import type { NativeTensor } from '../native.js';
import { readWeights } from '../weights/io.js';
import { withFilePrefix } from '../weights/load-report.js';
import { getWeightsEntry, loadManifest, type Preprocessing, type WeightsEntry } from '../weights/manifest.js';
import { resolveWeights } from '../weights/fetch.js';
import type { TrainConfig } from './config.js';

/** ImageNet normalisation on [0, 1] pixels (torchvision). */
export const IMAGENET_PREPROCESSING: Preprocessing = {
  channels: 3,
  valueRange: [0, 1],
  inputSize: 224,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** What the trainer applies to [0, 1] pixels: (x - mean) / std per channel. */
export interface InputNormalisation {
  mean: number[];
  std: number[];
}

export interface InitResult {
  model: Model;
  /** The weights' preprocessing (recorded in checkpoints; checked against later use). */
  preprocessing: Preprocessing;
  normalisation: InputNormalisation;
  /** e.g. "imagenet (densenet121-imagenet)", "none (torchvision init)". */
  description: string;
  report?: LoadReport;
  /** When starting from a torchxfer checkpoint. */
  checkpoint?: StoredCheckpointMetadata;
  /** Tensors of the file that are not part of the network and were left out (named, with why). */
  ignored?: string[];
}

/**
 * Tensors TorchXRayVision's DenseNets carry beside the network: `op_threshs`, the per-label operating
 * points of their 18-output head (a buffer once set). The head is replaced by the task's, so they have
 * nothing to act on; a strict load would otherwise refuse them as unexpected keys.
 */
const XRV_HEAD_EXTRAS = ['op_threshs'];

function dropXrvHeadExtras(tensors: Record<string, NativeTensor>, xrv: boolean): string[] {
  if (!xrv) return [];
  const dropped = XRV_HEAD_EXTRAS.filter((k) => Object.hasOwn(tensors, k));
  for (const k of dropped) {
    tensors[k]!.dispose();
    delete tensors[k];
  }
  return dropped.map((k) => `${k} (TorchXRayVision's per-label operating points for its own head, which is replaced)`);
}

/**
 * Maps a weight set's preprocessing (value range, mean, std) to the trainer's form on [0, 1] pixels,
 * for the model's input channels: a 3-channel set used by a 1-channel model averages its channels.
 */
export function inputNormalisation(p: Preprocessing, inChannels: 1 | 3): InputNormalisation {
  const [lo, hi] = p.valueRange;
  const span = hi - lo;
  let mean = p.mean.map((m) => (m - lo) / span);
  let std = p.std.map((s) => s / span);
  const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  if (inChannels === 1 && mean.length > 1) {
    mean = [avg(mean)];
    std = [avg(std)];
  }
  if (inChannels === 3 && mean.length === 1) {
    mean = [mean[0]!, mean[0]!, mean[0]!];
    std = [std[0]!, std[0]!, std[0]!];
  }
  return { mean, std };
}

function imagenetEntry(arch: TrainConfig['arch']): WeightsEntry {
  const manifest = loadManifest();
  for (const entry of manifest.entries.values()) {
    if (entry.architecture === arch && /imagenet/i.test(entry.name)) return entry;
  }
  throw new OptionError('init', `'imagenet' weights for ${arch} in weights/manifest.json`, 'imagenet');
}

/**
 * The registry entry a local file is a copy of (same file name), or for a TorchXRayVision module pickled
 * under another name, an xrv entry of the architecture: their preprocessing (1 channel, [-1024, 1024],
 * 224 px) then travels with the weights, as it does for the registry name.
 */
function entryForFile(path: string, container: string, arch: TrainConfig['arch']): WeightsEntry | undefined {
  const entries = [...loadManifest().entries.values()];
  const byName = entries.find((e) => e.fileName === basename(path) && e.architecture === arch);
  if (byName) return byName;
  if (!/class torchxrayvision\./.test(container)) return undefined;
  return entries.find((e) => e.architecture === arch && /torchxrayvision/i.test(String(e.source ?? '')));
}

async function readWeightsFile(path: string): Promise<{
  tensors: Record<string, NativeTensor>;
  checkpoint?: StoredCheckpointMetadata;
  container?: string;
  stripped?: string;
}> {
  if (/\.safetensors$/i.test(path)) {
    try {
      const ck = await loadCheckpoint(path);
      return { tensors: ck.tensors, checkpoint: ck.metadata };
    } catch (err) {
      // Only a file that is no torchxfer checkpoint is read as plain weights below: a checkpoint that
      // fails its checks (checksum, format version) is an error, never weights of unknown provenance.
      if (!(err instanceof NotACheckpointError)) throw err;
    }
  }
  const { tensors, container, provenance } = await readWeights(path);
  return { tensors, container, stripped: provenance.strippedPrefix };
}

async function fetchOrExplain(name: string): Promise<string> {
  try {
    return await resolveWeights(name);
  } catch (err) {
    throw new Error(
      `weights '${name}' are not in the cache and could not be downloaded (${(err as Error).message}). ` +
        `On a machine with internet: \`torchxfer weights fetch ${name}\`; or copy the file here and \`torchxfer weights import FILE --name ${name}\`; or use --init none.`,
    );
  }
}

export async function initModel(config: TrainConfig, labels: string[]): Promise<InitResult> {
  // torchvision's init (and a replaced head) draw from LibTorch's global generator.
  manualSeed(deriveSeed('model-init', config.seed));
  const base = {
    arch: config.arch,
    numClasses: labels.length,
    inChannels: config.inChannels,
    greyMode: config.greyMode,
    dropout: config.dropout,
  };
  const init = config.init;

  if (init === 'none') {
    const model = await loadModel(base);
    return {
      model,
      preprocessing: IMAGENET_PREPROCESSING,
      normalisation: inputNormalisation(IMAGENET_PREPROCESSING, config.inChannels),
      description: 'none (torchvision default init)',
    };
  }

  let entry: WeightsEntry | undefined;
  let path: string;
  if (init === 'imagenet' || init === 'moments') {
    entry = imagenetEntry(config.arch);
    path = await fetchOrExplain(entry.name);
  } else if (existsSync(init)) {
    path = init;
  } else {
    try {
      entry = getWeightsEntry(init);
    } catch {
      throw new OptionError(
        'init',
        "'none', 'imagenet', 'moments', a registry name (torchxfer weights list) or an existing weights file",
        init,
      );
    }
    if (entry.architecture !== config.arch)
      throw new OptionError('init', `weights for ${config.arch} (${init} is a ${entry.architecture})`, init);
    path = await fetchOrExplain(init);
  }

  const { tensors, checkpoint, container, stripped } = await readWeightsFile(path);
  // The file's tensors are freed however loading ends; the model holds its own copy.
  try {
    const fileEntry = !entry && !checkpoint && container ? entryForFile(path, container, config.arch) : undefined;
    let preprocessing = (entry ?? fileEntry)?.preprocessing ?? IMAGENET_PREPROCESSING;
    if (checkpoint) {
      if (checkpoint.architecture && checkpoint.architecture !== config.arch) {
        throw new OptionError(
          'init',
          `a ${config.arch} checkpoint`,
          `${path} (architecture ${checkpoint.architecture})`,
        );
      }
      if (checkpoint.preprocessing) preprocessing = checkpoint.preprocessing;
    }
    const xrv = /torchxrayvision/i.test(`${(entry ?? fileEntry)?.source ?? ''} ${container ?? ''}`);
    const ignored = dropXrvHeadExtras(tensors, xrv);
    const model = await loadModel({ ...base, weights: tensors, strict: true });
    try {
      if (init === 'moments' || config.initMoments) model.reinitMoments(config.momentsScope, config.seed);
    } catch (err) {
      model.dispose();
      throw err;
    }
    const description = describeInit(config, path, { entry, fileEntry, checkpoint, container });
    return {
      model,
      preprocessing,
      normalisation: inputNormalisation(preprocessing, config.inChannels),
      description,
      report: model.loadReport && withFilePrefix(model.loadReport, stripped ?? ''),
      checkpoint,
      ...(ignored.length ? { ignored } : {}),
    };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

interface FoundWeights {
  entry?: WeightsEntry;
  fileEntry?: WeightsEntry;
  checkpoint?: StoredCheckpointMetadata;
  container?: string;
}

/** How the run's weights are described in its log: moments, ImageNet, a registry entry, a checkpoint or a file. */
function describeInit(config: TrainConfig, path: string, found: FoundWeights): string {
  const { entry, fileEntry, checkpoint, container } = found;
  const scope = config.momentsScope === 'conv' ? 'convolution weights' : 'every tensor';
  if (config.initMoments) return `moments of ${config.init} (${scope})`;
  if (config.init === 'moments') return `moments of ImageNet (${entry!.name}; ${scope})`;
  if (config.init === 'imagenet') return `imagenet (${entry!.name})`;
  if (entry) return `registry ${entry.name}`;
  if (checkpoint) return `checkpoint ${path}`;
  if (fileEntry) return `file ${path} (${container}; preprocessing of ${fileEntry.name})`;
  return `file ${path}`;
}
