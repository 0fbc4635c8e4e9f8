"""The README's picture: one photo decoded from 1, 2 and 4 iterations of the same .rnc file,
next to the original, each labelled with the bytes it took.

    python examples/progressive_figure.py                      # progressive.jpg here: coffee.png, shipped weights
    python examples/progressive_figure.py --out docs/img/progressive.jpg --force   # the README's figure

An existing --out file is replaced only with --force.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

from rnncodec import formats
from rnncodec.codec import Codec

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, default=HERE / "coffee.png")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=Path("progressive.jpg"),
                        help="the figure to write (default: progressive.jpg in the current folder)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        parser.error(f"{args.out} exists; use --force to replace it")

    codec = Codec(args.weights)
    original = Image.open(args.image).convert("RGB")
    data = codec.encode(original, max(args.iterations))
    panels = [(original, f"original PNG, {args.image.stat().st_size:,} bytes")]
    for k in args.iterations:
        size = len(formats.truncate(data, k))
        bpp = 8 * size / (original.width * original.height)
        panels.append((codec.decode(data, k), f"{k} iteration{'s' * (k > 1)}: {size:,} bytes ({bpp:.2f} bpp)"))
    label_h = 22
    sheet = Image.new("RGB", (original.width * len(panels), original.height + label_h), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(panels):
        sheet.paste(image, (i * original.width, label_h))
        draw.text((i * original.width + 6, 5), label, fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, quality=92)  # JPEG (the default) at high quality keeps the docs small
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
