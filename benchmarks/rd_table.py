"""Markdown table of a ``benchmarks/rd_kodak.py`` result: rnncodec vs JPEG and WebP at fixed rates.

    python benchmarks/rd_table.py results/kodak/GRU_S_V2.json

One row per target bpp (interpolated, as rd_kodak prints it), the differences to JPEG and WebP,
the 1-iteration point next to the smallest WebP and JPEG files, and the BD-rates.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cell(value: dict | None) -> str:
    return "—" if value is None or value["psnr"] is None else f"{value['psnr']:.2f} / {value['ms_ssim']:.4f}"


def _gap(ours: dict, peer: dict | None) -> str:
    if peer is None or peer["psnr"] is None or ours["psnr"] is None:
        return "—"
    return f"{ours['psnr'] - peer['psnr']:+.2f} dB / {ours['ms_ssim'] - peer['ms_ssim']:+.4f}"


def markdown(result: dict) -> str:
    table = result["table"]
    lines = ["| bpp | rnncodec | JPEG | WebP | rnncodec − JPEG | rnncodec − WebP |", "|---|---|---|---|---|---|"]
    for bpp, ours in table["rnc"].items():
        jpeg, webp = table["jpeg"].get(bpp), table["webp"].get(bpp)
        lines.append(f"| {float(bpp):g} | {_cell(ours)} | {_cell(jpeg)} | {_cell(webp)} | {_gap(ours, jpeg)} | "
                     f"{_gap(ours, webp)} |")
    first = result["curves"]["rnc"][0]
    lines.append("")
    lines.append(f"1 iteration: {first['bpp']:.3f} bpp, {first['psnr']:.2f} dB / {first['ms_ssim']:.4f}; "
                 + "; ".join(f"smallest {name.upper()} (q={p['quality']}): {p['bpp']:.3f} bpp, {p['psnr']:.2f} dB / "
                             f"{p['ms_ssim']:.4f}" for name, p in result["baseline_smallest"].items()) + ".")
    bd = result["bd_rate_percent"]
    lines.append("BD-rate (negative = fewer bytes for the same quality): " + "; ".join(
        f"{key.replace('_', ' ').upper().replace('VS', 'vs')}: PSNR {v['psnr']:+.1f} %, MS-SSIM {v['ms_ssim']:+.1f} %"
        for key, v in bd.items()) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path)
    args = parser.parse_args(argv)
    print(markdown(json.loads(args.result.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
