"""Prepare trained weights for shipping: copy them into weights/ under a hashed name and print the
registry entry (for ``rnncodec/weights.py``) filled from the run's log and a Kodak RD result.

    python scripts/ship_weights.py runs/r1/gru-s.pt --kodak results/kodak/gru-s-1a2b3c4d.json \\
        --name GRU_S_V1 --command "scripts/reproduce_default_weights.sh" --docs "docs/training.md#..."

The weights file name carries the first 8 hex digits of its SHA-256 (``gru-s-1a2b3c4d.pt``), as
torch.hub's ``check_hash`` convention and CompressAI's zoo do.  Run ``benchmarks/rd_kodak.py``
on the copied file first to get the ``--kodak`` JSON.  ``--copy`` also writes the weights' ONNX
graphs beside them (``python -m rnncodec.onnx_export weights/NAME.pt`` does that alone).

``--pack`` (with ``--copy``) ships them as a pack instead, as the older entries are: it writes
``weights/NAME.ptpack`` against the shipped entry they were quantised from (their integers only,
for weights made by ``python -m rnncodec.weights_quantise``; that entry may be packed itself — a
chain, as a fine-tune of a fine-tune ships), else against the default (their lossless difference;
``--base NAME`` picks another entry) and adds ``NAME.pt`` and its graphs to ``pyproject.toml``'s
``exclude-package-data``, so that the wheel carries the pack only (the repository keeps the
``.pt`` and the graphs; an install makes the graphs from the base's when it unpacks the pack).
A fine-tune of the default, start to end (see
docs/training.md#shipping-a-fine-tune-as-a-quantised-difference)::

    python -m rnncodec.weights_quantise runs/m4/gru-s-machine.pt --base weights/gru-s-cc7e79a7.pt -o runs/m4/q.pt
    python benchmarks/rd_kodak.py --codec-weights runs/m4/q.pt          # and benchmarks/recognition.py
    python scripts/ship_weights.py runs/m4/q.pt --copy --pack --name GRU_S_MACHINE_V1 --kodak ... --command ...

and a run continued from a shipped fine-tune, as its difference from that one (a chain)::

    python -m rnncodec.weights_quantise runs/m5/gru-s-machine.pt --base GRU_S_MACHINE_V1 -o runs/m5/q.pt
    python scripts/ship_weights.py runs/m5/q.pt --copy --pack --name GRU_S_MACHINE_V2 --kodak ... --command ...
"""

from __future__ import annotations

