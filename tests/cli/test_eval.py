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
