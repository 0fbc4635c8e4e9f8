"""Which planning rule for spatially adaptive iterations: the rules at equal mean iterations per block.

Each rule turns the block errors of an image's uniform encoding (every 16×16 block sending
1 … N iterations) into a plan — how many iterations each block sends — and the image is coded with
it (real bytes, the same fallback to the uniform file as ``rnc encode --quality``).  The rules'
strengths are set per image, by bisection, so that every rule sends 1.5, 1.9, 2.3, 2.7 and 3.1
iterations a block on average (``--mean-sends``; at most ``--max-iterations``, 4): the curves cover
the same bytes and compare the *choice* of blocks, not a calibration of the quality scale.  BD-rate
against the uniform curve of the same images.

- ``psnr-thr``: each block until its MSE reaches a level (the first ``--quality``).
- ``mse-lam``: while an iteration lowers its MSE by at least λ (times the image's 1-iteration MSE).
- ``ms-thr`` / ``ms-lam``: the same with the MS-SSIM block error (:func:`rnncodec.adaptive.block_msssim_error`).
- ``comb-lam``: while an iteration lowers MSE/MSE₁ + D/D₁ by λ — both metrics alike (what
  ``--quality`` did until it planned with :class:`rnncodec.adaptive.PlanErrors`).
- ``mix-thr``: until the geometric mean of MSE and D reaches a level.
- ``msg-lam``: while an iteration raises the whole image's MS-SSIM by λ (share of its 1-iteration
  error), to first order: :class:`rnncodec.adaptive.PlanErrors`.
- ``combg-lam-S``: while an iteration lowers S·MSE/MSE₁ + G/G₁ by λ, G the whole image's MS-SSIM
  error as ``msg-lam`` counts it; ``combg-lam-1`` is what :func:`rnncodec.adaptive.sends_for_quality`
  does (with an absolute threshold), smaller S weigh MS-SSIM more.
- ``combg-rate``: ``combg-lam-1`` with each gain per bit that the block's iteration costs (its 32
  bits' information under coder 2's model fitted to the uniform iteration), times the mean cost.
- ``ms-greedy``: not a rule an encoder could afford but a bound on what choosing blocks can buy in
  MS-SSIM: iterations are handed out a few blocks at a time (1 % of them), each time to the blocks
  whose next uniform reconstruction raises the *whole image's* MS-SSIM most — to first order, from
  its gradient on the image pieced together from the uniform reconstructions each block is at.
  Unlike the other rules it sees the coarse scales, where a block's change reaches far.

    python benchmarks/adaptive_rules.py kodim03.png kodim20.png kodim05.png kodim12.png
    python benchmarks/adaptive_rules.py --rules ms-greedy,comb-lam kodim03.png …   # some rules only

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

from rnncodec.adaptive import BLOCK, PlanErrors, block_errors  # noqa: E402
from rnncodec.codec import Codec  # noqa: E402
from rnncodec.imageio import load_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEAN_SENDS = (1.5, 1.9, 2.3, 2.7, 3.1)
MSE_SHARES = (1, 0.3, 0.1)
RULES = ("psnr-thr", "mse-lam", "ms-thr", "ms-lam", "comb-lam", "mix-thr", "ms-greedy", "msg-lam") + tuple(
    f"combg-lam-{share}" for share in MSE_SHARES) + ("combg-rate",)
GREEDY_SHARE = 0.01  # of the blocks, given one more iteration per step of ms-greedy


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


def greedy_order(images: list[torch.Tensor], reference: torch.Tensor, n: int) -> list[np.ndarray]:
    """``ms-greedy``'s hand-outs, in order: each a list of flat block indices given one more
    iteration, chosen by the first-order gain in the whole image's MS-SSIM.  ``images[k]``: the
    uniform reconstruction after k + 1 iterations (1×3×H×W, H and W multiples of the block)."""
    from pytorch_msssim import ms_ssim

    _, _, height, width = reference.shape
    rows, cols = height // BLOCK, width // BLOCK
    stack = torch.cat(images[:n])  # n×3×H×W
    steps = (stack[1:] - stack[:-1]).reshape(n - 1, 3, rows, BLOCK, cols, BLOCK)
    sends = torch.ones(rows * cols, dtype=torch.long)
    per_step = max(1, round(GREEDY_SHARE * rows * cols))
    order = []
    while (sends < n).any():
        pixels = sends.reshape(rows, cols).repeat_interleave(BLOCK, 0).repeat_interleave(BLOCK, 1)
        composite = stack.gather(0, (pixels - 1)[None, None].expand(1, 3, height, width)).requires_grad_()
        ms_ssim(composite, reference, data_range=1.0).backward()
        gradient = composite.grad.reshape(3, rows, BLOCK, cols, BLOCK)
        gain = torch.full((rows * cols,), -math.inf)
        for k in range(1, n):
            at = sends == k
            gain[at] = (gradient * steps[k - 1]).sum(dim=(0, 2, 4)).reshape(-1)[at]
        chosen = torch.topk(gain, min(per_step, int((sends < n).sum()))).indices
        sends[chosen] += 1
        order.append(chosen.numpy())
    return order


def block_bits(codes: list[np.ndarray]) -> list[np.ndarray]:
    """Each block's bits in each uniform iteration's payload, as coder 2 would code them: the
    information of its 32 code bits under the iteration's fitted model (rows × cols)."""
    from rnncodec.formats.coders.context.fit import fit_weights, windows
    from rnncodec.formats.coders.context.model import (logit_bound, probability_table, signed, signed_padded,
                                                       spatial_sums)

    out = []
    for t, bits in enumerate(codes):
        last = signed(codes[t - 1]) if t else None
        padded = signed_padded(bits)
        weights = fit_weights(bits, padded, last, windows(bits.shape)[0])
        table, bound, spatial = probability_table(bits.shape[0]), logit_bound(bits.shape[0]), spatial_sums(padded)
        cost = np.zeros(bits.shape[1:])
        for c in range(bits.shape[0]):
            p_one = table[weights.channel_logits(c, padded, spatial, last) + bound]
            cost -= np.log2(np.where(bits[c] == 1, p_one, 1 - p_one))
        out.append(cost)
    return out


