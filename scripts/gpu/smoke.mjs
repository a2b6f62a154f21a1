// GPU smoke test over the compiled library: runtime facts, tensors to and from CUDA, an error from
// LibTorch, async work. Prints one JSON object; exits non-zero on the first failure.
import { runtimeInfo, tensor } from '../../dist/index.js';

const result = { ok: false, steps: [] };
function step(name, value) {
  result.steps.push({ name, ...value });
}
try {
  const info = runtimeInfo();
  step('info', {
    torchVersion: info.torchVersion,
    cudaCompiled: info.cudaCompiled,
    cudaAvailable: info.cudaAvailable,
    devices: info.cudaDeviceCount,
  });
  if (!info.cudaAvailable) throw new Error('CUDA not available to the addon');
  const n = 4096;
  const a = tensor(new Float32Array(n * n).fill(1), [n, n]);
  const ga = await a.to('cuda');
  const t0 = performance.now();
  const gc = await ga.matmul(ga);
  const back = await gc.data();
  step('matmul', { device: gc.device, ms: performance.now() - t0, value: back[0], expected: n });
  if (back[0] !== n) throw new Error(`matmul on CUDA gave ${back[0]}, expected ${n}`);
  const err = await ga.matmul(tensor(new Float32Array(6), [2, 3])).then(
    () => null,
    (e) => e.message,
  );
  step('error', { message: err });
  if (!err) throw new Error('shape error did not reject');
  result.ok = true;
} catch (e) {
  result.error = e instanceof Error ? e.message : String(e);
}
console.log(JSON.stringify(result, null, 2));
process.exitCode = result.ok ? 0 : 1;
