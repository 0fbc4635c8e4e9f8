"""Tiling: how visible tile seams are, and peak memory for a 24-megapixel photo.

Seams: Kodak images are coded with small tiles (``--tile-size``, default 256, so each image has
6 tiles and 7 seams) and without tiles.  For each iteration count it reports the PSNR of the
pixels within 2 px of a seam against the PSNR of all other pixels (a visible seam shows up as a
much lower band PSNR), and the mean absolute step across seams compared with the same step one
block away from a seam (inside a tile, where no seam exists).

Memory: a 24-megapixel (6000×4000) photo-like image (Kodak images tiled and resized) is
encoded and decoded in a child process at the default tile size; its peak RSS is reported.

    python benchmarks/tiling.py --codec-weights x.pt
Writes ``results/tiling/<weights>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BAND = 2


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def seam_report(weights: str | None, data: Path, tile: int, iterations: list[int], count: int) -> dict:
    from rnncodec.codec import Codec
    from rnncodec.data import find_images
    from rnncodec.imageio import load_image

    tiled, whole = Codec(weights, tile_size=tile), Codec(weights, tile_size=0)
    rows = {k: {"band_psnr": [], "rest_psnr": [], "untiled_psnr": [], "tiled_psnr": [], "seam_step": [],
                "inner_step": []} for k in iterations}
    for path in find_images([data])[:count]:
        rgb = load_image(path).rgb
        h, w, _ = rgb.shape
        band = np.zeros((h, w), bool)
        for x in range(tile, w, tile):
            band[:, x - BAND:x + BAND] = True
        for y in range(tile, h, tile):
            band[y - BAND:y + BAND, :] = True
        data_tiled = tiled.encode(rgb, max(iterations))
        data_whole = whole.encode(rgb, max(iterations))
        for k in iterations:
            out_t = np.asarray(tiled.decode(data_tiled, k))
            out_w = np.asarray(whole.decode(data_whole, k))
            r = rows[k]
            r["band_psnr"].append(_psnr(out_t[band], rgb[band]))
            r["rest_psnr"].append(_psnr(out_t[~band], rgb[~band]))
            r["tiled_psnr"].append(_psnr(out_t, rgb))
            r["untiled_psnr"].append(_psnr(out_w, rgb))
            # step across each vertical seam (x-1 | x) vs the same step 8 px further inside the tile,
            # both relative to the original's own step there
            seams = list(range(tile, w, tile))
            err = out_t.astype(np.float64) - rgb
            r["seam_step"].append(float(np.mean([np.abs(err[:, x] - err[:, x - 1]).mean() for x in seams])))
            r["inner_step"].append(float(np.mean([np.abs(err[:, x + 8] - err[:, x + 7]).mean() for x in seams])))
    return {str(k): {name: float(np.mean(v)) for name, v in r.items()} for k, r in rows.items()}


CHILD = r"""
import resource, sys, time, numpy as np
from PIL import Image
from rnncodec.codec import Codec
from rnncodec.data import find_images
weights = sys.argv[1] if sys.argv[1] != "-" else None
paths = find_images([sys.argv[2]])[:24]
tiles = [np.asarray(Image.open(p).convert("RGB").resize((1000, 1000))) for p in paths]
rows = [np.concatenate(tiles[i * 6:(i + 1) * 6], axis=1) for i in range(4)]
image = np.concatenate(rows, axis=0)  # 4000 x 6000
del tiles, rows
codec = Codec(weights)
t = time.perf_counter(); data = codec.encode(image, 2); t_enc = time.perf_counter() - t
t = time.perf_counter(); out = codec.decode(data); t_dec = time.perf_counter() - t
assert out.size == (6000, 4000)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{peak:.0f} {len(data)} {t_enc:.1f} {t_dec:.1f}")
"""


def memory_report(weights: str | None, data: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, weights or "-", str(data)], check=True,
                         capture_output=True, text=True).stdout.split()
    peak, size, t_enc, t_dec = float(out[0]), int(out[1]), float(out[2]), float(out[3])
    return {"pixels": 24_000_000, "peak_rss_mb": peak, "bytes": size, "encode_s": t_enc, "decode_s": t_dec,
            "limit_mb": 3072, "meets_limit": peak < 3072}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--codec-weights", "--weights", dest="weights", default=None)
    parser.add_argument("--tile-size", type=int, default=256)
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)

    seams = seam_report(args.weights, args.data, args.tile_size, args.iterations, args.images)
    print(f"Tile seams, tiles of {args.tile_size} px, {args.images} Kodak images (PSNR dB; mean |Δerror| across a seam "
          "vs 8 px inside a tile):")
    print(" it | untiled | tiled  | seam band | elsewhere | step at seam | step inside")
    for k, r in seams.items():
        print(f" {int(k):2d} | {r['untiled_psnr']:7.2f} | {r['tiled_psnr']:6.2f} | {r['band_psnr']:9.2f} | "
              f"{r['rest_psnr']:9.2f} | {r['seam_step']:12.2f} | {r['inner_step']:11.2f}")
    result = {"tile_size": args.tile_size, "images": args.images, "seams": seams}
    if not args.skip_memory:
        result["memory_24mp"] = memory_report(args.weights, args.data)
        m = result["memory_24mp"]
        print(f"24 MP photo, 2 iterations: peak RSS {m['peak_rss_mb']:.0f} MB (limit 3072), {m['bytes']:,} bytes, "
              f"encode {m['encode_s']:.1f} s, decode {m['decode_s']:.1f} s")
    from rnncodec.weights import resolve_weights

    name = Path(resolve_weights(args.weights)[1]).stem
    out = ROOT / "results" / "tiling" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
