#!/usr/bin/env bash
# Runs PASSES passes of SHARDS shards on Kubernetes, one after the other.
# Usage: scripts/cluster/k8s-run.sh SHARDS PASSES   (spec.yaml already copied to the shared volume)
set -euo pipefail
export SHARDS=$1
passes=$2
for PASS in $(seq 1 "$passes"); do
  export PASS
  envsubst '${PASS} ${SHARDS}' < scripts/cluster/k8s-shards-job.yaml | kubectl apply -f -
  kubectl wait --for=condition=complete --timeout=72h "job/torchxfer-merge-pass-$PASS"
done
