/**
 * `torchxfer info`: which addon is loaded (prebuilt, built here, or TORCHXFER_ADDON) and against which
 * LibTorch, what this build can do (Gloo, CUDA, cuDNN, NCCL), CUDA devices, threads.
 */
import { relative } from 'node:path';

import type { CommandModule } from 'yargs';

import { addonOrigin, packageRoot, type AddonOrigin } from '../native.js';
import { prebuildTag } from '../prebuilds.js';
import { runtimeInfo } from '../runtime.js';
import { version } from '../version.js';
import { addOptions, type OptionList } from './options.js';

interface InfoArgs {
  json: boolean;
}

const INFO_OPTIONS: OptionList = [['json', { default: true }]];

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe:
    "Show which addon is loaded (prebuilt or built here) and its LibTorch, the build's features (Gloo, CUDA, cuDNN, NCCL), CUDA devices and threads",
  builder: (y) => addOptions(y, INFO_OPTIONS) as never,
  handler: (args) => {
    const info = runtimeInfo();
    const origin = addonOrigin();
    const out = { torchxfer: version, node: process.version, ...info, addon: addonFacts(origin) };
    if (args.json) {
      const { parallelInfo: _omit, ...rest } = out;
      console.log(JSON.stringify(rest, null, 2));
      return;
    }
    console.log(`torchxfer ${out.torchxfer} (Node ${out.node})`);
    console.log(`addon      ${describeAddon(origin)}`);
    const at = origin.libtorch ? ` at ${origin.libtorch.library}` : '';
    console.log(`LibTorch   ${info.torchVersion}${info.mkldnn ? ' (oneDNN)' : ''}${at}`);
    const f = info.features;
    const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
    console.log(
      `features   Gloo ${yesNo(f.gloo)}, CUDA ${yesNo(f.cuda)}, cuDNN ${yesNo(f.cudnn)}, NCCL ${yesNo(f.nccl)}`,
    );
    console.log(
      `CUDA       ${info.cudaAvailable ? `available, ${info.cudaDeviceCount} device(s)` : info.cudaCompiled ? 'compiled in, no device visible' : 'not in this build'}`,
    );
    console.log(
      `threads    ${info.numThreads} intra-op (of ${info.hardwareThreads} hardware), ${info.numInteropThreads} inter-op`,
    );
  },
};

/** The JSON form: where the addon is and how it was made; a prebuild's tag and build machine. */
function addonFacts(origin: AddonOrigin): Record<string, unknown> {
  const { kind, path, builtWith, prebuild, libtorch } = origin;
  const made = prebuild
    ? { tag: prebuildTag(prebuild.libtorch), builtWith: prebuild.builtWith, builtOn: prebuild.builtOn }
    : { builtWith };
  return { kind, path, ...made, ...(libtorch ? { libtorch } : {}) };
}

/** One line: "prebuilt prebuilds/linux-x64/....node (libtorch-1.13-system-cpu; node-gyp 12.4.0 on Debian ...)". */
function describeAddon(origin: AddonOrigin): string {
  const path = origin.kind === 'TORCHXFER_ADDON' ? origin.path : relative(packageRoot, origin.path);
  if (origin.prebuild)
    return `prebuilt ${path} (${prebuildTag(origin.prebuild.libtorch)}; ${origin.prebuild.builtWith} on ${origin.prebuild.builtOn})`;
  if (origin.kind === 'TORCHXFER_ADDON') return `${path} (TORCHXFER_ADDON)`;
  return `built here ${path}${origin.builtWith ? ` (${origin.builtWith})` : ''}`;
}
