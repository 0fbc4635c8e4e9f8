"""Hashes of what the codec writes for fixed inputs with the default weights: the ``.rnc`` bytes
of two photos at 1-4 iterations with each coder, the decoded pixels, and the conformance vectors.

    python scripts/byte_identity.py --write before.json     # before a refactoring
    python scripts/byte_identity.py --check before.json     # after it: exit 1 on any difference

The hashes hold for one machine and thread count (see docs/api.md, "Determinism and threads"),
so they are compared on the same machine rather than committed."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def hashes() -> dict[str, str]:
    from PIL import Image
    from skimage import data

    from rnncodec.codec import codec_for
    from rnncodec.imageio import load_image

    photos = {"coffee": np.asarray(Image.open(ROOT / "examples" / "coffee.png").convert("RGB")),
              "skimage-astronaut-crop": np.ascontiguousarray(data.astronaut()[100:228, 150:342])}
    out: dict[str, str] = {}
    codec = codec_for()
    for name, rgb in photos.items():
        codes = list(codec.iter_codes(rgb, 4))
        source = load_image(rgb)
        for n in range(1, 5):
            for coder in ("raw", "zstd", "context", "auto"):
                blob = codec.file_bytes(source, codes[:n], coder=coder)
                out[f"{name}/{n}it/{coder}"] = hashlib.sha256(blob).hexdigest()
            pixels = np.asarray(codec.decode(codec.file_bytes(source, codes[:n], coder="raw")))
            out[f"{name}/{n}it/decoded"] = hashlib.sha256(pixels.tobytes()).hexdigest()
        out[f"{name}/4it/encode()"] = hashlib.sha256(codec.encode(rgb, 4)).hexdigest()
    for path in sorted((ROOT / "formats" / "vectors").iterdir()):
        out[f"vectors/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", type=Path)
    group.add_argument("--check", type=Path)
    args = parser.parse_args()
    now = hashes()
    if args.write:
        args.write.write_text(json.dumps(now, indent=1) + "\n")
        print(f"{len(now)} hashes written to {args.write}")
        return 0
    before = json.loads(args.check.read_text())
    differ = sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))
    for key in differ:
        print(f"DIFFERS {key}: {before.get(key)} -> {now.get(key)}")
    print(f"{len(now) - len(differ)} of {len(before)} hashes identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
