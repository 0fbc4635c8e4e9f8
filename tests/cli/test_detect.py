"""rnc detect: boxes, label sets, --draw, progressive stop (random SSDlite that finds 'people')."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from rnncodec.cli.main import cli
from rnncodec.recognition import InputDecoder

pytestmark = pytest.mark.usefixtures("offline")


@pytest.fixture(scope="module")
def coded(tmp_path_factory, save_coded, photo):
    folder = tmp_path_factory.mktemp("detect")
    save_coded(folder, "a", photo, 2)
    return folder


@pytest.fixture
def detect(runner, weights_file, ssd_weights):
    def run(*args):
        return runner.invoke(cli, ["detect", *map(str, args), "--weights", str(ssd_weights),
                                   "--codec-weights", str(weights_file)])
    return run


def test_json_gives_boxes_in_pixels_with_voc_labels(detect, coded):
    result = detect(coded / "a.rnc", coded / "a.png", "--labels", "voc", "--json", "--threshold", "0.6")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["kind"], r["task"], r["recognizer"]) for r in records] == [
        ("rnc", "detection", "mobilenet-ssd"), ("image", "detection", "mobilenet-ssd")]
    for record in records:
        assert record["results"] and record["confidence"] == min(d["score"] for d in record["results"]) >= 0.6
        for found in record["results"]:
            assert (found["label"], found["index"]) == ("person", 14)  # VOC order
            x0, y0, x1, y1 = found["box"]
            assert 0 <= x0 <= x1 <= record["width"] and 0 <= y0 <= y1 <= record["height"]


def test_draw_writes_the_decoded_image_with_boxes(detect, coded, tmp_path, weights_file):
    out = tmp_path / "boxes.png"
    result = detect(coded / "a.rnc", "--draw", out)
    assert result.exit_code == 0, result.output
    drawn = np.asarray(Image.open(out).convert("RGB"))
    decoded = np.asarray(InputDecoder(weights_file).decode(coded / "a.rnc").image.convert("RGB"))
    assert drawn.shape == decoded.shape and (drawn != decoded).any(axis=2).mean() > 0.01
    assert ((drawn == (60, 180, 75)).all(axis=2)).any()  # the colour of class index 1 (COCO person)
    again = detect(coded / "a.rnc", "--draw", out)
    assert again.exit_code == 1 and "exists; use --force" in again.output


def test_table_and_a_drawing_folder_for_several_inputs(detect, coded, tmp_path):
    result = detect(coded / "a.rnc", coded / "a.png", "--draw", tmp_path / "drawn")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == ["a-png.png", "a-rnc.png"]
    lines = result.output.splitlines()
    heads = [i for i, line in enumerate(lines) if not line.startswith(" ")]
    assert [lines[i].split()[0].rsplit("/", 1)[-1] for i in heads] == ["a.rnc", "a.png"]
    assert "2/2 it" in lines[0] and lines[0].endswith(f"{heads[1] - 1} objects")
    assert all(line.split()[0] == "person" for i, line in enumerate(lines) if i not in heads)


def test_stop_at_confidence_when_every_kept_object_reaches_it(detect, coded):
    result = detect(coded / "a.rnc", "--stop-at-confidence", "0.5", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert len(record["progressive"]) == 1 and record["target_reached"] and record["iterations"] == 1


@pytest.mark.parametrize("args, message", [
    (["--labels", "ade20k"], "mobilenet-ssd has no label set 'ade20k'"),
    (["--recognizer", "resnet50"], "resnet50 is a classification recognizer"),
    (["--draw", "out.txt"], "unknown image extension '.txt'"),
])
def test_usage_errors_exit_2(runner, coded, args, message):
    result = runner.invoke(cli, ["detect", str(coded / "a.rnc"), *args])
    assert result.exit_code == 2 and message in result.output
