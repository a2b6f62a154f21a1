#!/usr/bin/env node
// `npm run bench`: torchxfer against Python PyTorch on the same machine, side by side in one run.
//   models: DenseNet121 / ResNet50 training step (forward + BCE + backward + Adam) and eval forward,
//           NCHW and channels_last; PyTorch figures from scripts/bench_torch.py (Debian's torch on
//           CPU, the machine's own on GPU). Ratio = PyTorch ms / torchxfer ms (>= 1.0: torchxfer is
//           at least as fast).
//   then the data pipeline, preprocessing, weights loading, radiomics and compute-thread benchmarks (their own
// scripts).
// Options: --device cpu|cuda  --cases a,b  --full (batch 64 and 236 px too)  --quick (fewer repeats)
//          --skip-others  --out bench-results.json  --python /usr/bin/python3
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadModel } from '../dist/model.js';
import { runtimeInfo } from '../dist/runtime.js';
import { median } from '../dist/stats/describe.js';
import { Trainer } from '../dist/train/trainer.js';

const here = dirname(fileURLToPath(import.meta.url));
const usage = `Usage: npm run bench -- [options]
  --device cpu|cuda   where both sides run (default cpu)
  --cases a,b         cases ARCH:train|eval:bBATCH:sSIZE:nchw|cl (default: both models, both modes, b16, 224 and 128 px)
  --full              batch 64 and 236 px too
  --quick             1 warm-up and 3 repeats instead of 2 and 5
  --skip-others       only the model cases (no data, weights or radiomics benchmarks)
  --out FILE          JSON results (default bench-results.json)
  --python PATH       the Python with torch/torchvision (default /usr/bin/python3 on CPU, python3 on CUDA)`;
