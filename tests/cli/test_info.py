"""rnc info."""

from __future__ import annotations

import json

from rnncodec.cli.main import cli
from rnncodec.formats import info, write_bytes
from rnncodec.weights import RNCWeights


def test_human_table(runner, rnc_path):
    result = runner.invoke(cli, ["info", str(rnc_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == str(rnc_path)
    assert "  image         40 x 24 RGB" in lines
    assert "  iterations    4 of 4" in lines
    assert any(line.startswith("  metadata      {\"source_name\": \"photo.png\"}") for line in lines)
    assert lines[-5].split() == ["iteration", "bytes", "cum.", "bpp"]
    assert lines[-1].split()[0] == "4"


def test_the_table_names_the_shipped_weights_a_file_needs(runner, rnc_path, make_header, make_codes, tmp_path):
    header = make_header(weights_id=RNCWeights.GRU_S_MACHINE_V2.value.weights_id)
    shipped = tmp_path / "shipped.rnc"
    shipped.write_bytes(write_bytes(header, make_codes(header)))
    lines = runner.invoke(cli, ["info", str(shipped), str(rnc_path)]).output.splitlines()
    weights = [line.split(None, 1)[1] for line in lines if line.startswith("  weights ")]
    assert weights[0].startswith("GRU_S_MACHINE_V2 (sha256 ")
    assert weights[1].startswith("sha256 ") and weights[1].endswith("(not shipped: decode with --codec-weights FILE)")
    assert f"  file          {rnc_path.stat().st_size:,} bytes" in lines


def test_the_table_says_what_a_downscaled_file_was_downscaled_from(runner, make_header, make_codes, tmp_path):
    header = make_header()
    path = tmp_path / "small.rnc"
    path.write_bytes(write_bytes(header, make_codes(header), {"source_size": [400, 240]}))
    lines = runner.invoke(cli, ["info", str(path)]).output.splitlines()
    assert f"  image         {header.width} x {header.height} RGB, downscaled from 400 x 240" in lines


def test_json_has_the_library_keys(runner, rnc_path):
    result = runner.invoke(cli, ["info", "--json", str(rnc_path)])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"file": str(rnc_path), **info(rnc_path)}


def test_folders_globs_and_several_files(runner, rnc_path, tmp_path):
    (tmp_path / "other.rnc").write_bytes(rnc_path.read_bytes())
    (tmp_path / "notes.txt").write_text("not a candidate")
    for args in ([str(tmp_path)], [str(tmp_path / "*.rnc")], [str(rnc_path), str(tmp_path / "other.rnc")]):
        result = runner.invoke(cli, ["info", "--json", *args])
        assert result.exit_code == 0, result.output
        files = [json.loads(line)["file"] for line in result.output.splitlines()]
        assert sorted(files) == sorted([str(rnc_path), str(tmp_path / "other.rnc")])
    result = runner.invoke(cli, ["info", str(tmp_path)])
    assert result.output.count("iterations    4 of 4") == 2


def test_truncated_file_is_described_or_refused_with_strict(runner, rnc_path):
    rnc_path.write_bytes(rnc_path.read_bytes()[:-20])
    result = runner.invoke(cli, ["info", str(rnc_path)])
    assert result.exit_code == 0 and "3 of 4 (truncated file)" in result.output
    result = runner.invoke(cli, ["info", "--strict", str(rnc_path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {rnc_path}: truncated RNC file: data ends at byte")


def test_exit_codes_for_bad_input(runner, tmp_path):
    bad = tmp_path / "bad.rnc"
    bad.write_bytes(b"GIF89a, not an rnc file")
    result = runner.invoke(cli, ["info", str(bad)])
    assert result.exit_code == 1 and result.output == f"Error: {bad}: not an RNC file (bad signature)\n"
    result = runner.invoke(cli, ["info", str(tmp_path / "missing.rnc")])
    assert result.exit_code == 2 and "no such file or folder" in result.output
    result = runner.invoke(cli, ["info"])
    assert result.exit_code == 2 and "Missing argument 'FILES...'" in result.output


def test_adaptive_file_shows_active_blocks(runner, make_header, tmp_path):
    import numpy as np

    from rnncodec.formats import spec, write_bytes

    header = make_header(width=64, height=48, iterations=2, coder="adaptive")  # 4 × 3 blocks
    codes = [np.zeros(header.code_shape, np.uint8), np.zeros(header.code_shape, np.uint8)]
    codes[1][:, 1, 1:] = spec.STOPPED
    path = tmp_path / "adaptive.rnc"
    path.write_bytes(write_bytes(header, codes))
    result = runner.invoke(cli, ["info", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-3].split() == ["iteration", "bytes", "cum.", "bpp", "active", "blocks"]
    assert lines[-2].split()[-1] == "12" and lines[-1].split()[-1] == "9"