def greedy_plan(order: list[np.ndarray], grid: tuple[int, int], target: float) -> np.ndarray:
    """The plan after the first hand-outs of ``order`` that bring the mean iterations per block to ``target``."""
    sends = np.ones(grid[0] * grid[1], dtype=np.int64)
    for chosen in order:
        if sends.mean() >= target:
            break
        sends[chosen] += 1
    return sends.reshape(grid)


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
    parser.add_argument("--rules", default=",".join(RULES), help=f"comma-separated, of {', '.join(RULES)}")
    parser.add_argument("--max-iterations", type=int, default=4, help="the most iterations a block sends")
    parser.add_argument("--mean-sends", default=",".join(map(str, MEAN_SENDS)),
                        help="the mean iterations per block of each rule's points")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "kodak" / "adaptive-rules.json")
    args = parser.parse_args(argv)
    chosen_rules = args.rules.split(",")
    if unknown := set(chosen_rules) - set(RULES):
        parser.error(f"unknown rules: {', '.join(sorted(unknown))}")
    torch.set_num_threads(1)
    mean_sends = tuple(float(v) for v in args.mean_sends.split(","))
    codec, n, per = Codec(), args.max_iterations, {}
    for name in args.images:
        source = load_image(args.data / name)
        reference = _tensor(source.rgb)
        steps = list(codec.iter_codes_and_images(source, n + 1))
        uniform, mse, msssim, images, planned, plan_errors = [], [], [], [], [], PlanErrors()
        for k in range(1, n + 2):
            data = codec.file_bytes(source, [bits for bits, _ in steps[:k]])
            rgb = np.asarray(steps[k - 1][1].convert("RGB"))
            images.append(_tensor(rgb))
            db, ssim = quality(reference, rgb)
            uniform.append({"iterations": k, "bytes": len(data), "bpp": 8 * len(data) / (source.width * source.height),
                            "psnr": db, "ms_ssim": ssim})
            m, d = block_errors(rgb, source.rgb)
            mse.append(m)
            msssim.append(d)
            planned.append(plan_errors(rgb, source.rgb)[1])
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
        gain_msg = [(planned[t - 1] - planned[t]) / planned[0].mean() for t in range(1, n)]
        rules["msg-lam"] = (lambda p: plan_gain(gain_msg, p, n), 1e-6, 1e3)
        for share in MSE_SHARES:
            rules[f"combg-lam-{share}"] = (lambda p, share=share: plan_gain(
                [share * a + b for a, b in zip(gain_mse, gain_msg)], p, n), 1e-6, 1e3)
        if "combg-rate" in chosen_rules:  # the gain per bit the block's iteration costs
            cost = block_bits([bits for bits, _ in steps])
            mean_cost = [c.mean() for c in cost]
            rules["combg-rate"] = (lambda p: plan_gain([(a + b) * mean_cost[t + 1] / np.maximum(cost[t + 1], 1.0)
                                                        for t, (a, b) in enumerate(zip(gain_mse, gain_msg))], p, n),
                                   1e-6, 1e3)
        if "ms-greedy" in chosen_rules:
            order = greedy_order(images, reference, n)
        for rule_name in chosen_rules:
            points = []
            for i, target in enumerate(mean_sends):
                if rule_name == "ms-greedy":
                    sends = greedy_plan(order, mse[0].shape, target)
                else:
                    rule, low, high = rules[rule_name]
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
    args.out.write_text(json.dumps({"images": args.images, "mean_sends": mean_sends, "max_iterations": n,
                                    "bd_rate_percent_vs_uniform": bd, "per_image": per}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
