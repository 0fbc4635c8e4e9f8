"""Rate accuracy and cost of ``--max-bytes`` on Kodak: is the file ever over budget, how close to it
does it come, and what does the target cost against a plain encode of the same file, in the same run.

For each image and budget the target's encode is the library's (``rnncodec.rate.encode_to_target``,
what ``rnc encode --max-bytes`` runs) with ``allow_larger`` so that budgets below the 1-iteration
file are counted (``reachable: false``) rather than stopping the run; the plain encode is
``Codec.encode`` at the iterations the target chose (byte-identical file when every block sends
them all; when the last iteration goes to some blocks only, the plain file of as many iterations
is a little larger).  Sizes are real file bytes, container included (metadata of a file path, as
``rnc encode`` writes).

    python benchmarks/rate_kodak.py                           # 2, 4, 8, 16 kB; ../shared/data/kodak
    python benchmarks/rate_kodak.py --budgets 4000,16000 --images 4

Writes ``results/rate/<weights>.json``; prints a table (kB = 1000 bytes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.rate import RateTarget, encode_to_target

ROOT = Path(__file__).resolve().parents[1]


def measure(codec: Codec, path: Path, budget: int) -> dict:
    started = time.perf_counter()
    result = encode_to_target(codec, path, RateTarget(max_bytes=budget, allow_larger=True))
    target_s = time.perf_counter() - started
    started = time.perf_counter()
    plain = codec.encode(path, result.iterations)
    plain_s = time.perf_counter() - started
    if result.block_iterations == result.iterations and plain != result.data:
        raise AssertionError(f"{path.name}: the target's file differs from the plain encode at "
                             f"{result.iterations} iterations")
    return {"image": path.name, "budget": budget, "bytes": len(result.data), "iterations": result.iterations,
            "block_iterations": result.block_iterations, "plain_bytes": len(plain),
            "reachable": result.met, "target_s": target_s, "plain_s": plain_s}


def summarise(rows: list[dict], budget: int) -> dict:
    mine = [r for r in rows if r["budget"] == budget]
    reachable = [r for r in mine if r["reachable"]]
    ratios = [r["bytes"] / budget for r in reachable]
    return {
        "budget": budget, "images": len(mine), "reachable": len(reachable),
        "over_budget": sum(r["bytes"] > budget for r in reachable),
        "mean_bytes_over_budget": statistics.fmean(ratios) if ratios else None,
        "min_bytes_over_budget": min(ratios) if ratios else None,
        "iterations": sorted({r["iterations"] for r in mine}),
        "unreachable_smallest_bytes": sorted(r["bytes"] for r in mine if not r["reachable"]),
        "median_target_over_plain_time": statistics.median(r["target_s"] / r["plain_s"] for r in mine),
        "median_target_s": statistics.median(r["target_s"] for r in mine),
        "median_plain_s": statistics.median(r["plain_s"] for r in mine),
        "mean_block_iterations": statistics.fmean(r["block_iterations"] for r in mine),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--codec-weights", dest="weights", default=None, help="default: the shipped default")
    parser.add_argument("--budgets", default="2000,4000,8000,16000", help="byte budgets, comma-separated")
    parser.add_argument("--images", type=int, default=None, help="only the first N images (quick runs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default results/rate/<weights>.json)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    budgets = [int(b) for b in args.budgets.split(",")]
    codec = Codec(args.weights)
    paths = find_images([args.data])[: args.images]
    if not paths:
        parser.error(f"no images in {args.data}")
    codec.encode(paths[0], 1)  # warm-up: the first call of a process pays for the kernels' setup
    rows = []
    for i, path in enumerate(paths, 1):
        for budget in budgets:
            rows.append(measure(codec, path, budget))
        print(f"[{i}/{len(paths)}] {path.name}: " + " ".join(
            f"{r['budget']}→{r['bytes']}({r['iterations']})" for r in rows[-len(budgets):]), file=sys.stderr, flush=True)
    summary = [summarise(rows, budget) for budget in budgets]
    result = {"weights": codec.weights.name, "weights_sha256": codec.weights.sha256, "data": str(args.data),
              "images": [p.name for p in paths], "backend": codec.backend.name, "precision": codec.backend.precision,
              "torch_threads": torch.get_num_threads(), "summary": summary, "per_image": rows}
    out = args.out or ROOT / "results" / "rate" / f"{Path(codec.weights.name).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))

    print(f"\nKodak, {len(paths)} images, weights {codec.weights.name}, --max-bytes")
    print(f"{'budget':>8} | reachable | over | mean bytes/budget | min | iterations | target/plain time")
    for s in summary:
        mean = "—" if s["mean_bytes_over_budget"] is None else f"{s['mean_bytes_over_budget']:.3f}"
        low = "—" if s["min_bytes_over_budget"] is None else f"{s['min_bytes_over_budget']:.3f}"
        print(f"{s['budget']:>8} | {s['reachable']:>4}/{s['images']:<4} | {s['over_budget']:>4} | {mean:>17} | "
              f"{low:>5} | {','.join(map(str, s['iterations'])):>10} | {s['median_target_over_plain_time']:.2f}×")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