import argparse
import json
import pprint
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--kodak", type=Path, help="benchmarks/rd_kodak.py JSON measured with these weights")
    parser.add_argument("--name", required=True, help="registry member, e.g. GRU_S_V1")
    parser.add_argument("--command", required=True, help="the command (rnc train, a script) that makes them")
    parser.add_argument("--docs", help="the page (and anchor) that tells how they were made "
                                       "(default: the shipped weights' training section)")
    parser.add_argument("--recognition", type=Path,
                        help="benchmarks/recognition.py JSON measured with these weights (iterations 1…N)")
    parser.add_argument("--purpose", help="what the weights are for, when not the general-purpose default")
    parser.add_argument("--copy", action="store_true",
                        help="copy into weights/ with its ONNX graphs (else just print)")
    parser.add_argument("--pack", action="store_true",
                        help="with --copy: ship them packed (NAME.ptpack; the .pt left out of the wheel in "
                             "pyproject.toml) against the shipped entry they were quantised from, else the default")
    parser.add_argument("--base", help="with --pack: the shipped entry to pack against (default: the one their "
                                       "meta says they were quantised from, else the default)")
    args = parser.parse_args(argv)
    if args.pack and not args.copy:
        parser.error("--pack needs --copy")
    if args.base and not args.pack:
        parser.error("--base needs --pack")

    from rnncodec.weights import TRAINING_DOCS, load_weights, recipe_meta

    loaded = load_weights(args.weights)
    digest = loaded.sha256
    target = ROOT / "weights" / f"{loaded.architecture}-{digest[:8]}.pt"
    if args.copy:
        from rnncodec.onnx_export import export_onnx

        shutil.copyfile(args.weights, target)
        for graph in export_onnx(target).values():  # the onnx backend's graphs, beside the .pt
            print(f"# wrote {graph.relative_to(ROOT)}", file=sys.stderr)
        if args.pack:
            _ship_packed(target, loaded.meta.get("quantised", {}), args.base)
    options = loaded.meta.get("options", {})
    kodak = None
    if args.kodak:
        result = json.loads(args.kodak.read_text())
        if result["weights_sha256"] != digest:
            parser.error(f"{args.kodak} was measured with other weights ({result['weights_sha256'][:16]}…)")
        curve = result["curves"]["rnc"]
        kodak = {key: [round(p[key], 4) for p in curve] for key in ("bpp", "psnr", "ms_ssim")}
    recognition = None
    if args.recognition:
        result = json.loads(args.recognition.read_text())
        cls, det = result["results"]["classify"], result["results"]["detect"]
        name, n = result["weights"], result["iterations"]
        recognition = {
            "source": f"benchmarks/recognition.py: imagenet-sample-100 ({result['images']['classify']} photos, "
                      f"MobileNetV2 TFLite), coco128-train ({result['images']['detect']} photos, Yolo-Fastest-XL)",
            "imagenet_kb": [round(cls[f"rnc {name} {k}"]["mean_bytes"] / 1000, 2) for k in range(1, n + 1)],
            "top1": [round(cls[f"rnc {name} {k}"]["top1"], 1) for k in range(1, n + 1)],
            "coco_kb": [round(det[f"rnc {name} {k}"]["mean_bytes"] / 1000, 2) for k in range(1, n + 1)],
            "map50": [round(det[f"rnc {name} {k}"]["map50"], 1) for k in range(1, n + 1)]}
    meta = recipe_meta(
        num_params=loaded.model.num_parameters(), file_bytes=args.weights.stat().st_size, command=args.command,
        docs=args.docs or TRAINING_DOCS, steps=loaded.meta.get("steps"), kodak=kodak,
        purpose=args.purpose, recognition=recognition,
        options={k: options[k] for k in ("crop", "batch_size", "iterations", "lr", "loss", "msssim_weight",
                                         "iteration_weights", "binarizer", "distill_weight", "distill_iterations")
                 if k in options and (options.get("distill") or not k.startswith("distill"))})
    print(f"    {args.name} = Weights(\n        file={target.name!r},\n        sha256={digest!r},\n"
          f"        architecture={loaded.architecture!r},\n        meta=" + pprint.pformat(meta, indent=4, width=100)
          .replace("\n", "\n        ") + ",\n    )")
    return 0


def _ship_packed(target: Path, quantised: dict, base_name: str | None) -> None:
    """``target``'s pack beside it, and its ``.pt`` out of the wheel: against ``base_name``, else
    the shipped entry it was quantised from (a chain when that one is packed too), else the default."""
    import numpy as np

    from rnncodec.weights import PACK_SUFFIX, RNCWeights
    from rnncodec.atomic import write_atomically
    from rnncodec.weights_pack import pack, unpack

    parent = next((member for member in RNCWeights if member.value.sha256 == quantised.get("base_sha256")), None)
    base = (RNCWeights.from_name(base_name) if base_name else parent or RNCWeights.DEFAULT).value
    step = quantised.get("step") if quantised.get("base_sha256") == base.sha256 else None
    data, base_data = target.read_bytes(), base.path.read_bytes()
    packed = pack(data, base_data, step=step)
    unpack(packed, base_data, where=target)  # checks the SHA-256 of what comes back
    pack_path = target.with_suffix(PACK_SUFFIX)
    write_atomically(pack_path, packed)
    kind = f"its integers at step {np.float32(step)}" if step else f"lossless: not quantised from {base.file}"
    print(f"# wrote {pack_path.relative_to(ROOT)} ({len(packed):,} bytes against {base.file}, {kind})",
          file=sys.stderr)
    pyproject = ROOT / "pyproject.toml"
    text = pyproject.read_text()
    excluded = re.search(r'(\[tool\.setuptools\.exclude-package-data\]\n(?:#.*\n)*"rnncodec\._weights" = \[)([^\]]*)\]',
                         text)
    if excluded is None:
        print(f"# add {target.name!r} to pyproject.toml's exclude-package-data by hand", file=sys.stderr)
    elif f'"{target.name}"' not in excluded.group(2):  # its graphs too: made from its base's when unpacked
        added = f', "{target.name}", "{target.stem}.*.onnx"'
        pyproject.write_text(text[:excluded.end(2)] + added + text[excluded.end(2):])
        print(f"# left {target.name} and its graphs out of the wheel (pyproject.toml, exclude-package-data)",
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
