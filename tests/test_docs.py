"""Every fenced code block of README.md and docs/*.md runs as written.

The convention (also in docs/writing-docs.md, for whoever adds a block):

- Every fence names its language; a fence without one fails :func:`test_every_block_is_classified`.
- ```` ```python ````: run, the blocks of a page in order in one namespace (a later block may use
  what an earlier one made).
- ```` ```sh ````: run by ``bash -e -o pipefail``, with ``rnc`` and ``python`` of the environment
  under test first on ``PATH`` (and ``.venv/bin/…`` pointing at it, as in the README).
- ```` ```console ````: the lines starting with ``$ `` (with their ``\\`` continuations) run as
  ``sh``; the other lines are sample output and are not compared (numbers depend on the weights
  and the machine).
- ```` ```json ```` and ```` ```toml ````: must parse. ```` ```text ```` (output, grammars,
  protocol transcripts) and ```` ```nginx ```` (another program's configuration): not run.
- ``<!-- docs-test: skip: REASON -->`` on the line before a fence: not run, REASON required.
  Keep them few: training runs of hours, a server that runs until stopped, benchmarks on the
  data sets of ``../shared/data``, installing the package or running this whole suite.

Each page runs in a fresh folder holding the sample files the docs name (:func:`sample_folder`:
``photo.png``, ``photo.jpg``, ``photo.rnc``, ``cut.rnc``, ``street.jpg``, ``street.rnc``, ``coded/``, a
labelled ``photos/`` folder, the repository's ``examples/``), made here from scikit-image's
photos with the shipped codec weights; never ``../shared``.  The recognizers load torchvision's
networks with the random weights of tests/conftest.py, put in a private torch hub cache under
torchvision's file names, so nothing is downloaded.  ``docs/server.md`` talks to a server this test starts on
127.0.0.1:8000, where its examples say one runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
RUN = {"python", "sh", "console"}
try:
    from tomllib import loads as toml_loads  # Python ≥ 3.11
except ModuleNotFoundError:  # 3.10: toml blocks are not checked
    def toml_loads(text: str) -> None:
        return None
PARSE = {"json": json.loads, "toml": toml_loads}
NOT_RUN = {"text", "nginx"}
SKIP = re.compile(r"<!--\s*docs-test:\s*skip:\s*(?P<reason>.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
SERVER_PORT = 8000


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    skip: str | None  # the reason, for a block marked not to run

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def blocks_of(page: str) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, start = match["indent"], index
        end = next(k for k in range(index + 1, len(lines)) if lines[k].strip() == "```")
        code = "\n".join(line[len(indent):] for line in lines[start + 1:end]) + "\n"
        skip = SKIP.search(lines[start - 1]) if start else None
        found.append(Block(page, start + 1, match["lang"], code, skip["reason"] if skip else None))
        index = end + 1
    return found


def console_commands(code: str) -> str:
    """The ``$ `` lines of a console block (continuations joined), as a script."""
    commands, lines = [], iter(code.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command += "\n" + next(lines)
            commands.append(command)
    return "\n".join(commands) + "\n"


def test_every_block_is_classified():
    problems = []
    for page in PAGES:
        for block in blocks_of(page):
            if block.lang not in RUN | set(PARSE) | NOT_RUN:
                problems.append(f"{block}: fence language {block.lang!r} (use one of "
                                f"{sorted(RUN | set(PARSE) | NOT_RUN)})")
            if block.skip is not None and not block.skip:
                problems.append(f"{block}: a skip needs a reason")
            if block.lang == "console" and not console_commands(block.code).strip():
                problems.append(f"{block}: a console block without '$ ' commands (use text)")
            if block.lang in PARSE and block.skip is None:
                PARSE[block.lang](block.code)
    assert not problems, "\n".join(problems)


def test_docs_name_no_files_of_the_development_machine():
    for page in PAGES:
        for block in blocks_of(page):
            if block.skip is None:
                assert "shared/" not in block.code, f"{block} uses a path of the development machine"


# -- the folder the pages run in ------------------------------------------------------------------


def _recognizer_cache(folder: Path, resnet50_weights: Path, ssd_weights: Path) -> None:
    """A torch hub cache holding the random recognizer weights under torchvision's default file names."""
    from torchvision.models import ResNet50_Weights
    from torchvision.models.detection import SSDLite320_MobileNet_V3_Large_Weights

    checkpoints = folder / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    for default, path in ((ResNet50_Weights.DEFAULT, resnet50_weights),
                          (SSDLite320_MobileNet_V3_Large_Weights.DEFAULT, ssd_weights)):
        (checkpoints / default.url.rsplit("/", 1)[-1]).symlink_to(path)


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory, resnet50_weights, ssd_weights) -> Path:
    """The files the docs' examples name, coded with the shipped default weights."""
    from PIL import Image
    from skimage import data

    import rnncodec

    folder = tmp_path_factory.mktemp("docs-samples")
    photo = Image.fromarray(np.ascontiguousarray(data.astronaut()[::4, ::4]))  # 128×128
    street = Image.fromarray(np.ascontiguousarray(data.coffee()[::4, ::4]))  # 150×100
    photo.save(folder / "photo.png")
    photo.save(folder / "photo.jpg", quality=90)
    street.save(folder / "street.jpg", quality=90)
    (folder / "photo.rnc").write_bytes(rnncodec.encode(folder / "photo.png", 4))
    (folder / "street.rnc").write_bytes(rnncodec.encode(folder / "street.jpg", 4))
    (folder / "cut.rnc").write_bytes((folder / "photo.rnc").read_bytes()[:-30])  # cut inside iteration 4
    (folder / "coded").mkdir()
    for name in ("photo", "street"):
        shutil.copy(folder / f"{name}.rnc", folder / "coded" / f"{name}.rnc")
    photos = folder / "photos"
    photos.mkdir()
    shutil.copy(folder / "photo.jpg", photos / "astronaut.jpg")
    shutil.copy(folder / "street.jpg", photos / "coffee.jpg")
    (photos / "labels.tsv").write_text("file\tlabel\nastronaut.jpg\tsuit\ncoffee.jpg\tespresso\n")
    (photos / "astronaut.txt").write_text("0 0.5 0.5 0.6 0.9\n")  # YOLO: a person
    (photos / "coffee.txt").write_text("41 0.5 0.5 0.4 0.5\n")  # a cup
    shutil.copytree(ROOT / "examples", folder / "examples")
    (folder / ".venv").symlink_to(Path(sys.executable).parent.parent)  # the README's .venv/bin/…
    _recognizer_cache(folder / ".torch", resnet50_weights, ssd_weights)
    return folder


