#!/usr/bin/env bash
# One shard of one pass: seed a local database with everything finished so far, run this shard's jobs,
# copy the database to shared storage. SQLite's WAL needs a local disk, so the database lives in
# $LOCAL_DIR while it is written; checkpoints of source tasks go straight to shared storage.
# Usage: shard.sh SPEC SHARED_DIR PASS INDEX COUNT
set -euo pipefail
spec=$1 shared=$2 pass=$3 index=$4 count=$5
local_dir=${LOCAL_DIR:-${TMPDIR:-/tmp}}/torchxfer-$pass-$index
mkdir -p "$local_dir" "$shared/checkpoints"
db=$local_dir/shard.db
rm -f "$db" "$db-wal" "$db-shm"
tx=${TORCHXFER_BIN:-node bin/torchxfer.js}
if [ -f "$shared/merged.db" ]; then $tx results merge "$db" "$shared/merged.db"; fi
status=0
$tx experiment "$spec" --db "$db" --shard "$index/$count" --checkpoints "$shared/checkpoints" || status=$?
# The process closed the database (WAL folded in), so one file holds everything; failed runs are
# recorded and retried by the next pass, so the database is kept even when the status is not 0.
if [ -f "$db" ] && [ ! -f "$db-wal" ]; then cp "$db" "$shared/pass$pass-shard$index.db.tmp" && mv "$shared/pass$pass-shard$index.db.tmp" "$shared/pass$pass-shard$index.db"; fi
exit $status
