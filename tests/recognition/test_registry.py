"""Recognizers are entry points: the built-ins and a third-party distribution installed by the test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from rnncodec.cli.main import cli
from rnncodec.recognition import (RecognitionError, UnknownRecognizerError, describe_recognizers, load_recognizer,
                                  recognizer_names)

PLUGIN = '''
"""A third-party recognizer: dark or bright, from the mean grey level (no network)."""

from PIL import ImageStat

from rnncodec.recognition import Classification, ClassScore, Recognizer, to_rgb


class Brightness(Recognizer):
    task = "classification"
    summary = "dark or bright (a test plug-in)"

    def load(self):
        self.calls = 0

    @property
    def labels(self):
        return ["dark", "bright"]

    def predict(self, images, *, top_k=5, threshold=0.5):
        self.calls += 1
        results = []
        for image in images:
            level = ImageStat.Stat(to_rgb(image).convert("L")).mean[0] / 255
            ranked = sorted([(1 - level, 0), (level, 1)], reverse=True)[:top_k]
            results.append(Classification(tuple(ClassScore(i, self.labels[i], p) for p, i in ranked)))
        return results


NotARecognizer = object
'''


def install(site: Path, entry_points: str) -> None:
    """What installing a wheel of the plug-in puts into site-packages: the module and its .dist-info."""
    site.mkdir()
    (site / "toy_recognizers.py").write_text(PLUGIN)
    dist_info = site / "toy_recognizers-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-recognizers\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[rnncodec.recognizers]\n{entry_points}")
    (dist_info / "INSTALLER").write_text("test\n")
    (dist_info / "RECORD").write_text("toy_recognizers.py,,\ntoy_recognizers-1.0.dist-info/METADATA,,\n"
                                      "toy_recognizers-1.0.dist-info/entry_points.txt,,\n"
                                      "toy_recognizers-1.0.dist-info/INSTALLER,,\n"
                                      "toy_recognizers-1.0.dist-info/RECORD,,\n")


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    """The toy-recognizers distribution installed on sys.path for this test only."""
    site = tmp_path / "site"
    install(site, "brightness = toy_recognizers:Brightness\nbroken = toy_recognizers:NotARecognizer\n")
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("toy_recognizers", None)


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "white.png"
    Image.new("RGB", (32, 24), (250, 250, 250)).save(path)
    return path


def test_the_builtins_are_entry_points():
    assert {"resnet50", "mobilenet-ssd"} <= set(recognizer_names())
    rows = {row["name"]: row for row in describe_recognizers()}
    assert rows["resnet50"]["task"] == "classification" and rows["resnet50"]["distribution"] == "rnncodec"
    assert rows["mobilenet-ssd"]["label_sets"] == ["coco", "voc"]
    assert rows["mobilenet-ssd"]["entry_point"] == "rnncodec.recognition.torchvision_models:MobileNetSSD"


def test_unknown_name_lists_the_installed_ones():
    with pytest.raises(UnknownRecognizerError, match="unknown recognizer 'nope' .*resnet50"):
        load_recognizer("nope")


def test_an_installed_plugin_is_found_listed_and_runs(plugin_site, picture):
    assert "brightness" in recognizer_names()
    rows = {row["name"]: row for row in describe_recognizers()}
    assert rows["brightness"]["distribution"] == "toy-recognizers" and rows["brightness"]["task"] == "classification"
    assert "error" in rows["broken"]
    with pytest.raises(RecognitionError, match="not a Recognizer subclass"):
        load_recognizer("broken")
    recognizer = load_recognizer("brightness")
    assert recognizer.name == "brightness"
    (result,) = recognizer.predict([Image.open(picture)], top_k=1)
    assert result.top[0].label == "bright"


def test_rnc_lists_and_runs_the_plugin(plugin_site, picture):
    runner = CliRunner()
    listed = runner.invoke(cli, ["recognizers"])
    assert listed.exit_code == 0, listed.output
    assert "brightness" in listed.output and "[toy-recognizers]" in listed.output
    assert "broken" in listed.output and "cannot load" in listed.output
    done = runner.invoke(cli, ["classify", str(picture), "--recognizer", "brightness", "--json", "--top-k", "2"])
    assert done.exit_code == 0, done.output
    record = json.loads(done.output)
    assert record["recognizer"] == "brightness" and [r["label"] for r in record["results"]] == ["bright", "dark"]
    wrong = runner.invoke(cli, ["detect", str(picture), "--recognizer", "brightness"])
    assert wrong.exit_code == 2 and "brightness is a classification recognizer" in wrong.output


def test_a_fresh_process_finds_the_plugin(plugin_site):
    # No empty PYTHONPATH entry (it would mean the working directory, whose source folders shadow an installed wheel).
    paths = [str(plugin_site), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run([sys.executable, "-m", "rnncodec.cli", "recognizers", "--json"], capture_output=True,
                          text=True, env=env, timeout=120, cwd=plugin_site.parent)
    assert done.returncode == 0, done.stderr
    names = [json.loads(line)["name"] for line in done.stdout.splitlines()]
    assert {"brightness", "resnet50", "mobilenet-ssd"} <= set(names)
