/**
 * What network a weights file holds, from its names and shapes alone (the native backbone discovery:
 * DenseNet121 or ResNet50, directly or under one prefix such as CheXNet's "module.densenet121.", every
 * shape checked), said in words for `weights inspect` and checked before a run decodes any image.
 */
import { inspectWeights, type ArchitectureMatch, type WeightsInspection } from './io.js';

const ARCH_TITLES: Record<ArchitectureMatch['arch'], string> = { densenet121: 'DenseNet121', resnet50: 'ResNet50' };

/** The architecture found complete in the file (undefined when none is, or when two prefixes hold one). */
export function recognisedArchitecture(info: WeightsInspection): ArchitectureMatch | undefined {
  return info.architectures.find((m) => m.complete && m.completePrefixes.length === 1);
}

/** Conv (4-D) and Linear (2-D) weights: how big a network the file holds. */
function layerSummary(info: WeightsInspection): string {
  const layers = info.tensors.filter((t) => /(^|\.)weight$/.test(t.name) && (t.shape.length === 4 || t.shape.length === 2));
  const shown = layers.slice(0, 4).map((t) => `${t.name} [${t.shape.join(', ')}]`).join(', ');
  const more = layers.length > 4 ? `, ... ${layers.length - 4} more` : '';
  return `${layers.length} conv/linear layers${layers.length ? ` (${shown}${more})` : ''}, ${info.tensors.length} tensors`;
}

function prefixText(prefix: string): string {
  return prefix ? `under the prefix '${prefix}'` : 'with its own names (no prefix)';
}

/** "densenet121 under the prefix 'module.densenet121.' (pre-0.4 DenseNet names remapped)" and the like. */
export function describeMatch(m: ArchitectureMatch): string {
  return `${m.arch} ${prefixText(m.prefix)}${m.oldNames ? ' (pre-0.4 DenseNet names, e.g. norm.1, remapped)' : ''}`;
}

/** The head: "classifier.0 [14, 1024]: 14 classes", or that the file has none. */
export function describeHead(m: ArchitectureMatch): string {
  if (!m.head) return m.headNote || 'none in the file (a new head is made)';
  const classes = m.headShape[0];
  return `${m.head} [${m.headShape.join(', ')}]: ${classes} ${classes === 1 ? 'class' : 'classes'}`;
}

/** What the file holds, in one line: the network recognised, or what it is instead. */
export function describeNetwork(info: WeightsInspection): string {
  const found = recognisedArchitecture(info);
  if (found) return describeMatch(found);
  const ambiguous = info.architectures.find((m) => m.completePrefixes.length > 1);
  if (ambiguous) {
    return `${ambiguous.completePrefixes.length} complete ${ambiguous.arch} backbones, under ${ambiguous.completePrefixes.map((p) => `'${p}'`).join(', ')} (ambiguous)`;
  }
  const closest = [...info.architectures].sort((a, b) => b.found / b.expected - a.found / a.expected)[0];
  const near = closest && closest.found > 0
    ? ` (closest: ${closest.found} of ${closest.expected} ${closest.arch} backbone keys ${prefixText(closest.prefix)}` +
      `${closest.mismatched.length ? `; shape mismatches: ${closest.mismatched.slice(0, 3).join(', ')}` : ''})`
    : '';
  return `not a ${Object.values(ARCH_TITLES).join('/')}: ${layerSummary(info)}${near}`;
}

/**
 * Reads `path` (names and shapes; the data is freed) and checks that it holds `arch`'s backbone, before
 * a run decodes or caches any image: another network, an incomplete one or two candidates are refused
 * here, naming what the file holds. `option` names the flag in the error (e.g. '--init').
 */
export async function checkWeightsArchitecture(path: string, arch: ArchitectureMatch['arch'], option: string): Promise<WeightsInspection> {
  const info = await inspectWeights(path);
  const mine = info.architectures.find((m) => m.arch === arch);
  // Not an OptionError: what the file holds is the message, and OptionError shortens what it received.
  if (mine && mine.completePrefixes.length > 1) {
    throw new Error(`Expected weights holding one ${arch} backbone for ${option} but ${path} holds ${describeNetwork(info)}: save the one you want as a state_dict of its own`);
  }
  if (mine?.complete) return info;
  throw new Error(`Expected ${arch} weights for ${option} but ${path} holds ${describeNetwork(info)}`);
}
