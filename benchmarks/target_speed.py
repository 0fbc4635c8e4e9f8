"""What a size or quality target costs against a plain encode of the same bytes.

For each image, in rounds (the targets and their plain peers measured side by side, so machine
load hits them alike): plain encodes of 1..N iterations, then ``quality=Q`` (at most N iterations)
and ``max_bytes=B`` (at most 16; below the 1-iteration file, that file).  A target's *plain
time at the same bytes* is interpolated between the two plain encodes whose sizes bracket the
target's file (the nearest one's time beyond them).  Threads: the library's default, as the CLI's.  Prints a table, writes JSON.

    python benchmarks/target_speed.py ../shared/data/kodak/kodim03.png ... --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from rnncodec.codec import Codec
from rnncodec.rate import RateTarget, encode_to_target


def timed(run):
    started = time.perf_counter()
    result = run()
    return result, time.perf_counter() - started


def plain_time_at(size: int, plain: list[tuple[int, float]]) -> float:
    """The time of a plain encode of ``size`` bytes, interpolated between the (bytes, seconds) of 1..N iterations."""
    sizes, seconds = zip(*plain)
    return float(np.interp(size, sizes, seconds))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=4, help="plain encodes of 1..N; a quality target's most")
    parser.add_argument("--quality", type=float, nargs="+", default=[28, 32])
    parser.add_argument("--max-bytes", type=int, nargs="+", default=[4000, 8000])
    parser.add_argument("--out", type=Path, default=Path("results/rate/target_speed.json"))
    args = parser.parse_args(argv)
    codec = Codec()
    targets = [("quality", q, RateTarget(quality=q), args.iterations) for q in args.quality]
    targets += [("max_bytes", b, RateTarget(max_bytes=b, allow_larger=True), 16) for b in args.max_bytes]
    rows = []
    for round_ in range(args.rounds):
        for path in args.images:
            plain = []
            for n in range(1, args.iterations + 1):
                data, seconds = timed(lambda: codec.encode(path, n))
                plain.append((len(data), seconds))
            for kind, value, target, most in targets:
                result, seconds = timed(lambda: encode_to_target(codec, path, target, most))
                peer = plain_time_at(len(result.data), plain)
                same_n = plain[min(result.iterations, len(plain)) - 1][1]
                rows.append({"image": path.name, "round": round_, "target": kind, "value": value,
                             "bytes": len(result.data), "iterations": result.iterations, "seconds": seconds,
                             "plain_seconds_same_bytes": peer, "plain_seconds_same_iterations": same_n,
                             "plain": plain})
                print(f"{path.name} {kind}={value:g}: {len(result.data):,} B, {seconds:.2f} s, "
                      f"{seconds / peer:.2f}× plain at the same bytes, {seconds / same_n:.2f}× plain "
                      f"of {result.iterations} iterations", flush=True)
    summary = []
    print(f"\n{'image':>12} | {'target':>14} | bytes | target s | plain s, same bytes | ratio | "
          f"plain s, same iterations | ratio   (medians of {args.rounds} rounds)")
    for path in args.images:
        for kind, value, _, _ in targets:
            mine = [r for r in rows if r["image"] == path.name and r["target"] == kind and r["value"] == value]
            s = {"image": path.name, "target": kind, "value": value, "bytes": mine[0]["bytes"],
                 "seconds": statistics.median(r["seconds"] for r in mine),
                 "plain_same_bytes": statistics.median(r["plain_seconds_same_bytes"] for r in mine),
                 "ratio_same_bytes": statistics.median(r["seconds"] / r["plain_seconds_same_bytes"] for r in mine),
                 "plain_same_iterations": statistics.median(r["plain_seconds_same_iterations"] for r in mine),
                 "ratio_same_iterations": statistics.median(r["seconds"] / r["plain_seconds_same_iterations"]
                                                            for r in mine)}
            summary.append(s)
            print(f"{path.name:>12} | {kind + '=' + format(value, 'g'):>14} | {s['bytes']:,} | {s['seconds']:.2f} | "
                  f"{s['plain_same_bytes']:.2f} | {s['ratio_same_bytes']:.2f}× | {s['plain_same_iterations']:.2f} | "
                  f"{s['ratio_same_iterations']:.2f}×")
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "rows": rows, "load_average_end": load}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
