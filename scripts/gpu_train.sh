#!/usr/bin/env bash
# Train (or fine-tune) the codec on a borrowed GPU machine, as one prepared command.
#
# Here, once:   python scripts/pack_training_data.py --out data-pack     # ≤ 64 MiB, ignored by git
#               scripts/gpu_train.sh --fetch-wheels                        # .whl/: packages that image lacks
# There (the device tool's run, carry: data-pack, .whl [, the --init weights file]):
#               MINUTES=8 INIT=weights/gru-s-xxxxxxxx.pt scripts/gpu_train.sh
# (optional: LR=0.0002 for a fine-tune, BINARIZER=sign for the sign binarizer's fine-tune,
#  DISTILL=data-pack/recognizers/tf2_mobilenet_v2_1.0_224_ptq.tflite [DISTILL_WEIGHT=3 ITERATIONS=4] for the
#  machine-oriented fine-tune of issue 11: label-free distillation of the reference classifier)
# It writes $OUT/gru-s-gpu.pt (weights), $OUT/gru-s-gpu.jsonl (loss + validation log).
# The GPU image has torch, torchvision, numpy, pillow, click and tqdm; backports.zstd, constriction and
# pytorch-msssim travel as Python 3.12 wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  for pkg in backports.zstd==1.8.0 constriction==0.5.0 pytorch-msssim==1.0.0 tflite==2.18.0 flatbuffers==25.12.19; do
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
      -d .whl "$pkg"
  done
  exit 0
fi

: "${OUT:?set OUT to the folder the weights go to}"
MINUTES=${MINUTES:-8}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
site=/tmp/rnc-site
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" .whl/*.whl
"$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$site" .
export PYTHONPATH=$site PYTHONUNBUFFERED=1
"$PYTHON" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
"$PYTHON" -m rnncodec.cli train --data data-pack/train --val data-pack/val --config gru-s --device "$DEVICE" \
  --batch-size 64 --crop 128 --iterations "${ITERATIONS:-8}" --steps 1000000 --minutes "$MINUTES" --val-every 500 \
  --checkpoint /tmp/rnc-gpu.ckpt --checkpoint-minutes 2 --no-progress \
  --out "$OUT/gru-s-gpu.pt" ${INIT:+--init "$INIT"} ${LR:+--lr "$LR"} ${BINARIZER:+--binarizer "$BINARIZER"} \
  ${DISTILL:+--distill "$DISTILL" --distill-weight "${DISTILL_WEIGHT:-3}" --distill-iterations 3}
