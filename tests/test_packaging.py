"""The wheel holds the remapped packages (formats/ → rnncodec.formats, cli/ → rnncodec.cli), the
ONNX graphs of the shipped weights, the older weights packed, and needs torch only in its extras."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from rnncodec.weights import RNCWeights, onnx_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_formats_and_cli(tmp_path, packed_alone, packs_alone):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("rnncodec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("rnncodec/__init__.py", "rnncodec/formats/__init__.py", "rnncodec/formats/spec.py",
                     "rnncodec/formats/SPEC.md", "rnncodec/cli/__init__.py", "rnncodec/cli/main.py",
                     "rnncodec/formats/coders/__init__.py", "rnncodec/formats/coders/context/coder.py",
                     "rnncodec/py.typed", "rnncodec/edge/static/index.html", "rnncodec/edge/static/page.js"):
        assert required in names
    assert not any("conformance" in name for name in names)  # the vector generator is a developer script
    assert not any(name.startswith(("formats/", "cli/", "tests/")) for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rnc = rnncodec.cli.main:cli" in zipfile.ZipFile(wheel).read(entry_points).decode()
    # the light install: the onnx backend and its graphs; torch only in extras
    assert {"rnncodec/backends/__init__.py", "rnncodec/backends/onnx_backend.py"} <= names
    graphs = {f"rnncodec/_weights/{path.name}" for member in packs_alone
              for path in onnx_paths(member.value.path).values()}
    assert graphs and graphs == {name for name in names if name.endswith(".onnx")}  # packed against a base: made
    # every entry as its pack, not its .pt (rnncodec/weights_pack.py; one against no base, the default's chain's end)
    packs = {f"rnncodec/_weights/{path.name}" for path in (ROOT / "weights").glob("*.ptpack")}
    assert f"rnncodec/_weights/{Path(RNCWeights.DEFAULT.value.file).with_suffix('.ptpack')}" in packs <= names
    assert f"rnncodec/_weights/{Path(packed_alone.value.file).with_suffix('.ptpack')}" in packs
    assert not {name for name in names if name.startswith("rnncodec/_weights/") and name.endswith(".pt")}
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert any("onnxruntime" in line for line in requires)
    light = {line.split()[1].split(";")[0].split(">")[0] for line in requires if "extra ==" not in line}
    assert not light & {"torch", "torchvision", "httpx", "tqdm"}, light  # the light install's size (issue 13)
