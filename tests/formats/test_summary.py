"""info(): a summary from the chunks, without decoding payloads."""

from __future__ import annotations

import json

import pytest

from rnncodec.formats import RNCError, TruncatedFileError, info, read
from rnncodec.formats import coders as coders_module

REQUIRED = {"width", "height", "mode", "iterations", "bytes_per_iteration", "file_bytes", "coder",
            "architecture", "weights_sha256", "tile_size", "truncated", "metadata"}


def test_keys_and_values(file16):
    data, header, codes, metadata, alpha = file16
    summary = info(data)
    assert REQUIRED <= set(summary)
    json.dumps(summary)  # JSON-ready
    assert summary["width"] == 37 and summary["height"] == 21 and summary["mode"] == "RGB"
    assert summary["iterations"] == summary["iterations_declared"] == 16
    assert summary["bytes_per_iteration"] == read(data).bytes_per_iteration
    assert summary["file_bytes"] == len(data)
    assert summary["coder"] == "zstd" and summary["architecture"] == "g16"
    assert summary["weights_sha256"] == header.weights_id.hex() and len(summary["weights_sha256"]) == 32
    assert summary["metadata"] == metadata and summary["has_alpha"] is True
    assert summary["code_shape"] == [32, 2, 3] and summary["tile_size"] == 0
    assert summary["truncated"] is False and summary["format_version"] == 1


def test_no_payload_is_decoded(monkeypatch, file16):
    def refuse(*args, **kwargs):
        raise AssertionError("payload decoded")

    for coder in coders_module._BY_ID.values():
        monkeypatch.setattr(type(coder), "decode", refuse)
    monkeypatch.setattr("rnncodec.formats.parser.decode_alpha", refuse)
    assert info(file16[0])["iterations"] == 16


def test_a_cut_file_is_described_leniently_or_refused_strictly(file16):
    data = file16[0]
    cut = data[: len(data) - 30]
    summary = info(cut)
    assert summary["truncated"] and summary["iterations"] == 15 and summary["iterations_declared"] == 16
    assert summary["file_bytes"] == len(cut)
    with pytest.raises(TruncatedFileError):
        info(cut, strict=True)
    with pytest.raises(RNCError):
        info(b"not an rnc file")
