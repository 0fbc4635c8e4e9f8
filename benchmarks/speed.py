"""Encode + decode time of one 768×512 image, in process, next to Pillow's WebP in the same run.

    python benchmarks/speed.py                      # shipped default weights, kodim01, 2 iterations
    python benchmarks/speed.py --codec-weights x.pt --iterations 4 --repeats 9

Target (issue 3/4): rnncodec encode + decode at 2 iterations < 1.0 s on 2 cores (median).
The first call (model load, allocator warm-up) is excluded; every figure is a median of
``--repeats`` runs.  Writes ``results/speed/<weights>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from rnncodec.choices import PRECISIONS
from rnncodec.codec import Codec

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png")
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--precision", default=PRECISIONS[0], choices=PRECISIONS)
    args = parser.parse_args(argv)

    image = Image.open(args.image).convert("RGB")
    codec = Codec(args.weights, precision=args.precision)
    data = codec.encode(image, args.iterations)  # warm-up
    codec.decode(data)
    encode_s = median_seconds(lambda: codec.encode(image, args.iterations), args.repeats)
    decode_s = median_seconds(lambda: codec.decode(data), args.repeats)

    def webp_round_trip():
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=10, method=6)
        Image.open(io.BytesIO(buffer.getvalue())).load()

    webp_s = median_seconds(webp_round_trip, args.repeats)
    total = encode_s + decode_s
    result = {
        "image": args.image.name, "size": list(image.size), "iterations": args.iterations, "bytes": len(data),
        "weights": codec.weights.name, "precision": "bf16" if codec.bf16 else "fp32",
        "torch_threads": torch.get_num_threads(), "repeats": args.repeats,
        "median_s": {"encode": encode_s, "decode": decode_s, "encode_plus_decode": total,
                     "webp_m6_round_trip": webp_s},
        "ratio_to_webp": total / webp_s,
        "target_s": 1.0, "meets_target": total < 1.0,
    }
    out = ROOT / "results" / "speed" / f"{Path(codec.weights.name).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"{args.image.name} {image.size[0]}×{image.size[1]}, {args.iterations} iterations, {len(data):,} bytes, "
          f"{result['precision']}, {result['torch_threads']} threads, median of {args.repeats}:")
    print(f"  encode {encode_s:.3f} s + decode {decode_s:.3f} s = {total:.3f} s "
          f"({'meets' if total < 1.0 else 'MISSES'} the 1.0 s target)")
    print(f"  Pillow WebP (method 6) encode + decode: {webp_s:.3f} s — rnncodec takes {total / webp_s:.1f}×")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
