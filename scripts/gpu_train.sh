#!/usr/bin/env bash
# Train (or fine-tune) the codec on a borrowed GPU machine, as one prepared command.
#
# Here, once:
#   python scripts/pack_training_data.py --out data-pack    # photos + the reference classifier, ≤ 64 MiB, ignored by git
#   scripts/gpu_train.sh --fetch-wheels                     # .whl/: the packages that image lacks (Python 3.12)
#   scripts/gpu_train.sh --pack-init weights/gru-s-cc7e79a7.pt data-pack/init.pt.xz   # optional: a 5 MB init
#   scripts/gpu_train.sh --slim      # the tree that travels must be ≤ 64 MiB, and weights/ alone is 86 MB: untrack
#                                    # (index only) weights, results, docs, examples, tests; --unslim after the call
# There (the device tool's run; carry data-pack and .whl):
#   scripts/gpu_train.sh --install                          # once per machine: the wheels and this project
#   MINUTES=7 scripts/gpu_train.sh NAME [rnc train options…]
# Several runs may share the GPU side by side (start each in the background; each has its own NAME).
# A run trains on data-pack/train (validation: data-pack/val) on CUDA for MINUTES of training (the
# learning-rate schedule follows time) and writes $OUT/NAME.pt and its loss + validation log
# $OUT/NAME.jsonl; a run still going MINUTES + GRACE_S seconds after it started (loading, validation)
# is stopped, and its last checkpoint becomes $OUT/NAME.pt.  `--init X.pt.xz` is unpacked first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
SITE=${SITE:-/tmp/rnc-site}

case "${1:-}" in
  --fetch-wheels)
    for pkg in backports.zstd==1.8.0 constriction==0.5.0 pytorch-msssim==1.0.0 tflite==2.18.0 flatbuffers==25.12.19; do
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .whl "$pkg"
    done
    exit 0 ;;
  --pack-init)  # weights rounded to float16 (stored as float32, so they load as usual), xz-compressed: half the bytes to carry
    "$PYTHON" - "$2" "$3" <<'EOF'
import lzma, sys, tempfile, torch
from rnncodec.weights import load_weights, save_weights
model = load_weights(sys.argv[1]).model
with torch.no_grad():
    for tensor in model.state_dict().values():
        tensor.copy_(tensor.half().float())
with tempfile.TemporaryDirectory() as folder:
    path = save_weights(model, f"{folder}/init.pt", meta={"init_from": sys.argv[1], "rounded_to": "float16"})
    with open(path, "rb") as raw, lzma.open(sys.argv[2], "wb", preset=9) as packed:
        packed.write(raw.read())
EOF
    exit 0 ;;
  --slim)  # leaves the files where they are; only the index and .git/info/exclude change
    git rm -r -q --cached 'weights/*.pt' 'weights/*.ptpack' 'weights/*.onnx' results docs examples tests
    printf '%s\n' '/weights/*.pt' '/weights/*.ptpack' '/weights/*.onnx' /results/ /docs/ /examples/ /tests/ /build/ \
      >> .git/info/exclude
    echo "travels: $(git ls-files -co --exclude-standard -z | du -cb --files0-from=- | tail -n1 | cut -f1) bytes + carried"
    exit 0 ;;
  --unslim)
    git reset -q
    sed -i '\#^/\(weights/\*\.\(pt\|ptpack\|onnx\)\|results/\|docs/\|examples/\|tests/\|build/\)$#d' .git/info/exclude
    exit 0 ;;
  --install)
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" .whl/*.whl
    "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$SITE" .
    PYTHONPATH=$SITE "$PYTHON" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
    exit 0 ;;
  ""|-*) echo "usage: scripts/gpu_train.sh NAME [rnc train options…] (or --fetch-wheels, --pack-init W OUT, --slim, --unslim, --install)" >&2; exit 2 ;;
esac

: "${OUT:?set OUT to the folder the weights go to}"
NAME=$1; shift
MINUTES=${MINUTES:-8}
GRACE_S=${GRACE_S:-120}
args=()
while (($#)); do  # an --init packed by --pack-init is unpacked to /tmp
  if [[ "$1" == "--init" && "$2" == *.xz ]]; then
    "$PYTHON" -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$2" "/tmp/$NAME-init.pt"
    args+=(--init "/tmp/$NAME-init.pt"); shift 2
  else
    args+=("$1"); shift
  fi
done
# -P: the checkout's own rnncodec/ (not the installed package, which maps cli/ into it) must not shadow it
export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
limit=$(awk -v m="$MINUTES" -v g="$GRACE_S" 'BEGIN { printf "%d", m * 60 + g }')
status=0
timeout -s INT "$limit" "$PYTHON" -P -m rnncodec.cli train --data data-pack/train --val data-pack/val --config gru-s \
  --device "${DEVICE:-cuda}" --steps 1000000 --minutes "$MINUTES" --checkpoint "/tmp/$NAME.ckpt" --checkpoint-minutes 1 \
  --no-progress --out "$OUT/$NAME.pt" "${args[@]}" || status=$?
if [[ ! -f "$OUT/$NAME.pt" && -f "/tmp/$NAME.ckpt" ]]; then
  "$PYTHON" -P -c "from rnncodec.train import export_checkpoint as e; import sys; e(sys.argv[1], sys.argv[2])" "/tmp/$NAME.ckpt" "$OUT/$NAME.pt"
  echo "$NAME: stopped (exit $status) before it ended; weights exported from its last checkpoint"
fi
exit "$status"
