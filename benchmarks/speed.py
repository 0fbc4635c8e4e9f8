"""Encode + decode time of one 768×512 image on each backend, in process, next to Pillow's WebP in the
same run; and the cold start of ``rnc encode photo.png -n 2`` as a whole process.

    python benchmarks/speed.py                                   # default weights, kodim01, 2 iterations
    python benchmarks/speed.py --light-rnc /tmp/light/bin/rnc    # also the light install's cold start
    python benchmarks/speed.py --backends onnx --light-rnc before=/tmp/a/bin/rnc --light-rnc after=/tmp/b/bin/rnc
    python benchmarks/speed.py --codec-weights x.pt --iterations 4 --repeats 9 --backends onnx

Targets: encode + decode at 2 iterations < 1.0 s on 2 cores (issues 3/4, median); the cold start of
``rnc encode photo.png -n 2`` < 1.0 s for the light install (issue 13).  In process, the first call
(model load, allocator warm-up) is excluded and every figure is a median of ``--repeats`` runs.
Cold starts are whole processes (start-up, imports, weights, encoding, writing), median of
``--cold-runs``, the commands taking turns so that a drifting machine load hits each alike; each
command also codes a 16×16 image, which leaves the fixed cost (start-up, imports, weights) alone.
Every command shares one fresh cache folder (``RNC_CACHE_DIR``: unpacked weights, optimised
graphs), which the first, uncounted round fills, as a user's first run does.
They run with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` unset), as an installed
``rnc`` has it: an editable install would otherwise compile its modules again at every start.
Each backend's cold start is then split, in CPU seconds, into that fixed cost, the network and
coding warm in process (its ``encode_cpu``), and the rest: what first runs cost more (sessions,
allocations).
Writes ``results/speed/<weights>.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from rnncodec.cache import CACHE_ENV
from rnncodec.choices import PRECISIONS
from rnncodec.codec import Codec

ROOT = Path(__file__).resolve().parents[1]


def median_seconds(fn, repeats: int, cpu: bool = False) -> float:
    """Median wall seconds of ``fn()`` (``cpu``: CPU seconds of this process, every thread)."""
    clock = time.process_time if cpu else time.perf_counter
    times = []
    for _ in range(repeats):
        started = clock()
        fn()
        times.append(clock() - started)
    return statistics.median(times)


def in_process(backend: str, image: Image.Image, args) -> dict:
    codec = Codec(args.weights, precision=args.precision if backend == "torch" else "auto", backend=backend)
    data = codec.encode(image, args.iterations)  # warm-up
    codec.decode(data)
    encode_s = median_seconds(lambda: codec.encode(image, args.iterations), args.repeats)
    decode_s = median_seconds(lambda: codec.decode(data), args.repeats)
    encode_cpu_s = median_seconds(lambda: codec.encode(image, args.iterations), args.repeats, cpu=True)
    return {"weights": codec.weights.name, "precision": codec.backend.precision, "bytes": len(data),
            "encode": encode_s, "decode": decode_s, "encode_plus_decode": encode_s + decode_s,
            "encode_cpu": encode_cpu_s}


def cold_starts(commands: dict[str, list[str]], runs: int, cache: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall seconds and median CPU seconds (user + system) of each whole command; the
    commands take turns (A B A B …), their cache folder ``cache``.  On a shared machine the CPU
    time is the steadier figure: it is what the command needs, the wall time what it got."""
    wall: dict[str, list[float]] = {label: [] for label in commands}
    cpu: dict[str, list[float]] = {label: [] for label in commands}
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env[CACHE_ENV] = str(cache)
    for _ in range(runs + 1):  # the first round warms the file cache (and writes bytecode) and is not counted
        for label, command in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            wall[label].append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[label].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return ({label: statistics.median(values[1:]) for label, values in wall.items()},
            {label: statistics.median(values[1:]) for label, values in cpu.items()})


