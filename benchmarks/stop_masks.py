"""What coder 3's stop masks cost (SPEC.md §7.3), on masks a quality target makes from real codes.

Issue 12: blocks stop once they are good enough; the mask is entropy coded in each iteration's
chunk, per 16×16 block "or a coarser unit if the mask costs too much — measure".  Each image is
encoded once at N iterations with the uniform network (``Codec.iter_codes_and_images``: codes and
the decoder's image after each iteration).  For a target PSNR, a block stops after the first
iteration at which its own PSNR reaches the target (never before iteration 1), which gives a
monotone mask; its codes are the uniform codes with the stopped blocks set to ``STOPPED`` (the
network's codes for the active blocks would change once it is fine-tuned; the mask does not).

Measured per target, summed over the images and iterations 2…N:

- ``decision bits``: the information of the stop decisions as coder 3 codes them (``stop_symbols``,
  ``Σ −log2 p``), per decision (a block still active at t−1) and per block of the image;
- ``order-0 bits``: the same decisions with one adaptive context (no neighbours), for comparison;
- ``unit 32``: the same target with 32×32 units (a unit stops when its four blocks all reach
  it): its decision bits per 16×16 block, and the code bits the coarser mask cannot stop;
- ``payload``: coder 3's bytes for the codes with stops, and its bytes for the same codes without
  stops next to coder 2's (the overhead of the decisions when nothing stops).

    python benchmarks/stop_masks.py --images 4 --iterations 8

Writes ``results/entropy/stop_masks.json``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.formats import get_coder, spec
from rnncodec.formats.coders.context.stops import stop_symbols
from rnncodec.imageio import load_image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from entropy_coder import add_code_arguments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BLOCK = spec.BLOCK_SIZE


def block_psnr(original: np.ndarray, decoded: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """PSNR (dB) of each 16×16 block (edge blocks: their pixels inside the image)."""
    error = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
    padded = np.full((rows * BLOCK, cols * BLOCK), np.nan)
    padded[: error.shape[0], : error.shape[1]] = error.mean(axis=2)
    mse = np.nanmean(padded.reshape(rows, BLOCK, cols, BLOCK), axis=(1, 3))
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def stop_iterations(psnr: np.ndarray, target: float) -> np.ndarray:
    """Per block, the last iteration it sends (1-based): the first whose PSNR reaches ``target``,
    else N.  ``psnr`` is ``(N, rows, cols)``."""
    reached = psnr >= target
    return np.where(reached.any(axis=0), reached.argmax(axis=0) + 1, psnr.shape[0])


def masks(last: np.ndarray, iterations: int) -> list[np.ndarray]:
    """The active maps of iterations 1…N from each block's last iteration."""
    return [last >= t for t in range(1, iterations + 1)]


def information(symbols: np.ndarray, weights_of_zero: np.ndarray) -> float:
    p0 = weights_of_zero / 2 ** spec.CONTEXT_PRECISION
    return float(-np.log2(np.where(symbols == 0, p0, 1 - p0)).sum())


def order0_bits(symbols: np.ndarray) -> float:
    """The decisions with one adaptive (Krichevsky–Trofimov) context, symbol by symbol."""
    zeros = ones = 0
    total = 0.0
    for s in symbols:
        p = ((ones if s else zeros) + 0.5) / (zeros + ones + 1)
        total -= np.log2(p)
        zeros, ones = zeros + (not s), ones + bool(s)
    return total


def coarse(last: np.ndarray) -> np.ndarray:
    """Each block's last iteration when 2×2 blocks (32×32 px) stop together: the unit's latest."""
    rows, cols = last.shape
    padded = np.pad(last, ((0, rows % 2), (0, cols % 2)), mode="edge")
    unit = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).max(axis=(1, 3))
    return unit, np.repeat(np.repeat(unit, 2, axis=0), 2, axis=1)[:rows, :cols]


def with_stops(codes: list[np.ndarray], active: list[np.ndarray]) -> list[np.ndarray]:
    return [np.where(a[None], code, spec.STOPPED).astype(np.uint8) for code, a in zip(codes, active)]


def payload_bytes(coder, codes: list[np.ndarray]) -> int:
    return sum(len(coder.encode(bits, codes[:t])) for t, bits in enumerate(codes))


