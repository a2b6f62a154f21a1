// Prints {origin, torchVersion, logits} as JSON for the addon this process loads (TORCHXFER_ADDON picks
// it): seeded DenseNet121 and ResNet50 (torchvision's init) on a fixed 64 px batch, eval-mode logits.
// test/build-parity.test.ts runs it once per build (cmake-js, node-gyp) in fresh processes.
import { loadModel } from '../../dist/model.js';
import { addonOrigin } from '../../dist/native.js';
import { manualSeed, runtimeInfo } from '../../dist/runtime.js';

const shape = [2, 3, 64, 64];
const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => ((i * 2654435761) % 1000) / 500 - 1);
const logits = {};
for (const arch of ['densenet121', 'resnet50']) {
  manualSeed(11);
  const model = await loadModel({ arch, numClasses: 3, device: 'cpu' });
  logits[arch] = Array.from(await model.predict(input, shape));
  model.dispose();
}
console.log(JSON.stringify({ origin: addonOrigin(), torchVersion: runtimeInfo().torchVersion, logits }));
