#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs vitest
# files against it. Slow (instrumented LibTorch calls; a first build is ~30 heavy compiles): pick the files.
#   bash scripts/sanitize.sh [test files...]     default: the weight reader, hostile-file, fuzz and radiomics tests
#   SANITIZE_BUILD_ONLY=1 bash scripts/sanitize.sh   just build
# Node itself is not instrumented, so libasan is preloaded; leak checking is off because Node leaks at exit.
# The log is build-asan/sanitize.log; the summary at the end counts ASan reports and UBSan runtime errors.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${SANITIZE_JOBS:-2}"
flags='-fsanitize=address,undefined -fno-omit-frame-pointer'
# -O1 -g1 (line tables): what ASan recommends, and about half the compile time of -O2 -g on LibTorch's
# templates. The precompiled torch/torch.h carries the same flags, so each file skips parsing it.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_JS_INC="$PWD/node_modules/node-api-headers/include" -DTORCHXFER_USE_PCH=ON -DTORCHXFER_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan --target torchxfer -j "$jobs"
addon="$(find "$PWD/build-asan" -name torchxfer.node -print -quit)"
[ -n "$addon" ] || { echo "sanitize.sh: no torchxfer.node under build-asan/" >&2; exit 1; }
[ -n "${SANITIZE_BUILD_ONLY:-}" ] && { echo "built $addon"; exit 0; }

libasan="$(${CXX:-g++} -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "sanitize.sh: libasan.so not found (got '$libasan')" >&2; exit 1; }
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/weights-read.test.ts test/weights-hostile.test.ts test/weights-checkpoint.test.ts test/fuzz-readers.test.ts test/radiomics-features.test.ts)
npx tsc -p tsconfig.json
log=build-asan/sanitize.log
set +e
# The preload and the addon path reach every child (the fuzzer's readers, the CLI, the Python references,
# which run normally under it). UBSan halts on its first error so that a child's report is not lost:
# the child then dies and the fuzzer or test names the case.
TORCHXFER_ADDON="$addon" LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=0:verify_asan_link_order=0:halt_on_error=0:print_summary=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  npx vitest run "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
asan=$(grep -c 'ERROR: AddressSanitizer' "$log" || true)
ubsan=$(grep -c 'runtime error:' "$log" || true)
echo "sanitize.sh: vitest exit $status; AddressSanitizer reports: $asan; UBSan runtime errors: $ubsan (log: $log)"
grep -E 'SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:' "$log" | sort | uniq -c | head -40 || true
[ "$status" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$ubsan" -eq 0 ]
