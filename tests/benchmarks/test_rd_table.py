"""benchmarks/rd_table.py --against: a candidate's Kodak curve against another weights' (made-up curves)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def rd_table(load_benchmark):
    return load_benchmark("rd_table")


def _result(name: str, points: list[tuple[float, float, float]]) -> dict:
    return {"weights": name, "curves": {"rnc": [
        {"iterations": i, "bpp": bpp, "psnr": db, "ms_ssim": ssim} for i, (bpp, db, ssim) in enumerate(points, 1)]}}


ANCHOR_POINTS = [(0.1, 24.0, 0.85), (0.2, 26.0, 0.92), (0.4, 28.0, 0.96), (0.8, 30.0, 0.98)]
ANCHOR = _result("A", ANCHOR_POINTS)


def test_a_curve_above_everywhere_saves_bytes_and_is_not_below(rd_table):
    better = _result("B", [(bpp * 0.9, db, ssim) for bpp, db, ssim in ANCHOR_POINTS])
    text = rd_table.comparison(better, ANCHOR)
    assert "Against A: BD-rate PSNR -10.0 %, MS-SSIM -10.0 %." in text
    assert text.count("not below them anywhere in the common range") == 2


def test_the_anchors_point_under_the_candidates_curve_counts(rd_table):
    # the candidate's first point is left of the anchor's: at the anchor's 0.1 bpp its curve is interpolated
    lower_start = _result("B", [(0.09, 23.5, 0.85), (0.2, 26.5, 0.93), (0.4, 28.5, 0.965), (0.8, 30.5, 0.985)])
    text = rd_table.comparison(lower_start, ANCHOR)
    # 23.5 + 3 dB · ln(0.1/0.09)/ln(0.2/0.09) = 23.896: 0.104 dB under the anchor's 24.0
    assert "PSNR: smallest difference -0.104 (below them at 0.1000 bpp)." in text
    assert "MS-SSIM: smallest difference +0.005000 (not below them anywhere in the common range)." in text
    assert "Best iteration 0.8000 bpp; theirs reaches 0.8000." in text


def test_cli_prints_the_comparison_after_the_table(rd_table, tmp_path, capsys):
    result = {**ANCHOR, "table": {"rnc": {}, "jpeg": {}, "webp": {}}, "baseline_smallest": {}, "bd_rate_percent": {}}
    (tmp_path / "b.json").write_text(json.dumps(result))
    (tmp_path / "a.json").write_text(json.dumps(ANCHOR))
    assert rd_table.main([str(tmp_path / "b.json"), "--against", str(tmp_path / "a.json")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("Best iteration 0.8000 bpp; theirs reaches 0.8000.")
