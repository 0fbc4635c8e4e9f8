"""rnncodec.atomic: a file appears whole under its name, or the old one stays."""

import pytest

from rnncodec.atomic import atomic_path, write_atomically


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "w.bin"
    target.write_bytes(b"old")
    write_atomically(target, b"new data")
    assert target.read_bytes() == b"new data"
    assert [p.name for p in tmp_path.iterdir()] == ["w.bin"]


def test_atomic_path_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "w.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("writer died")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]


def test_atomic_path_temporary_is_beside_the_target(tmp_path):
    with atomic_path(tmp_path / "x.onnx") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".x.onnx.")
        tmp.write_bytes(b"graph")
    assert (tmp_path / "x.onnx").read_bytes() == b"graph"


def test_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "no" / "such" / "file", b"x")
    assert list(tmp_path.iterdir()) == []


def test_new_files_get_the_umask_mode(tmp_path):
    import os

    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "m.bin", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "m.bin").stat().st_mode & 0o777 == 0o644
