"""Which planning rule for spatially adaptive iterations: six rules at equal mean iterations per block.

Each rule turns the block errors of an image's uniform encoding (every 16×16 block sending
1 … N iterations) into a plan — how many iterations each block sends — and the image is coded with
it (real bytes, the same fallback to the uniform file as ``rnc encode --quality``).  The rules'
strengths are set per image, by bisection, so that every rule sends 1.5, 1.9, 2.3, 2.7 and 3.1
iterations a block on average: the curves cover the same bytes and compare the *choice* of blocks,
not a calibration of the quality scale.  BD-rate against the uniform curve of the same images.

- ``psnr-thr``: each block until its MSE reaches a level (the first ``--quality``).
- ``mse-lam``: while an iteration lowers its MSE by at least λ (times the image's 1-iteration MSE).
- ``ms-thr`` / ``ms-lam``: the same with the MS-SSIM block error (:func:`rnncodec.adaptive.block_msssim_error`).
- ``comb-lam``: while an iteration lowers MSE/MSE₁ + D/D₁ by λ — both metrics alike (what
  :func:`rnncodec.adaptive.sends_for_quality` does, there with an absolute threshold).
- ``mix-thr``: until the geometric mean of MSE and D reaches a level.

    python benchmarks/adaptive_rules.py kodim03.png kodim20.png kodim05.png kodim12.png

Writes ``results/kodak/adaptive-rules.json``; prints BD-rates.  Slow: 30 encodes an image.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rd_kodak import _tensor, bd_rate, mean_curve, quality  # noqa: E402

from rnncodec.adaptive import block_errors  # noqa: E402
from rnncodec.codec import Codec  # noqa: E402
from rnncodec.imageio import load_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEAN_SENDS = (1.5, 1.9, 2.3, 2.7, 3.1)


def plan_threshold(errors: list[np.ndarray], level: float, n: int) -> np.ndarray:
    """Each block until the first iteration whose error is at most ``level``, else ``n``."""
    sends = np.full(errors[0].shape, n, dtype=np.int64)
    for t in range(n - 1, -1, -1):
        sends[errors[t] <= level] = t + 1
    return sends


def plan_gain(gains: list[np.ndarray], lam: float, n: int) -> np.ndarray:
    """Each block up to the last iteration (≥ 2) that gains it at least ``lam`` (``gains[t - 2]``: iteration t's)."""
    sends = np.ones(gains[0].shape, dtype=np.int64)
    for t, gain in enumerate(gains[: n - 1], 2):
        sends[gain >= lam] = t
    return sends


def at_mean_sends(rule, target: float, low: float, high: float) -> np.ndarray:
    """``rule(strength)``'s plan whose mean iterations per block is ``target`` (bisection in log strength;
    the mean falls as the strength grows)."""
    for _ in range(40):
        middle = math.sqrt(low * high)
        if rule(middle).mean() > target:
            low = middle
        else:
            high = middle
    return rule(high)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="+", help="Kodak file names")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "kodak" / "adaptive-rules.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    codec, n, per = Codec(), 4, {}
    for name in args.images:
        source = load_image(args.data / name)
        reference = _tensor(source.rgb)
        steps = list(codec.iter_codes_and_images(source, n + 1))
        uniform, mse, msssim = [], [], []
        for k in range(1, n + 2):
            data = codec.file_bytes(source, [bits for bits, _ in steps[:k]])
            rgb = np.asarray(steps[k - 1][1].convert("RGB"))
            db, ssim = quality(reference, rgb)
            uniform.append({"iterations": k, "bytes": len(data), "bpp": 8 * len(data) / (source.width * source.height),
                            "psnr": db, "ms_ssim": ssim})
            m, d = block_errors(rgb, source.rgb)
            mse.append(m)
            msssim.append(d)
        per.setdefault("uniform", []).append(uniform)
        gain_mse = [(mse[t - 1] - mse[t]) / mse[0].mean() for t in range(1, n)]
        gain_ms = [(msssim[t - 1] - msssim[t]) / msssim[0].mean() for t in range(1, n)]
        mix = [np.log(m + 1e-9) / 2 + np.log(d + 1e-9) / 2 for m, d in zip(mse, msssim)]
        rules = {
            "psnr-thr": (lambda p: plan_threshold(mse, p, n), 1e-3, 1e5),
            "mse-lam": (lambda p: plan_gain(gain_mse, p, n), 1e-6, 1e3),
            "ms-thr": (lambda p: plan_threshold(msssim, p, n), 1e-7, 10),
            "ms-lam": (lambda p: plan_gain(gain_ms, p, n), 1e-6, 1e3),
            "comb-lam": (lambda p: plan_gain([a + b for a, b in zip(gain_mse, gain_ms)], p, n), 1e-6, 1e3),
            "mix-thr": (lambda p: plan_threshold(mix, math.log(p), n), 1e-6, 1e4),
        }
        for rule_name, (rule, low, high) in rules.items():
            points = []
            for i, target in enumerate(MEAN_SENDS):
                sends = at_mean_sends(rule, target, low, high)
                k = int(sends.max())
                point = {"quality_target": i, "block_iterations": float(sends.mean())}
                if sends.min() < k:
                    coded = list(codec.iter_codes_and_images(source, k, sends))
                    data = codec.file_bytes(source, [bits for bits, _ in coded])
                    if len(data) < uniform[k - 1]["bytes"]:
                        db, ssim = quality(reference, np.asarray(coded[-1][1].convert("RGB")))
                        points.append({**point, "bytes": len(data), "psnr": db, "ms_ssim": ssim,
                                       "bpp": 8 * len(data) / (source.width * source.height)})
                        continue
                points.append({**uniform[k - 1], **point})
            per.setdefault(rule_name, []).append(points)
            print(name, rule_name, " ".join(f"{p['block_iterations']:.2f}:{p['bpp']:.3f}/{p['psnr']:.2f}/"
                                            f"{p['ms_ssim']:.4f}" for p in points), file=sys.stderr, flush=True)
    anchor = mean_curve(per["uniform"], "iterations")
    bd = {}
    for rule_name, points in per.items():
        if rule_name != "uniform":
            curve = mean_curve(points, "quality_target")
            bd[rule_name] = {m: bd_rate(anchor, curve, m) for m in ("psnr", "ms_ssim")}
            print(f"{rule_name:9s} BD-rate vs uniform: PSNR {bd[rule_name]['psnr']:+.1f} %, "
                  f"MS-SSIM {bd[rule_name]['ms_ssim']:+.1f} %")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"images": args.images, "mean_sends": MEAN_SENDS, "max_iterations": n,
                                    "bd_rate_percent_vs_uniform": bd, "per_image": per}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
