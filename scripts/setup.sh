#!/usr/bin/env bash
# One-time setup of a fresh Debian 12 machine for torchxfer; idempotent, and runs without root when
# everything is already installed.
#   bash scripts/setup.sh          runtime: cmake, g++, ninja, LibTorch, Gloo headers, npm packages, the
#                                  native and TS builds
#   bash scripts/setup.sh --dev    also the test references (Python torch/torchvision, scipy, scikit-image,
#                                  scikit-learn, pydicom) and Chromium for the report test
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (expected --dev)" >&2; exit 2 ;;
  esac
done

# libgloo-dev: without its headers the addon builds without multi-process (distributed) training.
# ninja-build: cmake-js then compiles on every core (make would run one job).
# python3 and make: node-gyp (binding.gyp: `npx node-gyp rebuild`, the prebuilt addon `npm pack` makes).
packages=(cmake g++ make ninja-build python3 libtorch-dev libgloo-dev)
if [ "$dev" = 1 ]; then
  packages+=(python3-torch python3-torchvision python3-scipy python3-skimage python3-sklearn python3-pandas python3-pydicom python3-gdcm chromium)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
    echo "setup: these Debian packages are missing and this user cannot install them: ${missing[*]}" >&2
    exit 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# `npx torchxfer` from the checkout runs this package's own CLI (npx looks in node_modules/.bin first).
mkdir -p node_modules/.bin && ln -sf ../../bin/torchxfer.js node_modules/.bin/torchxfer

echo "setup: building the native addon (cmake-js) and the TypeScript"
build_start=$SECONDS
npm run --silent build:native >/tmp/torchxfer-build-native.log 2>&1 || { tail -40 /tmp/torchxfer-build-native.log >&2; echo "setup: native build failed (full log: /tmp/torchxfer-build-native.log)" >&2; exit 1; }
echo "setup: native build took $((SECONDS - build_start)) s"
npm run --silent build:ts
node bin/torchxfer.js info
