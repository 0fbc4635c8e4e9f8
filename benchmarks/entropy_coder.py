"""Payload coders on real codes: bytes of raw, zstd and the context coder (coder 2) on Kodak.

Each image is encoded once at N iterations (``Codec.iter_codes``; the encoder is causal, so the
first k iterations are the codes of a k-iteration encode).  For every k = 1…N the table gives the
payload bytes of a k-iteration file summed over the images (the container adds 12 bytes per
iteration and ~60 per file, the same for every coder), the saving against raw packed bits, the
context coder's saving on iteration k alone, and the median time per image to encode and to
decode iteration k.  Every k-iteration file is also written with the context coder and read back
through the container (``write_bytes``/``read``), and must give the codes bit for bit.  The
network's own decode time at 2 iterations is measured too, for the coder's share of the decode time.

    python benchmarks/entropy_coder.py                        # shipped default weights, ../shared/data/kodak
    python benchmarks/entropy_coder.py --codec-weights /tmp/trial.pt --images 6

Writes ``results/entropy/<weights>.json``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnncodec.codec import Codec
from rnncodec.data import find_images
from rnncodec.formats import coder_names, get_coder, read, write_bytes
from rnncodec.imageio import load_image

ROOT = Path(__file__).resolve().parents[1]


def timed(function, repeat: int):
    """``function()``'s result and its median wall time in ms over ``repeat`` runs."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(1000 * (time.perf_counter() - start))
    return result, statistics.median(times)


def measure_image(codec: Codec, path: Path, iterations: int, repeat: int) -> dict:
    """Per coder and iteration: payload bytes, encode and decode ms; checks every round trip."""
    source = load_image(path)
    codes = list(codec.iter_codes(source.rgb, iterations))
    out: dict = {"image": path.name, "coders": {}}
    for name in coder_names():
        coder = get_coder(name)
        rows = []
        for t, bits in enumerate(codes):
            payload, encode_ms = timed(lambda: coder.encode(bits, codes[:t]), repeat)
            decoded, decode_ms = timed(lambda: coder.decode(payload, bits.shape, codes[:t]), repeat)
            if not np.array_equal(decoded, bits):
                raise AssertionError(f"{path.name}: coder {name} does not round-trip iteration {t + 1}")
            rows.append({"bytes": len(payload), "encode_ms": encode_ms, "decode_ms": decode_ms})
        out["coders"][name] = rows
    for k in range(1, iterations + 1):  # through the container, as files are written and read
        header = codec.header_for(source, k, "context")
        if not all(np.array_equal(a, b) for a, b in zip(read(write_bytes(header, codes[:k])).codes(), codes)):
            raise AssertionError(f"{path.name}: a {k}-iteration context file does not read back")
    header = codec.header_for(source, 2, "raw")
    _, out["network_decode_2_ms"] = timed(lambda: codec.decode_codes(header, codes[:2]), 1)
    return out


def summarise(images: list[dict], iterations: int) -> list[dict]:
    """Per k: payload bytes of k-iteration files (all images), savings, median ms of iteration k."""
    rows = []
    for k in range(1, iterations + 1):
        row: dict = {"iterations": k}
        for name in coder_names():
            row[f"{name}_bytes"] = sum(r["bytes"] for image in images for r in image["coders"][name][:k])
            row[f"{name}_encode_ms"] = statistics.median(image["coders"][name][k - 1]["encode_ms"] for image in images)
            row[f"{name}_decode_ms"] = statistics.median(image["coders"][name][k - 1]["decode_ms"] for image in images)
        for name in coder_names():
            row[f"{name}_saving_percent"] = 100 * (1 - row[f"{name}_bytes"] / row["raw_bytes"])
        alone = {name: sum(image["coders"][name][k - 1]["bytes"] for image in images) for name in coder_names()}
        row["context_iteration_saving_percent"] = 100 * (1 - alone["context"] / alone["raw"])
        rows.append(row)
    return rows


def coder_share_at_2(images: list[dict]) -> float:
    """Median over images of the context coder's share of the decode time at 2 iterations (%)."""
    shares = []
    for image in images:
        coder_ms = sum(r["decode_ms"] for r in image["coders"]["context"][:2])
        shares.append(100 * coder_ms / (coder_ms + image["network_decode_2_ms"]))
    return statistics.median(shares)


def add_code_arguments(parser: argparse.ArgumentParser, iterations: int) -> None:
    """``--codec-weights``, ``--data`` (Kodak), ``--iterations`` and ``--images``: the codes to measure."""
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None,
                        help="codec weights name or file (default: shipped default)")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--iterations", type=int, default=iterations)
    parser.add_argument("--images", type=int, default=None, help="only the first N images (quick runs)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_code_arguments(parser, 8)
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per measurement (median)")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default results/entropy/<weights>.json)")
    args = parser.parse_args(argv)

    codec = Codec(args.weights)
    paths = find_images([args.data])[: args.images]
    if not paths:
        parser.error(f"no images in {args.data}")
    images = []
    for i, path in enumerate(paths, 1):
        images.append(measure_image(codec, path, args.iterations, args.repeat))
        sizes = [sum(r["bytes"] for r in images[-1]["coders"][n]) for n in coder_names()]
        print(f"[{i}/{len(paths)}] {path.name}: " + " ".join(f"{n} {s}" for n, s in zip(coder_names(), sizes)),
              file=sys.stderr, flush=True)
    table = summarise(images, args.iterations)
    result = {
        "weights": codec.weights.name, "weights_sha256": codec.weights.sha256,
        "architecture": codec.weights.architecture, "data": str(args.data),
        "images": [p.name for p in paths], "torch_threads": torch.get_num_threads(),
        "round_trip": "bit-exact for every image, coder and iteration count",
        "context_share_of_decode_time_at_2_percent": coder_share_at_2(images),
        "table": table, "per_image": images,
    }
    out = args.out or ROOT / "results" / "entropy" / f"{Path(codec.weights.name).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")

    print(f"\n{len(paths)} images, weights {codec.weights.name}: payload bytes of k-iteration files "
          "(saving vs raw), the context coder's saving on iteration k alone, median ms per image for "
          "iteration k (encode / decode)")
    print(f"{'k':>2} | {'raw':>8} | {'zstd':>17} | {'context':>17} | {'k alone':>7} | {'zstd ms':>11} | "
          f"{'context ms':>11}")
    for row in table:
        print(f"{row['iterations']:>2} | {row['raw_bytes']:>8} | "
              f"{row['zstd_bytes']:>8} ({row['zstd_saving_percent']:5.1f} %) | "
              f"{row['context_bytes']:>8} ({row['context_saving_percent']:5.1f} %) | "
              f"{row['context_iteration_saving_percent']:5.1f} % | "
              f"{row['zstd_encode_ms']:4.1f} / {row['zstd_decode_ms']:4.1f} | "
              f"{row['context_encode_ms']:4.1f} / {row['context_decode_ms']:4.1f}")
    print(f"context coder's share of the decode time at 2 iterations (median): "
          f"{result['context_share_of_decode_time_at_2_percent']:.1f} %; every round trip bit-exact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
