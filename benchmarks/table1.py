"""The paper's Table 1 for our codec: mean file size of the originals vs ``.rnc`` at 1, 2, 3 iterations.

    python benchmarks/table1.py --codec-weights gru-s.pt
    python benchmarks/table1.py --codec-weights gru-s.pt --imagenet DIR --coco DIR --limit 20

For each data set (``--imagenet``: the 100 ImageNet photos; ``--coco``: the COCO128 images) every
image is encoded once at ``--iterations`` iterations and cut to 1…N (``formats.truncate``).  Per
setting: the mean size of the original files, of the ``.rnc`` files (container, entropy-coded
payload), and of the *raw* codes alone (32 bits per 16×16 block per iteration, no entropy coding,
no container: what the paper's kB measure — KiB of packed bits, see docs/recognition.md), with the
reduction against the originals.  Sizes are KiB (1024 bytes), as in the paper.

Writes ``results/table1/<codec weights>.json`` and ``.md`` (the Markdown table, also printed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

#: The paper's figures (kB = KiB of raw packed bits): original, then 1, 2, 3 iterations; None: not given.
PAPER = {
    "imagenet": {"name": "ImageNet (paper)", "original": 65.5, "rnc": [3.00, None, None],
                 "reduction": [95.4, 91.0, None]},
    "coco": {"name": "VOC2007 (paper)", "original": 87.9, "rnc": [None, None, 22.2],
             "reduction": [None, None, 75.0]},
}


def measure(images: list[Path], codec, iterations: int, coder: str) -> dict:
    """Mean original, .rnc and raw-code sizes (bytes) at 1…iterations over ``images``."""
    from rnncodec.formats import read, truncate

    original, rnc, raw = 0, [0] * iterations, [0] * iterations
    for i, path in enumerate(images, 1):
        data = codec.encode(path, iterations, coder=coder)
        header = read(data).header
        blocks = math.ceil(header.width / 16) * math.ceil(header.height / 16)
        original += path.stat().st_size
        for k in range(1, iterations + 1):
            rnc[k - 1] += len(truncate(data, iterations=k))
            raw[k - 1] += blocks * header.bits_per_block * k / 8
        print(f"\r{path.parent.name}: {i}/{len(images)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    count = len(images)
    return {"images": count, "original_bytes": original / count, "rnc_bytes": [v / count for v in rnc],
            "raw_bytes": [v / count for v in raw]}


def markdown(results: dict, weights: str) -> str:
    """The table: one row per data set (ours: .rnc and raw), the paper's figures under each."""
    iterations = len(next(iter(results.values()))["rnc_bytes"])
    head = " | ".join(f"{k} it (KiB, −%)" for k in range(1, iterations + 1))
    lines = [f"| data set ({weights}) | images | original (KiB) | {head} |",
             "|---|---:|---:|" + "---:|" * iterations]

    def cells(sizes: list, reductions: list) -> str:
        return " | ".join("—" if s is None and r is None else
                          f"{'—' if s is None else f'{s:.2f}'} (−{'—' if r is None else f'{r:.1f}'} %)"
                          for s, r in zip(sizes, reductions))

    for key, result in results.items():
        original = result["original_bytes"] / 1024
        for kind in ("rnc", "raw"):
            sizes = [b / 1024 for b in result[f"{kind}_bytes"]]
            reductions = [100 * (1 - s / original) for s in sizes]
            label = f"{result['label']}, {'.rnc file' if kind == 'rnc' else 'raw codes'}"
            lines.append(f"| {label} | {result['images']} | {original:.1f} | {cells(sizes, reductions)} |")
        paper = PAPER[key]
        padded = (paper["rnc"] + [None] * iterations)[:iterations]
        reduced = (paper["reduction"] + [None] * iterations)[:iterations]
        lines.append(f"| {paper['name']} | — | {paper['original']:.1f} | {cells(padded, reduced)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec-weights", required=True, help="Codec weights: shipped name or weights file.")
    parser.add_argument("--imagenet", type=Path, default=DATA / "imagenet-sample-100")
    parser.add_argument("--coco", type=Path, default=DATA / "coco128-train" / "images")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N images of each data set.")
    parser.add_argument("--coder", default="auto", help="Payload coder (auto: the smallest of all).")
    parser.add_argument("--threads", type=int, default=None, help="Torch threads (default: torch's).")
    args = parser.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from rnncodec.codec import Codec
    from rnncodec.recognition.datasets import list_images

    codec = Codec(args.codec_weights)
    results = {}
    for key, folder, label in (("imagenet", args.imagenet, "ImageNet sample-100"),
                               ("coco", args.coco, "COCO128 train")):
        results[key] = {"label": label, "data": str(folder),
                        **measure(list_images(folder)[:args.limit], codec, args.iterations, args.coder)}
    weights = Path(str(args.codec_weights)).stem
    table = markdown(results, weights)
    folder = ROOT / "results" / "table1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{weights}.json").write_text(json.dumps({"codec_weights": str(args.codec_weights),
                                                    "weights_sha256": codec.weights.sha256,
                                                    "iterations": args.iterations, "coder": args.coder,
                                                    "results": results,
                                                    "paper": PAPER}, indent=2) + "\n")
    (folder / f"{weights}.md").write_text(table + "\n")
    print(table)
    print(f"wrote {(folder / weights).relative_to(ROOT)}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
