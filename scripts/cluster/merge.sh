#!/usr/bin/env bash
# After a pass: fold every shard database of that pass into SHARED_DIR/merged.db (idempotent).
# Usage: merge.sh SHARED_DIR PASS
set -euo pipefail
shared=$1 pass=$2
tmp=${TMPDIR:-/tmp}/torchxfer-merge-$pass.db
rm -f "$tmp" "$tmp-wal" "$tmp-shm"
shopt -s nullglob
inputs=("$shared"/pass"$pass"-shard*.db)
if [ -f "$shared/merged.db" ]; then inputs=("$shared/merged.db" "${inputs[@]}"); fi
${TORCHXFER_BIN:-node bin/torchxfer.js} results merge "$tmp" "${inputs[@]}"
cp "$tmp" "$shared/merged.db.new" && mv "$shared/merged.db.new" "$shared/merged.db"
