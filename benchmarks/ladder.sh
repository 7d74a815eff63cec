#!/usr/bin/env bash
# The ladder: every model trained for the same CPU time on the same data, then sampled.
#   bash benchmarks/ladder.sh [MINUTES] [DATA] [OUTDIR] [EXTRA drawlab train options...]
#   bash benchmarks/ladder.sh 1 mnist-5k /tmp/ladder
#   bash benchmarks/ladder.sh 1 folder:../shared/data/celeba-10k /tmp/ladder-faces --size 64 --channels 3
# Writes OUTDIR/MODEL/ (the run), OUTDIR/MODEL.png (100 samples) and OUTDIR/MODEL.npz (2,000 samples).
set -uo pipefail
minutes=${1:-1}; data=${2:-mnist-5k}; out=${3:-/tmp/ladder}; shift 3 2>/dev/null || shift $#
drawlab=${DRAWLAB:-drawlab}
mkdir -p "$out"
for model in mlp-mse conv-mse gan dcgan cgan; do
  rm -rf "${out:?}/$model"
  if ! $drawlab train --model "$model" --data "$data" --minutes "$minutes" --out "$out/$model" --no-progress "$@" \
      > "$out/$model.log" 2>&1; then
    echo "$model: $(tail -n 1 "$out/$model.log")"; continue
  fi
  $drawlab sample "$out/$model" --n 100 --out "$out/$model.png" > /dev/null
  $drawlab sample "$out/$model" --n 2000 --out "$out/$model.npz" > /dev/null
  echo "$model: $(grep '^done' "$out/$model.log" | cut -d'|' -f1)"
done