def cold_start_breakdown(results: dict, cold_cpu: dict[str, float], size: str) -> dict[str, dict[str, float]]:
    """Each backend's cold start in CPU seconds (steadier than wall on a shared machine): the fixed
    start-up (the 16×16 image's whole process), the network and coding warm in process (its
    ``encode_cpu``), and the rest — what the first runs cost more (sessions, allocations)."""
    breakdown = {}
    for backend, result in results.items():
        label = f"rnc --backend {backend}"
        if f"{label}, {size}" in cold_cpu:
            total, fixed = cold_cpu[f"{label}, {size}"], cold_cpu[f"{label}, 16x16"]
            breakdown[label] = {"cold_start_cpu": total, "fixed_start_up_16x16_cpu": fixed,
                                "warm_encode_in_process_cpu": result["encode_cpu"],
                                "first_run_rest_cpu": total - fixed - result["encode_cpu"]}
    return breakdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared" / "data" / "kodak" / "kodim01.png")
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--precision", default=PRECISIONS[0], choices=PRECISIONS, help="the torch backend's")
    parser.add_argument("--backends", default="torch,onnx", help="comma-separated: torch,onnx")
    parser.add_argument("--cold-runs", type=int, default=5, help="whole-process runs per command (0: none)")
    parser.add_argument("--light-rnc", action="append", default=[], metavar="[LABEL=]PATH",
                        help="the rnc of a light install (pip install .) to time too; repeat it to compare "
                             "installs (say, before and after a change) in one run")
    args = parser.parse_args(argv)
    backends = [name for name in args.backends.split(",") if name]

    image = Image.open(args.image).convert("RGB")
    results = {name: in_process(name, image, args) for name in backends}

    def webp_round_trip():
        buffer = io.BytesIO()
        image.save(buffer, "WEBP", quality=10, method=6)
        Image.open(io.BytesIO(buffer.getvalue())).load()

    webp_s = median_seconds(webp_round_trip, args.repeats)

    cold, cold_cpu, lights = {}, {}, []
    if args.cold_runs:
        rnc = Path(sys.executable).with_name("rnc")
        with tempfile.TemporaryDirectory() as tmp:
            tiny = Path(tmp) / "16x16.png"
            image.resize((16, 16)).save(tiny)
            programs = {f"rnc --backend {name}": [str(rnc), "--backend", name] for name in backends}
            for light in args.light_rnc:
                label, _, path = light.rpartition("=")
                lights.append(f"light install rnc (onnx){f' {label}' if label else ''}")
                programs[lights[-1]] = [path]
            commands = {}
            for label, (program, *backend) in programs.items():
                for source, size in ((args.image, "x".join(map(str, image.size))), (tiny, "16x16")):
                    commands[f"{label}, {size}"] = [program, "encode", str(source), "-n", str(args.iterations),
                                                   "-o", f"{tmp}/out.rnc", "--force", *backend]
            cold, cold_cpu = cold_starts(commands, args.cold_runs, cache=Path(tmp) / "cache")

    breakdown = cold_start_breakdown(results, cold_cpu, "x".join(map(str, image.size)))
    sizes = ("x".join(map(str, image.size)), "16x16")
    light_ratios = {f"{label} / {lights[0]}, {size}": {"wall": cold[f"{label}, {size}"] / cold[f"{lights[0]}, {size}"],
                                                      "cpu": cold_cpu[f"{label}, {size}"] / cold_cpu[f"{lights[0]}, {size}"]}
                    for label in lights[1:] for size in sizes}
    weights = next(iter(results.values()))["weights"]
    result = {
        "image": args.image.name, "size": list(image.size), "iterations": args.iterations, "weights": weights,
        "repeats": args.repeats, "backends": results, "webp_m6_round_trip": webp_s,
        "ratios_to_torch": ({name: {key: r[key] / results["torch"][key] for key in ("encode", "decode",
                                                                                  "encode_plus_decode")}
                             for name, r in results.items()} if "torch" in results else {}),
        "cold_start_s": cold, "cold_start_cpu_s": cold_cpu, "cold_runs": args.cold_runs, "target_s": 1.0,
        "cold_start_breakdown_s": breakdown, "light_install_ratios": light_ratios,
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    out = ROOT / "results" / "speed" / f"{Path(weights).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"{args.image.name} {image.size[0]}×{image.size[1]}, {args.iterations} iterations, {weights}, "
          f"median of {args.repeats}:")
    for name, r in results.items():
        ratio = f" ({r['encode_plus_decode'] / results['torch']['encode_plus_decode']:.2f}× torch)" \
            if "torch" in results and name != "torch" else ""
        print(f"  {name:5s} {r['precision']}: encode {r['encode']:.3f} s + decode {r['decode']:.3f} s = "
              f"{r['encode_plus_decode']:.3f} s{ratio}, {r['bytes']:,} bytes; "
              f"{r['encode_plus_decode'] / webp_s:.1f}× Pillow WebP (method 6, {webp_s:.3f} s); "
              f"encode {r['encode_cpu']:.3f} s CPU")
    for label, seconds in cold.items():
        print(f"  cold start, {label} encode -n {args.iterations}: {seconds:.2f} s wall, {cold_cpu[label]:.2f} s CPU "
              f"(median of {args.cold_runs}; target < 1.0 s)")
    for label, ratio in light_ratios.items():
        print(f"  cold start, {label}: {ratio['wall']:.2f}× wall, {ratio['cpu']:.2f}× CPU")
    for label, parts in breakdown.items():
        print(f"  {label} encode -n {args.iterations} cold, {parts['cold_start_cpu']:.2f} s CPU: fixed start-up "
              f"(16×16) {parts['fixed_start_up_16x16_cpu']:.2f} s + network and coding warm in process "
              f"{parts['warm_encode_in_process_cpu']:.2f} s + first runs (sessions, allocations) "
              f"{parts['first_run_rest_cpu']:.2f} s")
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
