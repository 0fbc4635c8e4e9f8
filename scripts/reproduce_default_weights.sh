#!/usr/bin/env bash
# Re-run the recipe of the shipped default weights (GRU_S_V5), phase by phase, on 2 CPU cores:
#     scripts/reproduce_default_weights.sh [DATA_DIR] [OUT_DIR]        (defaults: ../shared/data, runs/repro)
# Run r1 made GRU_S_V2 (OUT_DIR/gru-s.pt); its phases are the changes made while it ran
# (docs/training.md says why each was made), each resuming the previous one's checkpoint exactly.
# Run r3 then restarted the schedule from GRU_S_V2 (OUT_DIR/gru-s-v3.pt = GRU_S_V3), and run r6
# fine-tuned that with the sign binarizer (OUT_DIR/gru-s-v4.pt = GRU_S_V4). Runs cv8a and cv11 to cv17 then
# trained GRU_S_V4 on with a rate term, on 16 iterations (OUT_DIR/cv17.pt), quantised against GRU_S_V4
# (OUT_DIR/gru-s-v5.pt = GRU_S_V5, the default weights).
# Expect the same quality within noise, not the same bits: the runs used other thread counts
# (r1: 163 steps on two processes; r6: 1 thread) and r3 and r6 ended by time (r3 at step 4,939
# of a 115-minute schedule, r6 at step 3,419 of a 92-minute one), which this replays as steps.
# About 5 hours to GRU_S_V4 on an otherwise idle 2-core machine (AMX bf16), and 7 more to GRU_S_V5 (float32 on
# an AVX2 EPYC).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data}
out=${2:-runs/repro}
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE
rnc=${RNC:-.venv/bin/rnc}
common=(--data "$data/bsds500/train" --data "$data/bsds500/test" --data "$data/sun-hays80" --data "$data/urban100-40"
        --val "$data/bsds500/val" --config gru-s --batch-size 8 --iterations 8
        --threads 2 --no-progress)
"$rnc" train "${common[@]}" --out "$out/gru-s.pt" --steps 16000 --crop 128 --loss msssim-l1 --msssim-weight 0.84 --stop-at 265
"$rnc" train "${common[@]}" --out "$out/gru-s.pt" --steps 12000 --crop 96 --loss msssim-l1 --msssim-weight 0.84 --stop-at 2249 --resume
"$rnc" train "${common[@]}" --out "$out/gru-s.pt" --steps 12000 --crop 96 --loss msssim-psnr --msssim-weight 0.5 --stop-at 5163 --resume
"$rnc" train "${common[@]}" --out "$out/gru-s.pt" --steps 9000 --crop 96 --loss msssim-psnr --msssim-weight 0.5 --stop-at 5306 --resume
# The recipe r1 converged to; r3 and r6 restart its schedule from the previous weights.
final=(--crop 96 --loss msssim-psnr --msssim-weight 0.35 --iteration-weights 2,2,2,1.5,1,1,1,1)
restart=(--lr 0.0005 --warmup 100)
"$rnc" train "${common[@]}" --out "$out/gru-s.pt" --steps 8000 "${final[@]}" --resume
"$rnc" train "${common[@]}" --out "$out/gru-s-v3.pt" --init "$out/gru-s.pt" --steps 4939 "${restart[@]}" --seed 3 \
  "${final[@]}"
"$rnc" train "${common[@]}" --out "$out/gru-s-v4.pt" --init "$out/gru-s-v3.pt" --steps 3419 "${restart[@]}" --seed 6 \
  "${final[@]}" --binarizer sign
# GRU_S_V4 continued with a rate term (docs/training.md, "A rate term for the default weights"): run cv8a on
# 8 iterations, then cv11 to cv17 on 16, each from the last one's weights.
rate=(--data "$data/bsds500/train" --data "$data/bsds500/test" --data "$data/sun-hays80" --data "$data/urban100-40"
      --val "$data/bsds500/val" --config gru-s --crop 96 --batch-size 8 --loss msssim-psnr --binarizer sign
      --rate-weight 0.5 --rate-from 2 --val-every 500 --threads 2 --no-progress)
"$rnc" train "${rate[@]}" --init "$out/gru-s-v4.pt" --out "$out/cv8a.pt" --iterations 8 --rate-share-before 0.2 \
  --iteration-weights 2,2,2,1.5,1,1,1,1 --msssim-weight 0.35 --lr 0.0001 --warmup 50 --steps 5730 --stop-at 2384 --seed 211
tail=0.625,0.625,0.625,0.625,0.625,0.625,0.625,0.625
previous=$out/cv8a.pt
# run, its first four iterations' weights, learning rate, warm-up, steps, seed
while read -r run head lr warmup steps seed; do
  "$rnc" train "${rate[@]}" --init "$previous" --out "$out/$run.pt" --iterations 16 --rate-share-before 0.5 \
    --iteration-weights "$head,1,1,1,1,$tail" --msssim-weight 0.5 --lr "$lr" --warmup "$warmup" --steps "$steps" --seed "$seed"
  previous=$out/$run.pt
done <<'RUNS'
cv11 2,2,2,1.5 0.0001 50 2688 261
cv12 2,2,2,1.5 0.00005 20 2688 271
cv13 2.5,2,2,1.5 0.00005 20 2688 281
cv14 2.5,2,2,1.5 0.00005 20 2688 291
cv15 2.5,2.5,2.5,1.5 0.00005 20 2688 301
cv16 3.5,2.5,2.5,1.5 0.00005 20 1344 311
cv17 3.5,2.5,2.5,1.5 0.00005 20 1344 321
RUNS
"${PYTHON:-.venv/bin/python}" -m rnncodec.weights_quantise "$previous" --base "$out/gru-s-v4.pt" --step 0.002 \
  -o "$out/gru-s-v5.pt"
