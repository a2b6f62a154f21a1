#!/usr/bin/env bash
# Submits PASSES rounds of (array of SHARDS shard jobs -> merge), each round after the one before.
# The merge runs after the array whatever its exit (failed runs are retried by the next pass).
# A stage-wise spec needs one pass per stage (stage k+1 builds on stage k's winner, known once every
# shard's stage k runs are merged); a grid spec with source tasks needs 2; extra passes cost a start-up.
# Usage: scripts/cluster/slurm-submit.sh SPEC SHARED_DIR SHARDS PASSES
set -euo pipefail
spec=$1 shared=$2 shards=$3 passes=$4
mkdir -p logs "$shared"
dep=()
for pass in $(seq 1 "$passes"); do
  array=$(sbatch --parsable "${dep[@]}" --array=0-$((shards - 1)) --export=ALL,SPEC="$spec",SHARED="$shared",PASS="$pass" scripts/cluster/slurm-shard.sbatch)
  merge=$(sbatch --parsable --dependency=afterany:"$array" --export=ALL,SHARED="$shared",PASS="$pass" scripts/cluster/slurm-merge.sbatch)
  dep=(--dependency=afterok:"$merge")
  echo "pass $pass: shards job $array, merge job $merge"
done
echo "results: $shared/merged.db (then: npx torchxfer report $shared/merged.db --out report)"