let parsed;
try {
  parsed = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      device: { type: 'string', default: 'cpu' },
      cases: { type: 'string' },
      full: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'skip-others': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench-results.json' },
      python: {
        type: 'string',
        default: process.env.TORCHXFER_PYTHON || (deviceIsCuda() ? 'python3' : '/usr/bin/python3'),
      },
    },
  });
} catch (err) {
  console.error(`bench: ${err.message}\n\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const badCase = (values.cases ?? '')
  .split(',')
  .filter(Boolean)
  .find((c) => !/^(densenet121|resnet50):(train|eval):b\d+:s\d+:(nchw|cl)(:amp)?$/.test(c));
if (badCase) {
  console.error(`bench: Expected cases like densenet121:train:b16:s224:cl for --cases but received '${badCase}'`);
  process.exit(2);
}
function deviceIsCuda() {
  return process.argv.includes('--device') && process.argv[process.argv.indexOf('--device') + 1]?.startsWith('cuda');
}

const warmup = values.quick ? 1 : 2;
const repeats = values.quick ? 3 : 5;
const defaultCases = [];
const sizes = values.full ? [224, 236, 128] : [224, 128];
const batches = values.full ? [16, 64] : [16];
for (const arch of ['densenet121', 'resnet50'])
  for (const mode of ['train', 'eval'])
    for (const b of batches)
      for (const s of sizes)
        for (const layout of ['nchw', 'cl']) defaultCases.push(`${arch}:${mode}:b${b}:s${s}:${layout}`);
// On a GPU, the targets: DenseNet121 training against PyTorch eager fp32 and against AMP (bf16) +
// channels_last.
if (values.device.startsWith('cuda'))
  for (const b of [16, 64])
    defaultCases.push(`densenet121:train:b${b}:s224:cl:amp`, `resnet50:train:b${b}:s224:cl:amp`);
const cases = values.cases ? values.cases.split(',') : defaultCases;

async function timeTorchxfer(c) {
  const [arch, mode, b, s, layout, precision] = c.split(':');
  const autocast = precision === 'amp' ? 'bf16' : 'none';
  const batch = Number(b.slice(1));
  const size = Number(s.slice(1));
  const channelsLast = layout === 'cl';
  const model = await loadModel({ arch, numClasses: 1, inChannels: 3, device: values.device, channelsLast });
  const trainer = new Trainer(model, {
    crop: size,
    augment: false,
    device: values.device,
    channelsLast,
    autocast,
    seed: 0,
  });
  const images = new Uint8Array(batch * 3 * size * size).map((_, i) => (i * 2654435761) % 251);
  const targets = new Float32Array(batch).map((_, i) => i % 2);
  const input = new Float32Array(batch * 3 * size * size).map((_, i) => ((i * 2654435761) % 1000) / 500 - 1);
  const run = async (i) => {
    if (mode === 'train') {
      model.setTraining(true);
      await trainer.step({
        images,
        shape: [batch, 3, size, size],
        targets,
        lrs: [1e-4, 1e-4, 1e-4],
        momenta: [0.9, 0.9, 0.9],
        step: i,
      });
    } else {
      model.setTraining(false);
      await model.predict(input, [batch, 3, size, size]);
    }
  };
  for (let i = 0; i < warmup; i++) await run(i);
  const samples = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run(warmup + i);
    samples.push(performance.now() - t0);
  }
  trainer.dispose();
  model.dispose();
  return { ms: median(samples), samples };
}

function timeTorch(list) {
  const r = spawnSync(
    values.python,
    [
      join(here, 'bench_torch.py'),
      '--cases',
      list.join(','),
      '--device',
      values.device,
      '--threads',
      String(runtimeInfo().numThreads),
      '--warmup',
      String(warmup),
      '--repeats',
      String(repeats),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`${values.python} scripts/bench_torch.py failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const info = runtimeInfo();
console.log(
  `torchxfer bench on ${values.device}: LibTorch ${info.torchVersion}, ${info.numThreads} threads; warm-up ${warmup}, median of ${repeats}`,
);
const rows = [];
for (const c of cases) {
  // Alternate the two sides case by case so drift in machine load hits both alike.
  const tx = await timeTorchxfer(c);
  const py = timeTorch([c]).results[0];
  const row = {
    case: c,
    torchxferMs: tx.ms,
    torchMs: py.ms,
    ratio: py.ms / tx.ms,
    torchxferSamples: tx.samples,
    torchSamples: py.samples,
  };
  rows.push(row);
  console.log(
    `${c.padEnd(34)} torchxfer ${tx.ms.toFixed(1).padStart(8)} ms   PyTorch ${py.ms.toFixed(1).padStart(8)} ms   ratio ${row.ratio.toFixed(2)}x`,
  );
}
// channels_last vs PyTorch's default NCHW, for the same model/mode/batch/size.
const vsNchw = rows
  .filter((r) => r.case.endsWith(':cl'))
  .map((r) => {
    const base = rows.find((x) => x.case === r.case.replace(/:cl$/, ':nchw'));
    return base
      ? { case: r.case, torchxferClMs: r.torchxferMs, torchNchwMs: base.torchMs, ratio: base.torchMs / r.torchxferMs }
      : null;
  })
  .filter(Boolean);
if (vsNchw.length) {
  console.log('\ntorchxfer channels_last vs PyTorch default NCHW:');
  for (const v of vsNchw) console.log(`${v.case.padEnd(34)} ${v.ratio.toFixed(2)}x`);
}

const others = [];
if (!values['skip-others'] && values.device === 'cpu') {
  for (const [name, args] of [
    ['data pipeline + preprocessing', ['bench-data.mjs', values.quick ? '100' : '400', '2']],
    ['weights loading', ['bench-weights.mjs']],
    ['radiomics vs scikit-image', ['bench-radiomics.mjs', '--images', values.quick ? '40' : '200']],
    ['file reads during queued compute', ['bench-compute-thread.mjs', values.quick ? '3' : '5']],
  ]) {
    console.log(`\n== ${name} (scripts/${args[0]})`);
    const r = spawnSync(process.execPath, [join(here, args[0]), ...args.slice(1)], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    });
    process.stdout.write(r.stdout);
    if (r.status !== 0) process.stdout.write(`(failed: exit ${r.status})\n${r.stderr.slice(-2000)}`);
    others.push({ name, script: args[0], exitCode: r.status, output: r.stdout });
  }
}
writeFileSync(
  values.out,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      device: values.device,
      runtime: info,
      warmup,
      repeats,
      models: rows,
      channelsLastVsNchw: vsNchw,
      others,
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nWrote ${values.out}`);
