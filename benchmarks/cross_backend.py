"""Cross-backend agreement: the torch and onnx backends on the 24 Kodak images.

For each image both encoders code 4 iterations; the codes of the first 1, 2 and 4 iterations are
compared bit by bit, and each encoder's file is decoded by both backends (progressively, so one
decoder run gives every prefix): the PSNR of the two decodes of the same file differ by this much.

    python benchmarks/cross_backend.py                       # the default weights, torch auto precision
    python benchmarks/cross_backend.py --precision bf16 --limit 6

Acceptance (issue 13): codes agree on ≥ 99.9 % of bits and the mean |PSNR difference| between the
backends' decodes of the same file is < 0.05 dB, at 1, 2 and 4 iterations.
Writes ``results/cross_backend/<weights>-<precision>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from rnncodec.choices import PRECISIONS
from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]
COUNTS = (1, 2, 4)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def decode_prefixes(codec: Codec, header, codes: list[np.ndarray]) -> dict[int, np.ndarray]:
    """The decoded pixels after each iteration count of :data:`COUNTS`, one progressive pass."""
    decoder, pixels = codec.progressive_decoder(header), {}
    for k, bits in enumerate(codes, 1):
        image = decoder.add(bits)
        if k in COUNTS:
            pixels[k] = np.asarray(image)
    return pixels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None)
    parser.add_argument("--precision", default=PRECISIONS[0], choices=PRECISIONS, help="the torch backend's")
    parser.add_argument("--limit", type=int, default=24)
    args = parser.parse_args(argv)

    codecs = {"torch": Codec(args.weights, precision=args.precision, backend="torch"),
              "onnx": Codec(args.weights, backend="onnx")}
    precision = codecs["torch"].backend.precision
    rows = []
    started = time.perf_counter()
    for path in find_images([args.data])[:args.limit]:
        source = load_image(path)
        header = codecs["torch"].header_for(source, max(COUNTS), "raw")
        codes = {name: list(codec.iter_codes(source.rgb, max(COUNTS))) for name, codec in codecs.items()}
        row = {"image": path.name, "bits_agree": {}, "psnr": {}}
        for k in COUNTS:
            row["bits_agree"][k] = float(np.mean(np.stack(codes["torch"][:k]) == np.stack(codes["onnx"][:k])))
        for encoder in codecs:  # the file each encoder makes, decoded by each backend
            decoded = {name: decode_prefixes(codec, header, codes[encoder]) for name, codec in codecs.items()}
            row["psnr"][encoder] = {k: {name: psnr(decoded[name][k], source.rgb) for name in codecs} for k in COUNTS}
        rows.append(row)
        print(f"{path.name}: bits agree " + ", ".join(f"{k} it {100 * row['bits_agree'][k]:.3f} %" for k in COUNTS)
              + "; |ΔPSNR| " + ", ".join(f"{k} it {abs(row['psnr']['torch'][k]['torch'] - row['psnr']['torch'][k]['onnx']):.4f}"
                                      for k in COUNTS), flush=True)

    summary = {}
    for k in COUNTS:
        diffs = [abs(r["psnr"][enc][k]["torch"] - r["psnr"][enc][k]["onnx"]) for r in rows for enc in codecs]
        summary[k] = {
            "bits_agree_mean": float(np.mean([r["bits_agree"][k] for r in rows])),
            "bits_agree_min": float(np.min([r["bits_agree"][k] for r in rows])),
            "psnr_abs_diff_mean": float(np.mean(diffs)),
            "psnr_abs_diff_max": float(np.max(diffs)),
            "psnr_torch_file": {name: float(np.mean([r["psnr"]["torch"][k][name] for r in rows])) for name in codecs},
            "psnr_onnx_file": {name: float(np.mean([r["psnr"]["onnx"][k][name] for r in rows])) for name in codecs},
        }
    result = {"weights": codecs["torch"].weights.name, "torch_precision": precision, "onnx_precision": "fp32",
              "images": len(rows), "seconds": time.perf_counter() - started, "summary": summary, "rows": rows,
              "targets": {"bits_agree": 0.999, "psnr_abs_diff_mean_db": 0.05}}
    out = ROOT / "results" / "cross_backend" / f"{codecs['torch'].weights.name}-{precision}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\n{len(rows)} images, {result['weights']}, torch {precision} vs onnx fp32:")
    print("| iterations | bits agree (mean / min) | mean PSNR dB torch file: torch / onnx decode | "
          "onnx file: torch / onnx decode | mean |ΔPSNR| dB (max) |")
    print("|---|---|---|---|---|")
    for k, s in summary.items():
        ok = s["bits_agree_mean"] >= 0.999 and s["psnr_abs_diff_mean"] < 0.05
        print(f"| {k} | {100 * s['bits_agree_mean']:.3f} % / {100 * s['bits_agree_min']:.3f} % | "
              f"{s['psnr_torch_file']['torch']:.3f} / {s['psnr_torch_file']['onnx']:.3f} | "
              f"{s['psnr_onnx_file']['torch']:.3f} / {s['psnr_onnx_file']['onnx']:.3f} | "
              f"{s['psnr_abs_diff_mean']:.4f} ({s['psnr_abs_diff_max']:.4f}) {'meets' if ok else 'MISSES'} |")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
