"""examples/: the scripts the docs point to run from a checkout and never replace a tracked file."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest
from PIL import Image

FIGURE = Path(__file__).resolve().parents[1] / "examples" / "progressive_figure.py"

pytestmark = pytest.mark.skipif(not FIGURE.is_file(), reason="examples/ is not there (not a checkout)")


def _figure(argv, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(FIGURE), *map(str, argv)])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(FIGURE), run_name="__main__")
    return exit_info.value.code


def test_the_figure_goes_to_the_current_folder_and_replaces_nothing_without_force(tmp_path, monkeypatch, photo,
                                                                                  weights_file, capsys):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(photo).save("photo.png")
    options = ["--image", "photo.png", "--weights", weights_file, "--iterations", "1", "2"]
    assert _figure(options, monkeypatch) == 0
    made = tmp_path / "progressive.jpg"
    with Image.open(made) as figure:
        assert figure.size == (3 * 100, 72 + 22)
    before = made.read_bytes()
    assert _figure(options, monkeypatch) == 2
    assert "progressive.jpg exists; use --force" in capsys.readouterr().err and made.read_bytes() == before
    assert _figure(options + ["--force"], monkeypatch) == 0
