/**
 * `--init FILE` checked against the run's architecture before any image is decoded or cached: a file of
 * another network (an MNIST CNN, a ResNet50 for a DenseNet121 run), an incomplete backbone or two
 * candidate backbones stop the run at once, saying what the file holds (src/weights/identify.ts).
 */
import { existsSync } from 'node:fs';

import { checkWeightsArchitecture } from '../weights/identify.js';
import type { TrainConfig } from './config.js';

/** Registry names and 'none' / 'imagenet' / 'moments' are left to initModel (the registry knows their architecture). */
export async function checkInitFile(config: Pick<TrainConfig, 'init' | 'arch'>): Promise<void> {
  const { init, arch } = config;
  if (init === 'none' || init === 'imagenet' || init === 'moments' || !existsSync(init)) return;
  await checkWeightsArchitecture(init, arch, '--init');
}
