"""Throughput of the decoded-image cache (photos coded and decoded per second): in this process
against Ray Data on a local Ray instance with W workers, on the same photos, in the same run.

    python benchmarks/cache_throughput.py                              # 20 BSDS500 val photos, 2 workers
    python benchmarks/cache_throughput.py --count 40 --workers 2 --rounds 3 --codec-weights gru-s.pt

Each round builds a fresh cache three ways — in this process with one codec thread (the default),
in this process with every thread torch has (``threads=None``), then on Ray with one thread per
worker — so that a drifting machine load hits each alike; the table gives medians over rounds.  The Ray time
is split into starting the local Ray instance (``ray.init``) and the build itself (actors started,
codec loaded once per worker, photos coded); photos/s counts both.  Every round also checks which
in-process caches hold the same ``.rnc`` and PNG bytes as Ray's.  Writes ``results/cache_throughput/<weights>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rnncodec.recognition.datasets import list_images
from rnncodec.recognition.decoded_cache import build_decoded_cache, cache_folder

ROOT = Path(__file__).resolve().parents[1]


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def same_bytes(a, b) -> bool:
    return all(x.rnc.read_bytes() == y.rnc.read_bytes()
               and all(x.decoded[k].read_bytes() == y.decoded[k].read_bytes() for k in x.decoded)
               for x, y in zip(a, b))


def one_round(photos, iterations, args, ray) -> dict:
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as every, \
            tempfile.TemporaryDirectory() as there:
        local, local_s = timed(lambda: build_decoded_cache(photos, Path(one), iterations,
                                                           codec_weights=args.codec_weights, progress=False))
        threaded, threaded_s = timed(lambda: build_decoded_cache(
            photos, Path(every), iterations, codec_weights=args.codec_weights, progress=False, threads=None))
        _, init_s = timed(lambda: ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False))
        try:
            remote, build_s = timed(lambda: build_decoded_cache(
                photos, Path(there), iterations, codec_weights=args.codec_weights, progress=False, ray="local",
                workers=args.workers, batch_size=args.batch_size))
        finally:
            ray.shutdown()
        return {"in_process_s": local_s, "in_process_all_threads_s": threaded_s, "ray_init_s": init_s,
                "ray_build_s": build_s, "identical": same_bytes(local, remote),
                "identical_all_threads": same_bytes(threaded, remote)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=ROOT.parent / "shared/data/bsds500/val")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--codec-weights", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: results/cache_throughput/)")
    args = parser.parse_args(argv)

    import ray
    import torch

    photos = list_images(args.photos)[:args.count]
    rounds = [one_round(photos, args.iterations, args, ray) for _ in range(args.rounds)]
    median = {key: statistics.median(r[key] for r in rounds)
              for key in ("in_process_s", "in_process_all_threads_s", "ray_init_s", "ray_build_s")}
    ray_total = median["ray_init_s"] + median["ray_build_s"]
    weights = cache_folder(Path("."), args.codec_weights).name
    report = {
        "photos": len(photos), "source": str(args.photos), "iterations": args.iterations, "weights": weights,
        "workers": args.workers, "batch_size": args.batch_size, "rounds": rounds, "median": median,
        "photos_per_s": {"in_process": len(photos) / median["in_process_s"],
                         "in_process_all_threads": len(photos) / median["in_process_all_threads_s"],
                         "ray": len(photos) / ray_total, "ray_excluding_init": len(photos) / median["ray_build_s"]},
        "identical_bytes": all(r["identical"] for r in rounds),
        "identical_bytes_all_threads": all(r["identical_all_threads"] for r in rounds),
        "machine": {"cpus": os.cpu_count(), "torch_threads_in_process": torch.get_num_threads(),
                    "python": platform.python_version(), "ray": ray.__version__, "torch": torch.__version__},
    }
    print(f"{len(photos)} photos of {args.photos}, decoded at {args.iterations}, weights {weights}, "
          f"{os.cpu_count()} CPUs; median of {args.rounds} rounds")
    print("| run | seconds | photos/s |\n|---|---:|---:|")
    print(f"| in-process, 1 thread (the default) | {median['in_process_s']:.1f} "
          f"| {report['photos_per_s']['in_process']:.2f} |")
    print(f"| in-process, {torch.get_num_threads()} threads (threads=None) | {median['in_process_all_threads_s']:.1f} "
          f"| {report['photos_per_s']['in_process_all_threads']:.2f} |")
    print(f"| Ray local, {args.workers} workers (start {median['ray_init_s']:.1f} s + build "
          f"{median['ray_build_s']:.1f} s) | {ray_total:.1f} | {report['photos_per_s']['ray']:.2f} |")
    print(f"same .rnc and PNG bytes as Ray: in-process, 1 thread: {report['identical_bytes']}; "
          f"{torch.get_num_threads()} threads: {report['identical_bytes_all_threads']}")
    out = args.out or ROOT / "results" / "cache_throughput" / f"{weights}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
