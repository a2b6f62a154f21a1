#!/usr/bin/env bash
# On a GPU machine (after scripts/gpu/pack.sh, with .device carried): unpack Node, build the addon with
# plain cmake against the Python torch's LibTorch (CUDA), then run the native smoke test and benchmarks.
# Results go to $OUT (or ./gpu-out) as JSON and a log.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
exec > >(tee "$out/gpu-run.log") 2>&1

mkdir -p /tmp/node/bin && xz -dc .device/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
export PATH="/tmp/node/bin:$PATH"
[ -d node_modules/sharp ] || xz -dc .device/node_modules.tar.xz | tar -xf -   # the CLI's and benchmarks' runtime packages
node --version
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'

start=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_JS_INC="$PWD/.device/node_modules/node-api-headers/include" \
  -DNODE_ADDON_API_DIR="$PWD/.device/node_modules/node-addon-api"
cmake --build build-gpu -j "$(nproc)"
echo "build: $(( $(date +%s) - start )) s"

./build-gpu/torchxfer_bench info | tee "$out/bench-info.json"
./build-gpu/torchxfer_bench matmul 8192 20 cuda | tee "$out/bench-matmul.json"
# A training step without Node, split into phases (augment / forward / backward / checks / optimiser).
for layout in nchw cl; do ./build-gpu/torchxfer_bench train densenet121 16 224 10 $layout cuda phases | tee -a "$out/bench-train-phases.json"; done

# The Node side: load the CUDA build through the compiled TypeScript.
rm -rf dist && cp -r .device/dist dist
export TORCHXFER_ADDON="$PWD/build-gpu/torchxfer.node"
node scripts/gpu/smoke.mjs | tee "$out/smoke.json"
if [ -f scripts/bench.mjs ]; then node scripts/bench.mjs --device cuda --skip-others --out "$out/bench.json" || echo "bench failed"; fi
# The paper protocol's GPU-hours from step times measured on this card (published dataset sizes).
node bin/torchxfer.js experiment paper --estimate --device cuda --json > "$out/paper-estimate.json" || echo "estimate failed"
node -e 'const e=require(process.argv[1]);console.log("paper protocol estimate:",(e.totalSeconds/3600).toFixed(2),"GPU-hours over",e.jobs.length,"jobs")' "$out/paper-estimate.json" || true
