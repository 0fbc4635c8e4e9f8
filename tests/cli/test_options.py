"""Shared CLI helpers: input expansion and atomic, non-clobbering output."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import pytest

from rnncodec.cli.options import OutputExistsError, atomic_output, expand_inputs


def test_expand_files_folders_and_globs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    for name in ("b.rnc", "a.RNC", "c.txt", "sub/d.rnc"):
        (tmp_path / name).write_bytes(b"")
    assert expand_inputs(["c.txt"]) == [Path("c.txt")]
    assert [p.name for p in expand_inputs(["."])] == ["a.RNC", "b.rnc"]
    assert [p.name for p in expand_inputs(["*.rnc"])] == ["b.rnc"]
    assert [p.name for p in expand_inputs(["**/*.rnc"])] == ["b.rnc", "d.rnc"]
    assert [p.name for p in expand_inputs(["b.rnc", "*.rnc", "."])] == ["b.rnc", "a.RNC"]
    assert [p.name for p in expand_inputs(["."], suffixes=[".txt"])] == ["c.txt"]


@pytest.mark.parametrize("pattern, message", [
    ("missing.rnc", "no such file or folder"),
    ("*.png", "matches no files"),
    ("empty", "has no .rnc files"),
])
def test_expand_errors_are_bad_parameters(tmp_path, monkeypatch, pattern, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(click.BadParameter, match=message):
        expand_inputs([pattern])


def test_atomic_output_writes_only_on_success(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_output(target) as out:
            out.write(b"partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    with atomic_output(target) as out:
        out.write(b"whole")
        assert not target.exists()
    assert target.read_bytes() == b"whole"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_atomic_output_refuses_to_clobber_without_force(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="exists; use --force"):
        with atomic_output(target):
            pass
    assert OutputExistsError(target).exit_code == 1
    with atomic_output(target, force=True) as out:
        out.write(b"new")
    assert target.read_bytes() == b"new"


def test_atomic_output_notices_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(OutputExistsError):
        with atomic_output(target) as out:
            out.write(b"mine")
            target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_output(tmp_path / "new.bin") as out:
            out.write(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.bin").stat().st_mode) == 0o640
