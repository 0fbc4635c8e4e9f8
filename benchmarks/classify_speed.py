"""End-to-end time of ``rnc classify`` on 100 ``.rnc`` files at 2 iterations (target: < 20 s on 2 cores).

    python benchmarks/classify_speed.py                               # shipped codec weights, 100 ImageNet photos
    python benchmarks/classify_speed.py --work /tmp/speed --repeats 3 # keep the prepared files for reruns

Setup (not timed): the shipped codec weights (or ``--codec-weights FILE``, or weights exported
from a training checkpoint with ``--checkpoint``), a randomly initialised
ResNet-50 saved as the ``--weights`` file (same cost as torchvision's, no download), and the photos
of ``--data`` encoded at ``--iterations``.  Timed: the ``rnc classify FOLDER -n K --json`` command
in a fresh process (``RNC_OFFLINE=1``), for each of :data:`VARIANTS` (threads, precision,
decoding threads), wall clock and CPU time, median of ``--repeats``; then, in this process, how that time splits between decoding and classifying.
The 1-minute load average is recorded: other work on the machine inflates every figure.
Writes ``results/classify_speed/<codec weights>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 20.0

#: The command lines timed: name → options added to ``rnc classify FOLDER -n K --json``.
VARIANTS = {
    "2 threads (default: 2 decoding threads)": ["--threads", "2"],
    "2 threads, decoding in turn": ["--threads", "2", "--decode-workers", "0"],
    "2 threads, fp32": ["--threads", "2", "--precision", "fp32"],
    "1 thread": ["--threads", "1"],
}


def random_resnet50(path: Path) -> Path:
    import torch
    from torchvision.models import resnet50

    if not path.exists():
        torch.manual_seed(0)
        torch.save(resnet50(weights=None).state_dict(), path)
    return path


def encode_all(photos: list[Path], codec_weights: Path, iterations: int, coder: str, out: Path) -> Path:
    from rnncodec.codec import Codec
    from rnncodec.weights import sha256_file

    folder = out / f"rnc-{sha256_file(codec_weights)[:12]}-{iterations}it-{coder}"
    folder.mkdir(parents=True, exist_ok=True)
    codec = Codec(codec_weights)
    for i, photo in enumerate(photos, 1):
        target = folder / f"{photo.stem}.rnc"
        if not target.exists():
            target.write_bytes(codec.encode(photo, iterations, coder=coder))
            print(f"\rencoded {i}/{len(photos)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return folder


def time_command(args: list[str], repeats: int) -> dict:
    """Median wall and CPU seconds of ``args`` run ``repeats`` times in fresh processes."""
    env = {**os.environ, "RNC_OFFLINE": "1", "RNC_NO_PROGRESS": "1"}
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
    lines = done.stdout.splitlines()
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "runs_wall_s": walls,
            "files": len(lines), "load_average_1min": os.getloadavg()[0]}


def breakdown(folder: Path, codec_weights: Path, resnet: Path, iterations: int, threads: int) -> dict:
    """Seconds spent loading, decoding and classifying, measured in this process."""
    import torch

    from rnncodec.recognition import InputDecoder, load_recognizer, recognize_batches

    torch.set_num_threads(threads)
    started = time.perf_counter()
    recognizer = load_recognizer("resnet50", weights=resnet, download=False)
    decoder = InputDecoder(codec_weights)
    decoder.decode(sorted(folder.glob("*.rnc"))[0], iterations)  # loads the codec
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    decoded = [decoder.decode(path, iterations) for path in sorted(folder.glob("*.rnc"))]
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in recognize_batches(recognizer, decoded, batch_size=recognizer.batch_size):
        pass
    classify_s = time.perf_counter() - started
    return {"load_s": load_s, "decode_s": decode_s, "classify_s": classify_s, "files": len(decoded),
            "mean_pixels": sum(d.sample.width * d.sample.height for d in decoded) / len(decoded)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "imagenet-sample-100")
    parser.add_argument("--checkpoint", type=Path, default=None, help="A training checkpoint to take codec weights from.")
    parser.add_argument("--codec-weights", type=Path, default=None,
                        help="A codec weights file (default: --checkpoint if given, else the shipped default).")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--coder", default="auto", help="Payload coder of the .rnc files (auto: the smallest).")
    parser.add_argument("--threads", type=int, default=1, help="Torch threads of the in-process breakdown.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--work", type=Path, default=None, help="Keep the prepared files here (default: a temp dir).")
    args = parser.parse_args(argv)

    import tempfile

    from rnncodec.train import export_checkpoint
    from rnncodec.weights import resolve_weights

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        codec_weights = args.codec_weights or (
            export_checkpoint(args.checkpoint, work / f"{args.checkpoint.stem}.pt") if args.checkpoint
            else resolve_weights(None)[0])
        resnet = random_resnet50(work / "resnet50-random.pth")
        photos = sorted(p for p in args.data.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))[:args.count]
        folder = encode_all(photos, codec_weights, args.iterations, args.coder, work)
        rnc = str(Path(sys.executable).with_name("rnc"))
        command = [rnc, "classify", str(folder), "-n", str(args.iterations), "--weights", str(resnet),
                   "--codec-weights", str(codec_weights), "--json"]
        runs = {name: time_command(command + options, args.repeats) for name, options in VARIANTS.items()}
        split = breakdown(folder, codec_weights, resnet, args.iterations, args.threads)

    result = {"files": len(photos), "iterations": args.iterations, "coder": args.coder, "target_s": TARGET_S,
              "codec_weights": codec_weights.name, "command": " ".join(command[:2] + ["FOLDER"] + command[3:]),
              "runs": runs, "in_process": {"threads": args.threads, **split}, "cpu_count": os.cpu_count()}
    out = ROOT / "results" / "classify_speed" / f"{codec_weights.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, run in runs.items():
        verdict = "meets" if run["wall_s"] < TARGET_S else "misses"
        print(f"{name:>34}: {run['wall_s']:.1f} s wall, {run['cpu_s']:.1f} s CPU for {run['files']} files "
              f"(load average {run['load_average_1min']:.1f}): {verdict} the {TARGET_S:.0f} s target")
    print(f"in process, {args.threads} thread(s): load {split['load_s']:.1f} s, decode {split['decode_s']:.1f} s "
          f"({1000 * split['decode_s'] / split['files']:.0f} ms/file), classify {split['classify_s']:.1f} s "
          f"({1000 * split['classify_s'] / split['files']:.0f} ms/file)")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
