"""rnc encode / rnc decode / rnc models: outputs, messages, exit codes, overwrite policy."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from rnncodec import formats
from rnncodec.cli.main import cli


@pytest.fixture
def photos(tmp_path, photo):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.png")
    Image.fromarray(photo[:, ::-1]).save(folder / "b.jpg", quality=90)
    return folder


def test_encode_one_file_reports_size_bpp_and_ratio(runner, photos, weights_file):
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "2", "--codec-weights", str(weights_file)])
    assert result.exit_code == 0, result.output
    out = photos / "a.rnc"
    size = out.stat().st_size
    assert f"{size:,} bytes" in result.output and "bpp" in result.output and "of the source" in result.output
    assert formats.read(out).iterations == 2


def test_encode_downscaled_says_at_what_size_from_what(runner, photos, weights_file):
    width, height = Image.open(photos / "a.png").size
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "1", "--longer-side", "16",
                                 "--codec-weights", str(weights_file), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert max(record["width"], record["height"]) == 16 and record["source_size"] == [width, height]
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "1", "--longer-side", "16", "--force",
                                 "--codec-weights", str(weights_file)])
    assert f"(from {width}×{height})" in result.output
    out = photos / "full.png"
    result = runner.invoke(cli, ["decode", str(photos / "a.rnc"), "--codec-weights", str(weights_file),
                                 "--source-size", "-o", str(out)])
    assert result.exit_code == 0 and f"{width}×{height}" in result.output, result.output
    assert Image.open(out).size == (width, height)


def test_encode_strip_leaves_out_the_metadata_also_under_a_budget(runner, photos, weights_file, tmp_path):
    base = ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file), "--force"]
    for extra in ([], ["--max-bytes", "400"]):
        kept, bare = tmp_path / "kept.rnc", tmp_path / "bare.rnc"
        assert runner.invoke(cli, [*base, *extra, "-o", str(kept)]).exit_code == 0
        result = runner.invoke(cli, [*base, *extra, "-o", str(bare), "--strip"])
        assert result.exit_code == 0, result.output
        assert formats.read(kept).metadata["source_name"] == "a.png" and formats.read(bare).metadata is None
        assert bare.stat().st_size < kept.stat().st_size if not extra else bare.stat().st_size <= 400
    result = runner.invoke(cli, [*base, "-n", "1", "--longer-side", "16", "--strip", "-o", str(bare)])
    assert result.exit_code == 0 and formats.read(bare).metadata == {"source_size": [100, 72]}, result.output


def test_encode_folder_and_glob_to_out_dir(runner, photos, weights_file, tmp_path):
    out_dir = tmp_path / "coded"
    result = runner.invoke(cli, ["encode", str(photos), "--out-dir", str(out_dir), "-n", "1",
                                 "--codec-weights", str(weights_file)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out_dir.iterdir()) == ["a.rnc", "b.rnc"]
    assert len(result.output.splitlines()) == 2
    result = runner.invoke(cli, ["encode", str(photos / "*.png"), "--out-dir", str(out_dir), "-n", "1",
                                 "--codec-weights", str(weights_file), "--force"])
    assert result.exit_code == 0 and "a.png" in result.output and "b.jpg" not in result.output


def test_encode_refuses_to_overwrite_without_force(runner, photos, weights_file):
    (photos / "a.rnc").write_bytes(b"keep me")
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file)])
    assert result.exit_code == 1 and "exists; use --force" in result.output
    assert (photos / "a.rnc").read_bytes() == b"keep me"


@pytest.mark.parametrize("args, message", [
    (["-n", "0"], "Invalid value for '-n'"),
    (["-n", "17"], "Invalid value for '-n'"),
    (["-o", "x.rnc", "--out-dir", "d"], "not both"),
    (["--coder", "lzma"], "Invalid value for '--coder'"),
    (["--max-bytes", "900", "--quality", "30"], "give one target, not --max-bytes and --quality"),
    (["--target-bpp", "0.5", "--max-bytes", "900"], "give one target, not --max-bytes and --target-bpp"),
    (["--allow-larger"], "--allow-larger goes with --max-bytes or --target-bpp"),
    (["--quality", "30", "--allow-larger"], "--allow-larger goes with --max-bytes or --target-bpp"),
    (["--max-bytes", "0"], "Invalid value for '--max-bytes'"),
    (["--shorter-side", "64", "--longer-side", "64"], "give --shorter-side or --longer-side, not both"),
    (["--downscale-to-fit"], "--downscale-to-fit goes with --max-bytes, not with --allow-larger"),
    (["--max-bytes", "900", "--downscale-to-fit", "--allow-larger"], "--downscale-to-fit goes with --max-bytes"),
    (["--shorter-side", "0"], "Invalid value for '--shorter-side'"),
    (["--target-bpp", "0"], "Invalid value for '--target-bpp'"),
])
def test_encode_usage_errors_exit_2(runner, photos, weights_file, args, message):
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file), *args])
    assert result.exit_code == 2 and message in result.output


def test_encode_max_bytes_reports_the_iterations_chosen(runner, photos, weights_file, tmp_path):
    base = ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file), "-o", str(tmp_path / "a.rnc")]
    sizes = []
    for k in (1, 2, 3):
        assert runner.invoke(cli, [*base, "-n", str(k), "--force"]).exit_code == 0
        sizes.append((tmp_path / "a.rnc").stat().st_size)
    result = runner.invoke(cli, [*base, "--max-bytes", str(sizes[2] - 1), "--force"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.rnc").stat().st_size == sizes[1]
    assert result.output.rstrip().endswith(f"; 2 iterations (budget {sizes[2] - 1:,} bytes)")
    result = runner.invoke(cli, [*base, "--quality", "1", "--force"])  # any image beats 1 dB
    assert result.exit_code == 0 and "; 1 iteration, " in result.output and " dB" in result.output


def test_encode_target_json_record(runner, photos, weights_file, tmp_path):
    import json

    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file), "-o",
                                 str(tmp_path / "a.rnc"), "--max-bytes", "100000", "-n", "3", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["iterations"] == 3 and record["budget"] == 100000 and record["target_met"] is True
    assert record["bytes"] == (tmp_path / "a.rnc").stat().st_size <= 100000 and record["psnr"] is None


def test_encode_impossible_budget_is_error_1_or_allowed_larger(runner, photos, weights_file, tmp_path):
    out = tmp_path / "a.rnc"
    base = ["encode", str(photos / "a.png"), "--codec-weights", str(weights_file), "-o", str(out), "--max-bytes", "50"]
    assert runner.invoke(cli, [*base[:-2], "-n", "1"]).exit_code == 0
    smallest = out.stat().st_size
    out.unlink()
    result = runner.invoke(cli, base)
    assert result.exit_code == 1 and not out.exists()
    assert result.output == (f"Error: {photos / 'a.png'}: 50 bytes is below the smallest file, {smallest:,} bytes "
                             "(1 iteration); --allow-larger writes it anyway, --downscale-to-fit codes it smaller\n")
    result = runner.invoke(cli, [*base, "--allow-larger"])
    assert result.exit_code == 0 and out.stat().st_size == smallest
    assert "Warning: " in result.output and "kept it" in result.output
    budget = str(smallest - 1)
    result = runner.invoke(cli, [*base[:-1], budget, "--downscale-to-fit", "--force"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size <= smallest - 1 and "coded at " in result.output


def test_encode_missing_input_is_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["encode", str(tmp_path / "nope.png")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_encode_bad_image_is_error_1_and_others_still_done(runner, photos, weights_file):
    (photos / "broken.png").write_bytes(b"not a png")
    result = runner.invoke(cli, ["encode", str(photos), "--codec-weights", str(weights_file)])
    assert result.exit_code == 1
    assert "broken.png: " in result.output and "not an image" in result.output
    assert (photos / "a.rnc").exists() and not (photos / "broken.rnc").exists()
    assert "Traceback" not in result.output


def test_missing_weights_file_is_error_1(runner, photos, tmp_path):
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "--codec-weights", str(tmp_path / "none.pt")])
    assert result.exit_code == 1 and "weights file not found" in result.output


def test_decode_formats_and_iterations(runner, photos, weights_file, tmp_path):
    runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "3", "--codec-weights", str(weights_file)])
    rnc = photos / "a.rnc"
    for name in ("out.png", "out.jpg", "out.webp"):
        result = runner.invoke(cli, ["decode", str(rnc), "-o", str(tmp_path / name), "-n", "2",
                                     "--codec-weights", str(weights_file)])
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / name) as image:
            assert image.size == (100, 72) and image.format == {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[name[4:]]
    result = runner.invoke(cli, ["decode", str(rnc), "-o", str(tmp_path / "out.xyz"), "--codec-weights", str(weights_file)])
    assert result.exit_code == 2 and "unknown image extension" in result.output


def test_cli_truncate_decodes_like_decode_n(runner, photos, weights_file, tmp_path):
    """`rnc truncate -n 1` then decode == `rnc decode -n 1` of the original, pixel for pixel."""
    runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "2", "--codec-weights", str(weights_file)])
    runner.invoke(cli, ["truncate", str(photos / "a.rnc"), "-n", "1", "-o", str(tmp_path / "one.rnc")])
    w = ["--codec-weights", str(weights_file)]
    assert runner.invoke(cli, ["decode", str(tmp_path / "one.rnc"), "-o", str(tmp_path / "t.png"), *w]).exit_code == 0
    assert runner.invoke(cli, ["decode", str(photos / "a.rnc"), "-n", "1", "-o", str(tmp_path / "d.png"), *w]).exit_code == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "t.png")), np.asarray(Image.open(tmp_path / "d.png")))


def test_decode_with_wrong_weights_names_both(runner, photos, weights_file, other_weights_file, tmp_path):
    runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "1", "--codec-weights", str(weights_file)])
    result = runner.invoke(cli, ["decode", str(photos / "a.rnc"), "-o", str(tmp_path / "x.png"),
                                 "--codec-weights", str(other_weights_file)])
    assert result.exit_code == 1 and "encoded with weights" in result.output
    assert not (tmp_path / "x.png").exists()


def test_decode_cut_file_strict_and_lenient(runner, photos, weights_file, tmp_path):
    runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "2", "--coder", "raw", "--codec-weights", str(weights_file)])
    cut = tmp_path / "cut.rnc"
    cut.write_bytes((photos / "a.rnc").read_bytes()[:-30])
    w = ["--codec-weights", str(weights_file)]
    result = runner.invoke(cli, ["decode", str(cut), "-o", str(tmp_path / "c.png"), *w])
    assert result.exit_code == 1 and "truncated" in result.output
    result = runner.invoke(cli, ["decode", str(cut), "-o", str(tmp_path / "c.png"), "--lenient", *w])
    assert result.exit_code == 0


def test_models_lists_registry_and_which_is_whose_default(runner):
    from rnncodec.weights import RECOGNITION_WEIGHTS

    result = runner.invoke(cli, ["models"])
    assert result.exit_code == 0 and f"{RECOGNITION_WEIGHTS} (default of rnc send): " in result.output
    result = runner.invoke(cli, ["models", "--json"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["name"] for r in rows if r["default"]] == ["GRU_S_V5"]
    assert [r["name"] for r in rows if r["recognition_default"]] == [RECOGNITION_WEIGHTS]


def test_train_usage_errors(runner, tmp_path):
    result = runner.invoke(cli, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "w.pt"), "--crop", "40"])
    assert result.exit_code == 2 and "multiple of 16" in result.output
    result = runner.invoke(cli, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "w.pt"), "--config", "nope"])
    assert result.exit_code == 2 and "unknown architecture" in result.output


def test_weights_is_a_deprecated_alias_of_codec_weights(runner, photos, weights_file, tmp_path):
    result = runner.invoke(cli, ["encode", str(photos / "a.png"), "-n", "1", "-o", str(tmp_path / "a.rnc"),
                                 "--weights", str(weights_file)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert warnings == ["Warning: 'rnc encode --weights' is deprecated: use --codec-weights "
                        "(--weights names a recognizer's weights)."]
    result = runner.invoke(cli, ["decode", str(tmp_path / "a.rnc"), "-o", str(tmp_path / "a.png"),
                                 "--weights", str(weights_file)])
    assert result.exit_code == 0 and "'rnc decode --weights' is deprecated" in result.output
    result = runner.invoke(cli, ["decode", str(tmp_path / "a.rnc"), "-o", str(tmp_path / "b.png"),
                                 "--codec-weights", str(weights_file)])
    assert result.exit_code == 0 and "Warning:" not in result.output
    assert "--weights" not in runner.invoke(cli, ["encode", "--help"]).output


def test_the_cli_offers_the_librarys_limits_and_choices(runner):
    from rnncodec.choices import ALPHA_POLICIES, BINARIZERS, LOSSES, MAX_ITERATIONS

    too_many = runner.invoke(cli, ["encode", "x.png", "-n", str(MAX_ITERATIONS + 1)])
    assert too_many.exit_code == 2 and f"1<=x<={MAX_ITERATIONS}" in too_many.output
    train_help = runner.invoke(cli, ["train", "--help"]).output
    assert all(name in train_help for name in (*LOSSES, *BINARIZERS))
    assert all(name in runner.invoke(cli, ["encode", "--help"]).output for name in ALPHA_POLICIES)


def test_encode_quality_stops_blocks_and_the_file_decodes(runner, tmp_path):
    """The shipped network, a per-block --quality: blocks stop early (an adaptive file), the report
    says so, and rnc decode decodes it; --max-bytes on a 1×1 and a 17×33 image stays within budget."""
    import json

    from skimage import data

    Image.fromarray(np.ascontiguousarray(data.astronaut()[100:164, 150:246])).save(tmp_path / "p.png")
    out = tmp_path / "p.rnc"
    result = runner.invoke(cli, ["encode", str(tmp_path / "p.png"), "-o", str(out), "--quality", "29", "-n", "4",
                                 "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.splitlines()[-1])
    assert record["coder"] == "adaptive" and 1 < record["block_iterations"] < record["iterations"] <= 4
    assert record["psnr"] > 20 and record["budget"] is None
    decoded = tmp_path / "p.png.out.png"
    assert runner.invoke(cli, ["decode", str(out), "-o", str(decoded)]).exit_code == 0
    assert Image.open(decoded).size == (96, 64)
    for size in ((1, 1), (33, 17)):
        Image.fromarray(np.ascontiguousarray(data.astronaut()[:size[1], :size[0]])).save(tmp_path / "s.png")
        for budget in (150, 190, 260):
            result = runner.invoke(cli, ["encode", str(tmp_path / "s.png"), "-o", str(tmp_path / "s.rnc"),
                                         "--max-bytes", str(budget), "--allow-larger", "--force", "--json"])
            assert result.exit_code == 0, result.output
            record = json.loads(result.output.splitlines()[-1])
            assert record["bytes"] == (tmp_path / "s.rnc").stat().st_size
            assert record["bytes"] <= budget or (not record["target_met"] and record["iterations"] == 1)
