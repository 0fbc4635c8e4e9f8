"""What each architecture costs on this machine: parameters, training step time, codec time.

    python benchmarks/arch_speed.py                        # every registered config but "tiny"
    python benchmarks/arch_speed.py --configs gru-s lstm-q --threads 2

Training step: one optimizer step on a batch of random crops (``--batch``, ``--crop``) unrolled
over ``--iterations``, bf16 autocast, channels-last — the recipe ``rnc train`` runs.  Codec: one
768×512 image encoded and decoded at 2 iterations with random weights (speed does not depend on
the weights).  Medians of ``--repeats`` after one warm-up.  Writes ``results/arch_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from rnncodec.codec import Codec
from rnncodec.configs import get_config, list_configs
from rnncodec.model import RecurrentCodec
from rnncodec.train import TrainOptions, training_loss
from rnncodec.weights import LoadedWeights
from speed import median_seconds  # benchmarks/ is the script's folder, first on sys.path

ROOT = Path(__file__).resolve().parents[1]


def median_time(fn, repeats: int) -> float:
    """Median of ``repeats`` timed calls after one untimed warm-up call."""
    fn()
    return median_seconds(fn, repeats)


def train_step_seconds(name: str, batch: int, crop: int, iterations: int, repeats: int) -> float:
    model = RecurrentCodec(get_config(name)).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)
    options = TrainOptions(data=[], out="unused.pt", crop=crop, iterations=iterations)
    x = (torch.rand(batch, 3, crop, crop) - 0.5).contiguous(memory_format=torch.channels_last)

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            outputs = model(x, iterations)
        loss = training_loss(options, outputs, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return median_time(step, repeats)


def codec_seconds(name: str, repeats: int) -> tuple[float, float]:
    model = RecurrentCodec(get_config(name)).eval().requires_grad_(False)
    codec = Codec(LoadedWeights(model=model, sha256="0" * 64, name=name, meta={}))
    image = np.random.default_rng(0).integers(0, 256, (512, 768, 3), dtype=np.uint8)
    data = codec.encode(image, 2)
    return median_time(lambda: codec.encode(image, 2), repeats), median_time(lambda: codec.decode(data), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", default=[c for c in list_configs() if c != "tiny"])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--iterations", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    rows = []
    print(f"{torch.get_num_threads()} threads; train step: batch {args.batch} of {args.crop}² crops, "
          f"{args.iterations} iterations, bf16; codec: 768×512 at 2 iterations")
    print(f"{'config':8} {'params':>10} {'s/step':>7} {'encode s':>9} {'decode s':>9}")
    for name in args.configs:
        params = RecurrentCodec(get_config(name)).num_parameters()
        step = train_step_seconds(name, args.batch, args.crop, args.iterations, args.repeats)
        encode, decode = codec_seconds(name, args.repeats)
        rows.append({"config": name, "params": params, "train_step_s": step, "encode_s": encode, "decode_s": decode})
        print(f"{name:8} {params:10,} {step:7.3f} {encode:9.3f} {decode:9.3f}")
    out = ROOT / "results" / "arch_speed.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"threads": torch.get_num_threads(), "batch": args.batch, "crop": args.crop,
                               "iterations": args.iterations, "rows": rows}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
