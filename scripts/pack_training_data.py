"""Pack the training and validation photos into one folder small enough to carry to a borrowed
GPU machine (≤ 64 MiB): JPEGs are copied as they are, other images re-encoded as JPEG quality 90; validation keeps the
first 20 photos (all that training validates on).

    python scripts/pack_training_data.py --out data-pack          # from ../shared/data

The result has ``train/`` (bsds500 train+test, sun-hays80, urban100-40), ``val/`` (bsds500
val) and ``recognizers/`` (the reference classifier that ``rnc train --distill`` keeps the view of,
4 MB); ``scripts/gpu_train.sh`` trains on it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
TRAIN = ["bsds500/train", "bsds500/test", "sun-hays80", "urban100-40"]
VAL = ["bsds500/val"]
LIMIT = 64 * 2**20
CLASSIFIER = "tf2_mobilenet_v2_1.0_224_ptq.tflite"


def pack(sources: list[Path], target: Path, limit: int | None = None) -> int:
    from rnncodec.data import find_images

    target.mkdir(parents=True, exist_ok=True)
    total = 0
    for source in sources:
        prefix = source.name
        for path in find_images([source])[:limit]:
            out = target / f"{prefix}-{path.stem}.jpg"
            if path.suffix.lower() in (".jpg", ".jpeg"):
                shutil.copyfile(path, out)
            else:
                with Image.open(path) as image:
                    image.convert("RGB").save(out, "JPEG", quality=90)
            total += out.stat().st_size
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--recognizers", type=Path, default=ROOT.parent / "shared" / "recognizers")
    parser.add_argument("--out", type=Path, default=ROOT / "data-pack")
    args = parser.parse_args(argv)
    total = pack([args.data / d for d in TRAIN], args.out / "train") + pack([args.data / d for d in VAL], args.out / "val", limit=20)
    classifier = args.recognizers / CLASSIFIER
    if classifier.is_file():
        (args.out / "recognizers").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(classifier, args.out / "recognizers" / CLASSIFIER)
        total += classifier.stat().st_size
    print(f"{args.out}: {total / 2**20:.1f} MiB")
    if total > LIMIT:
        print("over 64 MiB: too large to carry", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
