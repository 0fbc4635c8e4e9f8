"""The container and its commands never import torch (and `rnc info` not even numpy)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnncodec.formats import write_bytes

PROBE = """
import json, sys
{body}
print(json.dumps({{m: m in sys.modules for m in ("torch", "torchvision", "numpy")}}))
"""


def _probe(body: str, tmp_path: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def rnc_file(tmp_path, make_header, make_codes):
    header = make_header(coder="zstd")
    path = tmp_path / "x.rnc"
    path.write_bytes(write_bytes(header, make_codes(header)))
    return path


def test_import_rnncodec_and_formats_without_torch(tmp_path):
    loaded = _probe("import rnncodec, rnncodec.formats, rnncodec.cli.main", tmp_path)
    assert loaded == {"torch": False, "torchvision": False, "numpy": False}


def test_the_error_roots_come_without_torch(tmp_path):
    body = "import rnncodec\nrnncodec.RNCError, rnncodec.CodecError, rnncodec.RecognitionError, rnncodec.EdgeError"
    assert _probe(body, tmp_path) == {"torch": False, "torchvision": False, "numpy": False}


def _run_cli(args: list[str]) -> str:
    return f"from rnncodec.cli.main import cli\ncli.main({args!r}, standalone_mode=False)"


@pytest.mark.parametrize("args", [
    ["info", "x.rnc"],
    ["info", "--json", "x.rnc"],
    ["truncate", "x.rnc", "-n", "1", "-o", "y.rnc"],
])
def test_container_commands_import_neither_torch_nor_numpy(tmp_path, rnc_file, args):
    assert _probe(_run_cli(args), tmp_path) == {"torch": False, "torchvision": False, "numpy": False}


def test_help_imports_every_command_but_not_torch(tmp_path):
    loaded = _probe(_run_cli(["--help"]), tmp_path)
    assert not loaded["torch"] and not loaded["torchvision"]


def test_rnc_info_is_fast(tmp_path, rnc_file):
    """The console script answers quickly (< 0.3 s on an idle machine; 1 s allows for load)."""
    script = Path(sys.executable).with_name("rnc")
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run([str(script), "info", str(rnc_file)], capture_output=True, timeout=60)
        timings.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr
    assert sorted(timings)[1] < 1.0, timings
