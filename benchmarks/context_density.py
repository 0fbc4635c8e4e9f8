"""The context coder's densest payloads on real codes: payload bits per code bit, per iteration.

Could a decoder refuse a coder-2 payload that is "too short for its code" (issue 17)?  Only if no
encoder output is ever that short.  This measures how short the reference encoder's payloads get:
each image is encoded once at N iterations (``Codec.iter_codes``), every iteration's code is coded
alone with the context coder (``ContextCoder.encode(bits, previous)``, as in a file) and the ratio
``8 · payload bytes / code bits`` recorded.  The images: Kodak (``--data``) and flat or smooth
synthetic images of the same size, which compress best — a constant grey, black, white, a
horizontal ramp and the flat bands of ``benchmarks/hostile.py``.  SPEC.md §7.2 says why the
decoder checks no such ratio (the empty payload is the valid coding of an all-zero code) and what
bounds its work instead.

    python benchmarks/context_density.py                   # shipped default weights, Kodak, 16 iterations
    python benchmarks/context_density.py --images 4 --iterations 8

Writes ``results/entropy/context_density.json``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.formats import get_coder
from rnncodec.imageio import load_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from entropy_coder import add_code_arguments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def synthetic(width: int, height: int) -> dict[str, np.ndarray]:
    """Flat and smooth ``height × width`` RGB images: what compresses best."""
    ramp = np.broadcast_to((np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8)[None, :, None],
                           (height, width, 3))
    row = (np.arange(width, dtype=np.uint32) * 255 // width).astype(np.uint8)
    bands = np.broadcast_to(np.stack([row, row[::-1], np.full(width, 128, np.uint8)], axis=1), (height, width, 3))
    return {"grey-128": np.full((height, width, 3), 128, np.uint8), "black": np.zeros((height, width, 3), np.uint8),
            "white": np.full((height, width, 3), 255, np.uint8), "ramp": np.ascontiguousarray(ramp),
            "bands": np.ascontiguousarray(bands)}


def densities(codec: Codec, rgb: np.ndarray, iterations: int) -> list[dict]:
    """Per iteration: code bits, context payload bytes, payload bits per code bit, share of ones."""
    coder = get_coder("context")
    codes = list(codec.iter_codes(rgb, iterations))
    rows = []
    for t, bits in enumerate(codes):
        payload = coder.encode(bits, codes[:t])
        rows.append({"iteration": t + 1, "code_bits": int(bits.size), "payload_bytes": len(payload),
                     "bits_per_code_bit": round(8 * len(payload) / bits.size, 5),
                     "ones": round(float(bits.mean()), 4)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_code_arguments(parser, 16)
    parser.add_argument("--large-side", type=int, default=4096,
                        help="also a constant grey of this side at 2 iterations (0: none): the denser, the larger")
    args = parser.parse_args(argv)

    codec = Codec(args.weights)
    inputs = {path.name: load_image(path).rgb for path in find_images([args.data])[: args.images]}
    inputs.update(synthetic(768, 512))
    per_image = {}
    for i, (name, rgb) in enumerate(inputs.items(), 1):
        per_image[name] = densities(codec, rgb, args.iterations)
        print(f"[{i}/{len(inputs)}] {name}: min {min(r['bits_per_code_bit'] for r in per_image[name]):.5f} "
              "payload bits per code bit", file=sys.stderr, flush=True)
    kodak = [name for name in per_image if name not in synthetic(1, 1)]
    table = []
    for t in range(args.iterations):
        row = {"iteration": t + 1}
        for group, names in (("kodak", kodak), ("synthetic", [n for n in per_image if n not in kodak])):
            values = [per_image[n][t]["bits_per_code_bit"] for n in names]
            if values:
                smallest = min(names, key=lambda n: per_image[n][t]["bits_per_code_bit"])
                row[group] = {"min": min(values), "median": float(np.median(values)), "min_image": smallest}
        table.append(row)
    if args.large_side:
        name = f"grey-128 {args.large_side}x{args.large_side}"
        per_image[name] = densities(codec, np.full((args.large_side, args.large_side, 3), 128, np.uint8),
                                    min(2, args.iterations))
        print(f"{name}: " + ", ".join(f"iteration {r['iteration']}: {r['payload_bytes']} bytes for {r['code_bits']} "
                                      f"code bits ({r['bits_per_code_bit']})" for r in per_image[name]))
    lowest = min(((n, r) for n, rows in per_image.items() for r in rows), key=lambda item: item[1]["bits_per_code_bit"])
    result = {"weights": codec.weights.name, "iterations": args.iterations, "data": str(args.data),
              "lowest": {"image": lowest[0], **lowest[1]}, "table": table, "per_image": per_image}
    out = ROOT / "results" / "entropy" / "context_density.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")

    print(f"\nweights {codec.weights.name}: context payload bits per code bit, per iteration "
          f"({len(kodak)} Kodak images; synthetic: {', '.join(n for n in per_image if n not in kodak)})")
    print(f"{'t':>2} | {'Kodak min':>9} | {'median':>7} | {'synthetic min':>13} | {'median':>7} | image with the min")
    for row in table:
        k, s = row.get("kodak", {}), row["synthetic"]
        print(f"{row['iteration']:>2} | {k.get('min', float('nan')):9.4f} | {k.get('median', float('nan')):7.4f} | "
              f"{s['min']:13.5f} | {s['median']:7.4f} | {s['min_image']}")
    print(f"lowest: {lowest[0]} iteration {lowest[1]['iteration']}: {lowest[1]['payload_bytes']} bytes for "
          f"{lowest[1]['code_bits']} code bits ({lowest[1]['bits_per_code_bit']} bits per bit)")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