@pytest.fixture
def page_folder(sample_folder, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the samples, the current folder, with downloads off."""
    folder = tmp_path / "page"
    shutil.copytree(sample_folder, folder, symlinks=True)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("TORCH_HOME", str(folder / ".torch"))
    monkeypatch.setenv("RNC_OFFLINE", "1")
    monkeypatch.setenv("RNC_NO_PROGRESS", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return folder


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def run_block(block: Block, namespace: dict) -> None:
    if block.lang == "python":
        exec(compile(block.code, str(block), "exec"), namespace)  # noqa: S102 - the docs' own examples
    elif block.lang in ("sh", "console"):
        script = block.code if block.lang == "sh" else console_commands(block.code)
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, f"{block} failed ({done.returncode}):\n{script}\n{done.stdout}\n{done.stderr}"


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_written(page, page_folder, request):
    blocks = [b for b in blocks_of(page) if b.lang in RUN and b.skip is None]
    if not blocks:
        pytest.skip(f"{page} has no block to run")
    if page == "docs/server.md":
        if not _port_free(SERVER_PORT):
            pytest.skip(f"port {SERVER_PORT} is in use; docs/server.md's examples need it")
        request.getfixturevalue("docs_server")
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks:
        run_block(block, namespace)


@pytest.fixture
def docs_server(page_folder):
    """``rnc serve`` with its defaults (random recognizer weights from the private cache) on port 8000."""
    from rnncodec.edge.config import ServerConfig
    from rnncodec.edge.runner import BackgroundServer

    with BackgroundServer(ServerConfig(download=False), port=SERVER_PORT) as server:
        yield server
