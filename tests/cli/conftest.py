"""CLI fixtures: a runner and .rnc files on disk."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from rnncodec.formats import write_bytes


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def rnc_path(tmp_path, make_header, make_codes):
    """A 4-iteration zstd file with metadata, at tmp_path/photo.rnc."""
    header = make_header(iterations=4, coder="zstd")
    path = tmp_path / "photo.rnc"
    path.write_bytes(write_bytes(header, make_codes(header), {"source_name": "photo.png"}))
    return path
