#!/usr/bin/env bash
# Packs what a GPU machine (Python torch with CUDA, no Node, no internet) needs to build and test the
# addon into .device/ (git-ignored; the device tool carries it): an xz-compressed Node binary, the
# N-API headers, the compiled TypeScript and the production node_modules (sharp, better-sqlite3, yargs...,
# built for this Node, which is the one carried). Total stays under the 64 MiB carry limit (~40 MiB).
#   bash scripts/gpu/pack.sh && <device run> carry=[".device"] command="bash scripts/gpu/run.sh"
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p tsconfig.json
rm -rf .device && mkdir -p .device/node_modules
node_bin="$(command -v node)"
echo "pack: compressing $node_bin ($(node --version))"
xz -T2 -6 -c "$node_bin" > .device/node.xz
cp -r node_modules/node-addon-api .device/node_modules/
mkdir -p .device/node_modules/node-api-headers && cp -r node_modules/node-api-headers/include .device/node_modules/node-api-headers/
cp -r dist .device/dist
cp package.json .device/
npm ls --omit=dev --parseable --all 2>/dev/null | sed "s|^$PWD/||" | grep -E '^node_modules/(@[^/]+/)?[^/]+$' | sort -u > .device/prod-modules.txt
tar -cf - -T .device/prod-modules.txt | xz -T2 -6 > .device/node_modules.tar.xz
du -sh .device
