"""Adapt the reference classifier to decoded images (issue 14, item 4: the paper's "compressed-image model").

Label-free: our torch copy of the reference MobileNetV2 (``rnncodec.recognition.tflite_torch``) on the
original photo is the teacher; the same copy, trained, sees the photo as the codec's decoder gives it.
Training photos only (the codec's training sets — never ``imagenet-sample-100`` or ``coco128-train``, the
benchmark's photos, nor Kodak), scaled to ImageNet's photo size first (long side ``--max-side``, 500 px:
ImageNet's median), so that coding artefacts have the size relative to the content that the benchmark's
photos will show. Stages:

1. the photos, scaled (lossless PNG copies under ``WORK/photos``);
2. the decoded-image cache (``rnncodec.recognition.decoded_cache``) at 1…N iterations of ``--codec-weights``;
3. fine-tuning (``rnncodec.recognition.finetune``), written to ``--out``.

Then measure with ``python benchmarks/recognition.py --tasks classify --adapted NAME=OUT``.

    python scripts/adapt_reference.py --work /tmp/adapt --out runs/adapted-v4.pt --codec-weights GRU_S_V4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
TRAINING_SETS = ("bsds500/train", "bsds500/test", "sun-hays80", "urban100-40")
VALIDATION_SET = "bsds500/val"
CLASSIFIER = ROOT.parent / "shared" / "recognizers" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"


def scaled_photos(sources: list[Path], out: Path, max_side: int) -> list[Path]:
    """Each photo with its long side at most ``max_side`` (Lanczos), as PNG under ``out`` (made once)."""
    from PIL import Image, ImageOps

    out.mkdir(parents=True, exist_ok=True)
    scaled = []
    for source in sources:
        target = out / f"{source.parent.name}-{source.stem}.png"
        if not target.exists():
            with Image.open(source) as image:
                image = ImageOps.exif_transpose(image).convert("RGB")
                image.thumbnail((max_side, max_side), Image.LANCZOS)
                partial = target.with_suffix(".tmp.png")
                image.save(partial)
                partial.replace(target)
        scaled.append(target)
    return scaled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--classifier", type=Path, default=CLASSIFIER, help="the reference classifier (.tflite)")
    parser.add_argument("--codec-weights", default="GRU_S_V4")
    parser.add_argument("--work", type=Path, required=True, help="folder for the scaled photos and the cache")
    parser.add_argument("--out", type=Path, required=True, help="the adapted classifier's state dict")
    parser.add_argument("--iterations", type=int, default=3, help="decode at 1…N iterations (default 3)")
    parser.add_argument("--train-on", type=int, nargs="+", default=None, metavar="K",
                        help="iteration counts to train on, one drawn per sample (default: 1…N)")
    parser.add_argument("--max-side", type=int, default=500)
    parser.add_argument("--prepare-only", action="store_true", help="stages 1 and 2 only")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--train-photos", type=int, default=None,
                        help="only the first N training photos (in the order of the sets above; default all 520)")
    parser.add_argument("--val-photos", type=int, default=60, help="validation photos (the first N of bsds500/val)")
    parser.add_argument("--original-share", type=float, default=0.25,
                        help="share of the samples that show the original (keeps the accuracy on originals)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint beside --out")
    args = parser.parse_args(argv)

    from rnncodec.recognition.datasets import list_images
    from rnncodec.recognition.decoded_cache import build_decoded_cache

    train = scaled_photos([p for name in TRAINING_SETS for p in list_images(args.data / name)][:args.train_photos],
                          args.work / "photos" / "train", args.max_side)
    val = scaled_photos(list_images(args.data / VALIDATION_SET)[:args.val_photos], args.work / "photos" / "val",
                        args.max_side)
    iterations = list(range(1, args.iterations + 1))
    print(f"{len(train)} training and {len(val)} validation photos; coding them at 1…{args.iterations} iterations",
          file=sys.stderr)
    build_decoded_cache(train + val, args.work / "cache", iterations, codec_weights=args.codec_weights)  # stage 2
    if args.prepare_only:
        return 0
    from rnncodec.recognition.finetune import finetune_classifier
    from rnncodec.recognition.tflite_torch import load_tflite_classifier
    from rnncodec.recognition.trainable import Trainable, pixels_255

    network = load_tflite_classifier(args.classifier).trainable_()
    report = finetune_classifier(Trainable(network, normalize=pixels_255, input_size=224), train,
                                 args.work / "cache", out=args.out, iterations=args.train_on or iterations, steps=args.steps,
                                 batch_size=args.batch_size, lr=args.lr, val_photos=val,
                                 original_share=args.original_share, resume=args.resume,
                                 codec_weights=args.codec_weights)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