def measure(codes: list[np.ndarray], psnr: np.ndarray, target: float) -> dict:
    iterations, (channels, rows, cols) = len(codes), codes[0].shape
    last = stop_iterations(psnr, target)
    active = masks(last, iterations)
    unit_last, last32 = coarse(last)
    unit_active = masks(unit_last, iterations)
    out = {"decisions": 0, "decision_bits": 0.0, "order0_bits": 0.0, "unit32_decision_bits": 0.0,
           "blocks": rows * cols * (iterations - 1), "active_blocks": [int(a.sum()) for a in active],
           "unit32_active_blocks": [int((last32 >= t).sum()) for t in range(1, iterations + 1)]}
    for t in range(1, iterations):
        symbols, m = stop_symbols(active[t], active[t - 1])
        out["decisions"] += len(symbols)
        out["decision_bits"] += information(symbols, m)
        out["order0_bits"] += order0_bits(symbols)
        out["unit32_decision_bits"] += information(*stop_symbols(unit_active[t], unit_active[t - 1]))
    out["payload_bytes"] = payload_bytes(get_coder("adaptive"), with_stops(codes, active))
    out["unit32_payload_bytes"] = payload_bytes(get_coder("adaptive"), with_stops(codes, masks(last32, iterations)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_code_arguments(parser, 8)
    parser.add_argument("--targets", type=float, nargs="+", default=[27.0, 30.0, 33.0],
                        help="block PSNR targets (dB)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "entropy" / "stop_masks.json")
    args = parser.parse_args(argv)

    codec = Codec(args.weights)
    paths = find_images([args.data])[: args.images]
    if not paths:
        parser.error(f"no images in {args.data}")
    per_image = []
    for i, path in enumerate(paths, 1):
        source = load_image(path)
        codes, psnr = [], []
        for bits, image in codec.iter_codes_and_images(source, args.iterations):
            codes.append(bits)
            psnr.append(block_psnr(source.rgb, np.asarray(image.convert("RGB")), *bits.shape[1:]))
        psnr = np.stack(psnr)
        row = {"image": path.name, "code_shape": list(codes[0].shape),
               "context_bytes": payload_bytes(get_coder("context"), codes),
               "adaptive_bytes_no_stops": payload_bytes(get_coder("adaptive"), codes),
               "targets": {str(q): measure(codes, psnr, q) for q in args.targets}}
        per_image.append(row)
        print(f"[{i}/{len(paths)}] {path.name}", file=sys.stderr, flush=True)

    summary = {}
    print(f"{'target dB':>9} {'decisions':>9} {'bits/dec':>8} {'order-0':>8} {'bits/block':>10} "
          f"{'32x32 bits/block':>16} {'32x32 extra payload':>19} {'mask share':>10}")
    for q in map(str, args.targets):
        rows = [image["targets"][q] for image in per_image]
        total = {key: sum(r[key] for r in rows) for key in ("decisions", "decision_bits", "order0_bits",
                                                           "unit32_decision_bits", "blocks", "payload_bytes",
                                                           "unit32_payload_bytes")}
        summary[q] = {
            **total,
            "bits_per_decision": total["decision_bits"] / max(total["decisions"], 1),
            "order0_bits_per_decision": total["order0_bits"] / max(total["decisions"], 1),
            "bits_per_block": total["decision_bits"] / total["blocks"],
            "unit32_bits_per_block": total["unit32_decision_bits"] / total["blocks"],
            "unit32_extra_payload": total["unit32_payload_bytes"] / total["payload_bytes"] - 1,
            "mask_share_of_payload": total["decision_bits"] / (8 * total["payload_bytes"]),
        }
        s = summary[q]
        print(f"{q:>9} {s['decisions']:>9} {s['bits_per_decision']:>8.3f} {s['order0_bits_per_decision']:>8.3f} "
              f"{s['bits_per_block']:>10.3f} {s['unit32_bits_per_block']:>16.3f} "
              f"{100 * s['unit32_extra_payload']:>18.1f}% {100 * s['mask_share_of_payload']:>9.2f}%")
    context = sum(r["context_bytes"] for r in per_image)
    adaptive = sum(r["adaptive_bytes_no_stops"] for r in per_image)
    print(f"no stops: coder 2 {context} bytes, coder 3 {adaptive} bytes (+{adaptive - context}, "
          f"{100 * (adaptive / context - 1):.3f} %)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"weights": args.weights or "default", "iterations": args.iterations, "images": len(per_image),
              "summary": summary, "no_stops": {"context_bytes": context, "adaptive_bytes": adaptive},
              "per_image": per_image}
    temporary = args.out.with_suffix(".tmp")
    temporary.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    temporary.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
