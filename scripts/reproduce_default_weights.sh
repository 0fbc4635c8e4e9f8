#!/usr/bin/env bash
# Re-run the recipe of the shipped default weights (GRU_S_V4), phase by phase, on 2 CPU cores:
#     scripts/reproduce_default_weights.sh [DATA_DIR] [OUT_DIR]        (defaults: ../shared/data, runs/repro)
# Run r1 made GRU_S_V2 (OUT_DIR/gru-s.pt); its phases are the changes made while it ran
# (docs/training.md says why each was made), each resuming the previous one's checkpoint exactly.
# Run r3 then restarted the schedule from GRU_S_V2 (OUT_DIR/gru-s-v3.pt = GRU_S_V3), and run r6
# fine-tuned that with the sign binarizer (OUT_DIR/gru-s-v4.pt, the default weights).
# Expect the same quality within noise, not the same bits: the runs used other thread counts
# (r1: 163 steps on two processes; r6: 1 thread) and r3 and r6 ended by time (r3 at step 4,939
# of a 115-minute schedule, r6 at step 3,419 of a 92-minute one), which this replays as steps.
# About 5 hours on an otherwise idle 2-core machine (AMX bf16).
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
