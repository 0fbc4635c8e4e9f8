"""rnc eval classify / detect end to end on three tiny images: table, JSON report, plot."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from rnncodec.cli.main import cli

pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, photo):
    """Three small photos with class labels (labels.tsv) and YOLO boxes (labels/)."""
    root = tmp_path_factory.mktemp("eval")
    images = root / "images"
    images.mkdir()
    crops = {"a.jpg": photo, "b.png": photo[:48, :64], "c.jpg": photo[24:, 36:]}
    for name, pixels in crops.items():
        Image.fromarray(pixels).save(images / name)
    (root / "labels.tsv").write_text("index\tfile\n0\ta.jpg\n713\tb.png\n10\tc.jpg\n")
    boxes = root / "labels"
    boxes.mkdir()
    (boxes / "a.txt").write_text("0 0.5 0.5 0.6 0.8\n16 0.2 0.2 0.1 0.1\n")
    (boxes / "b.txt").write_text("0 0.4 0.6 0.5 0.5\n")
    return root


def _check_report(root, result, metrics):
    assert result.exit_code == 0, result.output
    table = [line for line in result.output.splitlines() if line.startswith("| ")]
    assert [line.split(" | ")[0] for line in table[1:]] == ["| original", "| rnc-1", "| rnc-2", "| jpeg-1", "| jpeg-2"]
    report = json.loads((root / "report.json").read_text())
    assert report["images"] == 3 and report["iterations"] == 2
    rows = {row["setting"]: row for row in report["rows"]}
    assert rows["rnc-1"]["mean_bytes"] < rows["rnc-2"]["mean_bytes"] < rows["original"]["mean_bytes"]
    assert rows["original"]["reduction_pct"] == 0 and 0 < rows["rnc-1"]["reduction_pct"] < 100
    for name, row in rows.items():
        assert set(row["metrics"]) == metrics and all(0 <= v <= 1 for v in row["metrics"].values())
        if name.startswith("jpeg"):
            assert 0 <= row["jpeg_fit"] <= 3 and 1 <= row["jpeg_mean_quality"] <= 100
            if row["jpeg_fit"] == 3:
                assert row["mean_bytes"] <= rows[name.replace("jpeg", "rnc")]["mean_bytes"]
    with Image.open(root / "plot.png") as plot:
        assert plot.format == "PNG" and plot.width > 400


@pytest.mark.slow
def test_eval_classify_end_to_end(runner, dataset, weights_file, resnet50_weights):
    result = runner.invoke(cli, ["eval", "classify", "--data", str(dataset / "images"), "--labels",
                                 str(dataset / "labels.tsv"), "-n", "2", "--codec-weights", str(weights_file),
                                 "--weights", str(resnet50_weights), "--json", str(dataset / "report.json"),
                                 "--plot", str(dataset / "plot.png"), "--force", "--batch-size", "4"])
    assert "top-1 | top-5" in result.output
    _check_report(dataset, result, {"top1", "top5"})


@pytest.mark.slow
def test_eval_detect_end_to_end(runner, dataset, weights_file, ssd_weights):
    result = runner.invoke(cli, ["eval", "detect", "--data", str(dataset / "images"), "--annotations",
                                 str(dataset / "labels"), "--format", "yolo", "-n", "2", "--codec-weights",
                                 str(weights_file), "--weights", str(ssd_weights), "--json",
                                 str(dataset / "report.json"), "--plot", str(dataset / "plot.png"), "--force"])
    assert "mAP@0.5 | mAP@[.5:.95]" in result.output
    _check_report(dataset, result, {"map50", "map"})


def test_eval_refuses_to_overwrite_reports(runner, dataset, tmp_path):
    existing = tmp_path / "report.json"
    existing.write_text("{}")
    result = runner.invoke(cli, ["eval", "classify", "--data", str(dataset / "images"), "--labels",
                                 str(dataset / "labels.tsv"), "--json", str(existing)])
    assert result.exit_code == 1 and "exists; use --force" in result.output and existing.read_text() == "{}"


def test_eval_classify_needs_every_labelled_image(runner, dataset, tmp_path, resnet50_weights):
    labels = tmp_path / "labels.csv"
    labels.write_text("file,index\na.jpg,0\nmissing.jpg,1\n")
    result = runner.invoke(cli, ["eval", "classify", "--data", str(dataset / "images"), "--labels", str(labels),
                                 "--weights", str(resnet50_weights)])
    assert result.exit_code == 1 and "1 files listed in" in result.output and "missing.jpg" in result.output


# -- --settings: the recognizer trained on originals next to the adapted one ------------------------------


@pytest.fixture(scope="module")
def shifted_weights(tmp_path_factory, resnet50_weights):
    """The random ResNet-50 with its classifier rows rolled by one: it answers class c + 1 where the
    original answers c, on any image — an "adapted" recognizer whose answers are known."""
    import torch

    state = torch.load(resnet50_weights, weights_only=True)
    state["fc.weight"], state["fc.bias"] = state["fc.weight"].roll(1, 0), state["fc.bias"].roll(1, 0)
    path = tmp_path_factory.mktemp("recognizers") / "resnet50-shifted.pth"
    torch.save(state, path)
    return path


def _top1(model, images):
    return [result.top[0].index for result in model.predict(images, top_k=5, threshold=0.0)]


@pytest.mark.slow
def test_eval_classify_settings(runner, tmp_path, dataset, weights_file, resnet50_weights, shifted_weights):
    """Truth = the original recognizer's answer on each original photo, so setting 1 scores 100 % and
    setting 4 (the shifted recognizer on originals) 0 %; settings 2 and 3 and the byte counts are
    computed here from the codec and the recognizers directly."""
    from rnncodec.codec import Codec
    from rnncodec.formats import truncate
    from rnncodec.imageio import load_image
    from rnncodec.recognition.torchvision_models import ResNet50

    paths = sorted((dataset / "images").iterdir())
    original, shifted = (ResNet50(weights=w, precision="fp32", download=False) for w in (resnet50_weights,
                                                                                         shifted_weights))
    pixels = [load_image(path, alpha="drop").rgb for path in paths]
    truth = _top1(original, [Image.fromarray(p) for p in pixels])
    codec = Codec(weights_file)
    files = [codec.encode(p, 2, alpha="drop") for p in pixels]
    labels = tmp_path / "labels.tsv"
    labels.write_text("file\tindex\n" + "".join(f"{p.name}\t{t}\n" for p, t in zip(paths, truth)))

    result = runner.invoke(cli, ["eval", "classify", "--data", str(dataset / "images"), "--labels", str(labels),
                                 "-n", "2", "--codec-weights", str(weights_file), "--weights", str(resnet50_weights),
                                 "--settings", "--adapted-weights", str(shifted_weights), "--precision", "fp32",
                                 "--json", str(tmp_path / "settings.json"), "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    table = [line.split(" | ")[:3] for line in result.output.splitlines() if line.startswith("| ")][1:]
    adapted = "decoded .rnc (adapted)"
    assert table == [["| 1", "originals", "originals"],
                     ["| 2", "originals", ".rnc, 1 iteration"], ["| 3", adapted, ".rnc, 1 iteration"],
                     ["| 2", "originals", ".rnc, 2 iterations"], ["| 3", adapted, ".rnc, 2 iterations"],
                     ["| 4", adapted, "originals"]]
    assert "the compressed-image model" in result.output

    report = json.loads((tmp_path / "settings.json").read_text())
    assert (report["weights"], report["adapted_weights"]) == (str(resnet50_weights), str(shifted_weights))
    rows = {(row["setting"], row["iterations"]): row for row in report["rows"]}
    original_bytes = sum(path.stat().st_size for path in paths) / 3
    assert rows[1, None]["metrics"]["top1"] == 1 and rows[4, None]["metrics"]["top1"] == 0
    for setting in (1, 4):
        assert rows[setting, None]["mean_bytes"] == pytest.approx(original_bytes)
        assert rows[setting, None]["reduction_pct"] == 0
    for k in (1, 2):
        decoded = [codec.decode(data, k).convert("RGB") for data in files]
        mean = sum(len(truncate(data, iterations=k)) for data in files) / 3
        for setting, model in ((2, original), (3, shifted)):
            row = rows[setting, k]
            hits = sum(a == t for a, t in zip(_top1(model, decoded), truth))
            assert row["metrics"]["top1"] == pytest.approx(hits / 3)
            assert row["mean_bytes"] == pytest.approx(mean)
            assert row["reduction_pct"] == pytest.approx(100 * (1 - mean / original_bytes))
    assert len(list((tmp_path / "cache").glob("*/*.rnc"))) == 3  # coded into the cache asked for


def test_eval_settings_usage_errors(runner, dataset, resnet50_weights, tmp_path):
    base = ["eval", "classify", "--data", str(dataset / "images"), "--labels", str(dataset / "labels.tsv")]
    for extra, message in ((["--settings"], "--settings needs --adapted-weights FILE"),
                           (["--adapted-weights", str(resnet50_weights)], "--adapted-weights is used with --settings"),
                           (["--settings", "--adapted-weights", str(resnet50_weights),
                             "--plot", str(tmp_path / "p.png")], "--plot draws the .rnc/JPEG comparison")):
        result = runner.invoke(cli, base + extra)
        assert result.exit_code == 2 and message in result.output, result.output


def test_eval_ray_without_ray_is_one_line(runner, dataset, weights_file, resnet50_weights, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # as if Ray were not installed
    result = runner.invoke(cli, ["eval", "classify", "--data", str(dataset / "images"), "--labels",
                                 str(dataset / "labels.tsv"), "--weights", str(resnet50_weights), "--codec-weights",
                                 str(weights_file), "--ray"])
    assert result.exit_code == 1 and "pip install 'rnncodec[ray]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_eval_detect_settings_with_the_same_weights_twice(runner, tmp_path, dataset, weights_file, ssd_weights):
    """The same weights as both recognizers: setting 3 equals 2 at each k, and 4 equals 1."""
    result = runner.invoke(cli, ["eval", "detect", "--data", str(dataset / "images"), "--annotations",
                                 str(dataset / "labels"), "--format", "yolo", "-n", "1", "--codec-weights",
                                 str(weights_file), "--weights", str(ssd_weights), "--settings",
                                 "--adapted-weights", str(ssd_weights), "--json", str(tmp_path / "det.json")])
    assert result.exit_code == 0, result.output
    assert "mAP@0.5 | mAP@[.5:.95]" in result.output
    rows = {(row["setting"], row["iterations"]): row for row in json.loads((tmp_path / "det.json").read_text())["rows"]}
    assert sorted(rows, key=str) == sorted([(1, None), (2, 1), (3, 1), (4, None)], key=str)
    assert rows[3, 1]["metrics"] == rows[2, 1]["metrics"] and rows[4, None]["metrics"] == rows[1, None]["metrics"]
    assert rows[2, 1]["mean_bytes"] < rows[1, None]["mean_bytes"] and 0 < rows[2, 1]["reduction_pct"] < 100
    assert all(set(row["metrics"]) == {"map50", "map"} for row in rows.values())
