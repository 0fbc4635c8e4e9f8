"""Rate–distortion on Kodak: rnncodec at 1…N iterations vs JPEG and WebP, in the same run.

Every rnncodec point is real file bytes (container included) built by the codec's own file
writer (``Codec.file_bytes``, the code path of ``rnncodec.encode``) and decoded by the codec's
decoder.  JPEG is Pillow's (4:2:0, ``optimize=True``), WebP Pillow's (``method=6``), over their
quality ranges.  Metrics: PSNR-RGB (dB, MSE over all channels) and MS-SSIM (pytorch-msssim,
5 scales, 11×11 window) on 8-bit RGB.  Curves are averaged per setting (iteration count or
quality) over the images, as CompressAI's results are; the table interpolates each curve
linearly in log(bpp) — no extrapolation ("—" outside a curve's range).  BD-rate (Bjøntegaard,
cubic fit of log-rate against quality, over the overlapping range) compares whole curves.

    python benchmarks/rd_kodak.py                       # shipped default weights, ../shared/data/kodak
    python benchmarks/rd_kodak.py --codec-weights runs/x.pt --iterations 8 --images 6
    python benchmarks/rd_kodak.py --adaptive 25,27.5,30,32.5,35   # + spatially adaptive points

With ``--adaptive``, each quality target Q (dB) adds the point ``rnc encode --quality Q -n N``
writes (``--adaptive-iterations`` N), from the same uniform encoding: the curve of those points is
compared with the uniform one at equal mean bytes and by BD-rate (and with JPEG/WebP).

Writes ``results/kodak/<weights>.json`` and ``docs/img/rd-kodak.png``; prints a table.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from rnncodec.adaptive import PlanErrors, sends_for_quality
from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.formats import read
from rnncodec.imageio import load_image
from rnncodec.metrics import ms_ssim, psnr

ROOT = Path(__file__).resolve().parents[1]
TARGET_BPP = (0.125, 0.25, 0.5, 0.75, 1.0)
JPEG_QUALITIES = list(range(1, 21)) + list(range(25, 96, 5))
WEBP_QUALITIES = list(range(0, 21, 2)) + list(range(25, 101, 5))


def _tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).unsqueeze(0).float() / 255


def quality(reference: torch.Tensor, rgb: np.ndarray) -> tuple[float, float]:
    test = _tensor(rgb)
    return psnr(test, reference), ms_ssim(test, reference)


def pillow_point(rgb: np.ndarray, reference: torch.Tensor, fmt: str, q: int) -> dict:
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=q, optimize=True, subsampling="4:2:0")
    else:
        image.save(buffer, "WEBP", quality=q, method=6)
    size = buffer.tell()
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    db, ssim = quality(reference, decoded)
    return {"quality": q, "bytes": size, "bpp": 8 * size / (rgb.shape[0] * rgb.shape[1]), "psnr": db, "ms_ssim": ssim}


def rnc_points(codec: Codec, path: Path, reference: torch.Tensor, iterations: int,
               planned: int = 0) -> tuple[list[dict], dict, list[np.ndarray]]:
    """The uniform points (1 … ``iterations``), timings, and the block errors of the decoded images of
    the first ``planned`` iterations (:class:`~rnncodec.adaptive.PlanErrors`, what a quality target
    plans from; none without adaptive points)."""
    source = load_image(path)
    started = time.perf_counter()
    codes = list(codec.iter_codes(source.rgb, iterations))
    encode_seconds = time.perf_counter() - started
    files = [codec.file_bytes(source, codes[:k]) for k in range(1, iterations + 1)]
    decoder = codec.progressive_decoder(read(files[-1]).header)
    points, decode_seconds, errors, plan_errors = [], 0.0, [], PlanErrors()
    for k, (data, bits) in enumerate(zip(files, read(files[-1]).codes()), 1):
        started = time.perf_counter()
        image = decoder.add(bits)
        decode_seconds += time.perf_counter() - started
        rgb = np.asarray(image.convert("RGB"))
        if k <= planned:
            errors.append(plan_errors(rgb, source.rgb))
        db, ssim = quality(reference, rgb)
        points.append({"iterations": k, "bytes": len(data), "bpp": 8 * len(data) / (source.width * source.height),
                       "coder": read(data).header.coder, "psnr": db, "ms_ssim": ssim})
    return points, {"encode_s": encode_seconds, "decode_s": decode_seconds}, errors


def adaptive_points(codec: Codec, path: Path, reference: torch.Tensor, uniform: list[dict],
                    errors: list[np.ndarray], targets: list[float], max_iterations: int) -> list[dict]:
    """What ``rnc encode --quality Q -n max_iterations`` writes for each target Q: the plan from the
    uniform encoding's block errors, the image coded with it, or the uniform file at as many
    iterations when that is not larger (as :mod:`rnncodec.rate` does).  Quality is measured on the
    encoder's own reconstruction, pixel for pixel the decoder's (tests/codec/test_adaptive.py)."""
    source = load_image(path)
    points = []
    for target in targets:
        sends = sends_for_quality(errors[:max_iterations], target, max_iterations)
        k = int(sends.max())
        point = {"quality_target": target, "iterations": k, "block_iterations": float(sends.mean())}
        if sends.min() < k:
            steps = list(codec.iter_codes_and_images(source, k, sends))
            data = codec.file_bytes(source, [bits for bits, _ in steps])
            if len(data) < uniform[k - 1]["bytes"]:
                db, ssim = quality(reference, np.asarray(steps[-1][1].convert("RGB")))
                points.append({**point, "bytes": len(data), "bpp": 8 * len(data) / (source.width * source.height),
                               "coder": read(data).header.coder, "psnr": db, "ms_ssim": ssim})
                continue
        points.append({**uniform[k - 1], **point, "block_iterations": float(k)})
    return points


def api_timing(codec: Codec, path: Path, iterations: int) -> dict:
    """Wall time of the public calls (encode to bytes, decode to a PIL image) at ``iterations``."""
    started = time.perf_counter()
    data = codec.encode(path, iterations)
    middle = time.perf_counter()
    codec.decode(data)
    return {"encode_s": middle - started, "decode_s": time.perf_counter() - middle}


def mean_curve(per_image: list[list[dict]], key: str) -> list[dict]:
    """Average each setting (same ``key`` value) over images."""
    settings = sorted({p[key] for points in per_image for p in points})
    curve = []
    for setting in settings:
        rows = [p for points in per_image for p in points if p[key] == setting]
        if len(rows) != len(per_image):
            continue
        curve.append({key: setting, **{m: statistics.fmean(r[m] for r in rows) for m in ("bpp", "psnr", "ms_ssim")}})
    return sorted(curve, key=lambda p: p["bpp"])


def interpolate(curve: list[dict], bpp: float, metric: str) -> float | None:
    """Linear in log(bpp) between the two points around ``bpp``; None outside the curve."""
    for a, b in zip(curve, curve[1:]):
        if a["bpp"] <= bpp <= b["bpp"]:
            if b["bpp"] == a["bpp"]:
                return a[metric]
            t = (math.log(bpp) - math.log(a["bpp"])) / (math.log(b["bpp"]) - math.log(a["bpp"]))
            return a[metric] + t * (b[metric] - a[metric])
    return None


def _msssim_db(value: float) -> float:
    return -10 * math.log10(max(1 - value, 1e-10))


def bd_rate(anchor: list[dict], test: list[dict], metric: str) -> float | None:
    """Bjøntegaard delta rate (%) of ``test`` against ``anchor``: negative = fewer bytes for equal quality."""
    def fit(curve):
        q = np.array([_msssim_db(p[metric]) if metric == "ms_ssim" else p[metric] for p in curve])
        r = np.log(np.array([p["bpp"] for p in curve]))
        order = np.argsort(q)
        return q[order], r[order]

    qa, ra = fit(anchor)
    qt, rt = fit(test)
    low, high = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if len(qa) < 4 or len(qt) < 4 or high <= low:
        return None
    pa, pt = np.polyfit(qa, ra, 3), np.polyfit(qt, rt, 3)
    ia, it = np.polyint(pa), np.polyint(pt)
    avg_a = (np.polyval(ia, high) - np.polyval(ia, low)) / (high - low)
    avg_t = (np.polyval(it, high) - np.polyval(it, low)) / (high - low)
    return float((math.exp(avg_t - avg_a) - 1) * 100)


def plot(curves: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, curve in curves.items():
        bpp = [p["bpp"] for p in curve]
        style = "o-" if name.startswith("rnc") else ".--"
        axes[0].plot(bpp, [p["psnr"] for p in curve], style, label=name, markersize=4)
        axes[1].plot(bpp, [p["ms_ssim"] for p in curve], style, label=name, markersize=4)
    for ax, label in zip(axes, ("PSNR-RGB (dB)", "MS-SSIM")):
        ax.set_xlim(0, 1.1)
        ax.set_xlabel("bits per pixel (whole file)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylim(18, 36)
    axes[1].set_ylim(0.7, 1.0)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None,
                        help="codec weights name or file (default: shipped default)")
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--images", type=int, default=None, help="only the first N images (quick runs)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default results/kodak/<weights>.json)")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "img" / "rd-kodak.png")
    parser.add_argument("--no-baselines", action="store_true", help="skip JPEG/WebP (quick checks only)")
    parser.add_argument("--adaptive", default=None, metavar="Q1,Q2,…",
                        help="also spatially adaptive points: quality targets in dB (rnc encode --quality)")
    parser.add_argument("--adaptive-iterations", type=int, default=6, metavar="N",
                        help="the most iterations of an adaptive point (-n of rnc encode --quality)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--no-api-timing", action="store_true",
                        help="skip timing the public calls at 2 iterations (an encode and a decode more per image)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    targets = [float(q) for q in args.adaptive.split(",")] if args.adaptive else []

    codec = Codec(args.weights)
    name = Path(codec.weights.name).stem
    paths = find_images([args.data])[: args.images]
    if not paths:
        parser.error(f"no images in {args.data}")
    per_image: dict[str, list[list[dict]]] = {"rnc": [], "jpeg": [], "webp": [], "rnc-adaptive": []}
    timings, api = [], []
    for i, path in enumerate(paths, 1):
        rgb = load_image(path).rgb
        reference = _tensor(rgb)
        points, timing, errors = rnc_points(codec, path, reference, args.iterations,
                                            args.adaptive_iterations if targets else 0)
        per_image["rnc"].append(points)
        if targets:
            per_image["rnc-adaptive"].append(adaptive_points(codec, path, reference, points, errors, targets,
                                                             args.adaptive_iterations))
        timings.append(timing)
        if not args.no_api_timing:
            api.append(api_timing(codec, path, 2))
        if not args.no_baselines:
            per_image["jpeg"].append([pillow_point(rgb, reference, "JPEG", q) for q in JPEG_QUALITIES])
            per_image["webp"].append([pillow_point(rgb, reference, "WEBP", q) for q in WEBP_QUALITIES])
        print(f"[{i}/{len(paths)}] {path.name}: " + " ".join(
            f"{p['bpp']:.3f}/{p['psnr']:.2f}/{p['ms_ssim']:.4f}" for p in points[:4]), file=sys.stderr, flush=True)

    curves = {"rnc": mean_curve(per_image["rnc"], "iterations")}
    if targets:
        curves["rnc-adaptive"] = mean_curve(per_image["rnc-adaptive"], "quality_target")
    if not args.no_baselines:
        curves["jpeg"] = mean_curve(per_image["jpeg"], "quality")
        curves["webp"] = mean_curve(per_image["webp"], "quality")
    table = {codec_name: {str(bpp): {m: interpolate(curve, bpp, m) for m in ("psnr", "ms_ssim")} for bpp in TARGET_BPP}
             for codec_name, curve in curves.items()}
    bd = {}
    for anchor in ("jpeg", "webp"):
        if anchor in curves:
            bd[f"vs_{anchor}"] = {m: bd_rate(curves[anchor], curves["rnc"], m) for m in ("psnr", "ms_ssim")}
    if targets:  # the adaptive curve against the uniform one of the same network, and the baselines
        for anchor in ("rnc", "jpeg", "webp"):
            if anchor in curves:
                bd[f"adaptive_vs_{'uniform' if anchor == 'rnc' else anchor}"] = {
                    m: bd_rate(curves[anchor], curves["rnc-adaptive"], m) for m in ("psnr", "ms_ssim")}
    equal_bytes = [{"quality_target": p["quality_target"], "bpp": p["bpp"], "adaptive_psnr": p["psnr"],
                    "uniform_psnr": interpolate(curves["rnc"], p["bpp"], "psnr"), "adaptive_ms_ssim": p["ms_ssim"],
                    "uniform_ms_ssim": interpolate(curves["rnc"], p["bpp"], "ms_ssim")}
                   for p in curves.get("rnc-adaptive", [])]
    smallest = {}
    for anchor in ("jpeg", "webp"):
        if anchor in per_image and per_image[anchor]:
            first = mean_curve(per_image[anchor], "quality")[0]
            smallest[anchor] = first
    result = {
        "weights": codec.weights.name, "weights_sha256": codec.weights.sha256, "architecture": codec.weights.architecture,
        "images": [p.name for p in paths], "data": str(args.data), "precision": codec.backend.precision,
        "torch_threads": torch.get_num_threads(),
        "curves": curves, "table": table, "bd_rate_percent": bd, "baseline_smallest": smallest,
        "adaptive": {"targets_db": targets, "max_iterations": args.adaptive_iterations,
                     "at_equal_bytes": equal_bytes} if targets else None,
        "timing_median_s": {
            f"encode_{args.iterations}_iterations": statistics.median(t["encode_s"] for t in timings),
            f"decode_{args.iterations}_iterations_progressive": statistics.median(t["decode_s"] for t in timings),
            **({"encode_2_iterations_api": statistics.median(t["encode_s"] for t in api),
                "decode_2_iterations_api": statistics.median(t["decode_s"] for t in api)} if api else {}),
        },
        "per_image": per_image,
    }
    out = args.out or ROOT / "results" / "kodak" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    if not args.no_baselines:
        plot(curves, args.plot, f"Kodak ({len(paths)} images): rnncodec {name} vs Pillow JPEG / WebP")

    print(f"\nKodak, {len(paths)} images, weights {codec.weights.name} — PSNR-RGB dB / MS-SSIM (interpolated)")
    print(f"{'bpp':>6} | " + " | ".join(f"{n:^17}" for n in curves))
    for bpp in TARGET_BPP:
        cells = []
        for n in curves:
            cell = table[n][str(bpp)]
            cells.append("        —        " if cell["psnr"] is None else f"{cell['psnr']:6.2f} / {cell['ms_ssim']:.4f}")
        print(f"{bpp:6.3f} | " + " | ".join(cells))
    print("\nrnncodec per iteration (mean bpp / PSNR / MS-SSIM):")
    for p in curves["rnc"]:
        print(f"  {p['iterations']:2d}: {p['bpp']:.4f} / {p['psnr']:.2f} / {p['ms_ssim']:.4f}")
    if equal_bytes:
        print("\nadaptive (rnc encode --quality Q) vs uniform at equal mean bytes (uniform interpolated):")
        for row in equal_bytes:
            uniform = ("—" if row["uniform_psnr"] is None else
                       f"{row['uniform_psnr']:.2f} / {row['uniform_ms_ssim']:.4f}")
            print(f"  Q {row['quality_target']:5.1f}: {row['bpp']:.4f} bpp  adaptive {row['adaptive_psnr']:.2f} / "
                  f"{row['adaptive_ms_ssim']:.4f}  uniform {uniform}")
    for key, values in bd.items():
        text = ", ".join(f"{m}: {'n/a' if v is None else f'{v:+.1f} %'}" for m, v in values.items())
        print(f"BD-rate {key}: {text}")
    for anchor, point in smallest.items():
        print(f"{anchor} smallest (q={point['quality']}): {point['bpp']:.3f} bpp, {point['psnr']:.2f} dB, {point['ms_ssim']:.4f}")
    print("median s/image: " + ", ".join(f"{k} {v:.3f}" for k, v in result["timing_median_s"].items()))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
