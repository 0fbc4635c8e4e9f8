"""The container and its commands never import torch (and `rnc info` not even numpy); encode and
decode on the onnx backend do not either, and without torch (the light install) the commands that
need it say how to install it."""

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


def test_encode_and_decode_on_onnx_import_no_torch(tmp_path, photo):
    from PIL import Image

    Image.fromarray(photo).save(tmp_path / "photo.png")
    for args in (["encode", "photo.png", "-n", "2", "--backend", "onnx"],
                 ["decode", "photo.rnc", "-o", "back.png", "--backend", "onnx"]):
        loaded = _probe(_run_cli(args), tmp_path)
        assert not loaded["torch"] and not loaded["torchvision"], args
    assert (tmp_path / "back.png").stat().st_size > 0


#: What the light install looks like from inside: torch and its extra cannot be imported.
WITHOUT_TORCH = "import sys\nfor name in ('torch', 'torchvision', 'pytorch_msssim'): sys.modules[name] = None\n"


def _run_without_torch(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    code = WITHOUT_TORCH + "from rnncodec.cli.main import cli\ncli.main({!r}, prog_name='rnc')".format(args)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_without_torch_encode_and_decode_run_on_onnx(tmp_path, photo):
    from PIL import Image

    Image.fromarray(photo).save(tmp_path / "photo.png")
    for args in (["encode", "photo.png", "-n", "1"], ["decode", "photo.rnc", "-o", "back.png"]):
        done = _run_without_torch(args, tmp_path)
        assert done.returncode == 0, done.stderr
    assert Image.open(tmp_path / "back.png").size == (100, 72)


@pytest.mark.parametrize("args, command", [
    (["encode", "photo.png", "--backend", "torch"], "encode"),
    (["classify", "x.rnc"], "classify"),
    (["train", "--data", ".", "--out", "w.pt"], "train"),
])
def test_without_torch_commands_that_need_it_say_how_to_install_it(tmp_path, photo, rnc_file, args, command):
    from PIL import Image

    Image.fromarray(photo).save(tmp_path / "photo.png")
    done = _run_without_torch(args, tmp_path)
    message = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(message) == 1, done.stderr
    assert message[0].startswith("Error: ") and "pip install 'rnncodec[torch]'" in message[0], message


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
