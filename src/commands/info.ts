/** `torchxfer info`: LibTorch version, what this build can do (Gloo, CUDA, cuDNN, NCCL), CUDA devices, threads. */
import type { CommandModule } from 'yargs';

import { runtimeInfo } from '../runtime.js';
import { version } from '../version.js';
import { addOptions, type OptionList } from './options.js';

interface InfoArgs {
  json: boolean;
}

const INFO_OPTIONS: OptionList = [['json', { default: true }]];

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'Show the LibTorch version, the build\'s features (Gloo, CUDA, cuDNN, NCCL), CUDA devices and threads',
  builder: (y) => addOptions(y, INFO_OPTIONS) as never,
  handler: (args) => {
    const info = runtimeInfo();
    const out = { torchxfer: version, node: process.version, ...info };
    if (args.json) {
      const { parallelInfo: _omit, ...rest } = out;
      console.log(JSON.stringify(rest, null, 2));
      return;
    }
    console.log(`torchxfer ${out.torchxfer} (Node ${out.node})`);
    console.log(`LibTorch   ${info.torchVersion}${info.mkldnn ? ' (oneDNN)' : ''}`);
    const f = info.features;
    const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
    console.log(`features   Gloo ${yesNo(f.gloo)}, CUDA ${yesNo(f.cuda)}, cuDNN ${yesNo(f.cudnn)}, NCCL ${yesNo(f.nccl)}`);
    console.log(`CUDA       ${info.cudaAvailable ? `available, ${info.cudaDeviceCount} device(s)` : info.cudaCompiled ? 'compiled in, no device visible' : 'not in this build'}`);
    console.log(`threads    ${info.numThreads} intra-op (of ${info.hardwareThreads} hardware), ${info.numInteropThreads} inter-op`);
  },
};
