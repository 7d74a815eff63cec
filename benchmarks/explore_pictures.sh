#!/usr/bin/env bash
# The pictures of issue 8 (README and benchmarks/issue8/), from two trained runs:
#   bash benchmarks/explore_pictures.sh CGAN_RUN FACES_RUN [OUT=benchmarks/issue8]
# CGAN_RUN: `drawlab train` (the default preset); FACES_RUN: `drawlab train --preset faces-dcgan --data folder:FACES`.
set -euo pipefail
C=$1; F=$2; O=${3:-benchmarks/issue8}
D=${DRAWLAB:-drawlab}
mkdir -p "$O"
$D interpolate "$F" --from 3 --to 17 --steps 24 --out "$O/faces-slerp.gif"
$D interpolate "$F" --from 3 --to 17 --steps 10 --out "$O/faces-slerp.png"
$D interpolate "$F" --mode sweep --seed 5 --direction 0,1,2 --range -3 3 --steps 9 --out "$O/faces-directions.png"
$D interpolate "$F" --mode checkpoints --seeds 1,2,3 --out "$O/faces-through-training.png"
$D inspect "$F" --saliency --seed 4 --out "$O/faces-saliency.png"
$D inspect "$F" --maximise --channels 0,1,2,3,4,5 --iterations 300 --out "$O/faces-maximise.png"
$D interpolate "$C" --mode classes --seed 4 --out "$O/digits-classes.png"
$D interpolate "$C" --mode sweep --seed 4 --direction 0,1,2 --range -3 3 --steps 9 --out "$O/digits-directions.png"
$D interpolate "$C" --mode checkpoints --seeds 1,2,3,4,5 --out "$O/digits-through-training.png"
$D interpolate "$C" --mode lerp --from 3 --to 13 --steps 10 --label 8 --out "$O/digits-lerp.png"
$D interpolate "$C" --mode slerp --from 3 --to 13 --steps 10 --label 8 --out "$O/digits-slerp.png"
$D interpolate "$C" --mode walk --seed 4 --steps 10 --out "$O/digits-walk.png"
$D inspect "$C" --saliency --seed 4 --out "$O/digits-saliency.png"
$D inspect "$C" --maximise --channels 0,1,2,3,4,5 --iterations 300 --out "$O/digits-maximise.png"
$D sample "$C" --seeds 3,17,42 --out "$O/digits-seeds.png"
