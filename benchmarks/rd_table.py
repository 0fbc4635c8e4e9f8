"""Markdown table of a ``benchmarks/rd_kodak.py`` result: rnncodec vs JPEG and WebP at fixed rates.

    python benchmarks/rd_table.py results/kodak/GRU_S_V2.json
    python benchmarks/rd_table.py runs/cv10/kodak.json --against results/kodak/GRU_S_V4.json

One row per target bpp (interpolated, as rd_kodak prints it), the differences to JPEG and WebP,
the 1-iteration point next to the smallest WebP and JPEG files, and the BD-rates.  ``--against``
adds a candidate's comparison with other weights' result (the checks that decide whether new
weights replace the default, docs/training.md): BD-rate against them, where its curve is furthest
below theirs inside the common range (each curve's points against the other, interpolated), and its
best iteration's rate against their top one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # rd_kodak, imported by --against only (it imports torch)


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


def comparison(result: dict, anchor: dict) -> str:
    """``result``'s rnc curve against ``anchor``'s: BD-rate, the largest shortfall per metric, top rates."""
    from rd_kodak import bd_rate, interpolate

    def differences(curve: list[dict], other: list[dict], metric: str) -> list[tuple[float, float]]:
        """(curve − other, bpp) at each of ``curve``'s points inside ``other``'s range."""
        return [(p[metric] - ref, p["bpp"]) for p in curve if (ref := interpolate(other, p["bpp"], metric)) is not None]

    ours, theirs = result["curves"]["rnc"], anchor["curves"]["rnc"]
    lines = [f"Against {anchor['weights']}: BD-rate PSNR {bd_rate(theirs, ours, 'psnr'):+.1f} %, "
             f"MS-SSIM {bd_rate(theirs, ours, 'ms_ssim'):+.1f} %."]
    for metric, digits in (("psnr", 3), ("ms_ssim", 6)):
        gap, bpp = min(differences(ours, theirs, metric) + [(-d, b) for d, b in differences(theirs, ours, metric)])
        where = f"below them at {bpp:.4f} bpp" if gap < 0 else "not below them anywhere in the common range"
        lines.append(f"{metric.upper().replace('_', '-')}: smallest difference {gap:+.{digits}f} ({where}).")
    our_top, their_top = (max(p["bpp"] for p in curve) for curve in (ours, theirs))
    lines.append(f"Best iteration {our_top:.4f} bpp; theirs reaches {their_top:.4f}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path)
    parser.add_argument("--against", type=Path, metavar="JSON",
                        help="also compare with another rd_kodak.py result (e.g. the default weights')")
    args = parser.parse_args(argv)
    result = json.loads(args.result.read_text())
    print(markdown(result))
    if args.against:
        print("\n" + comparison(result, json.loads(args.against.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
