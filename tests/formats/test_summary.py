"""info(): a summary from the chunks, without decoding payloads."""

from __future__ import annotations

import json

import numpy as np
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


def test_adaptive_files_list_their_active_blocks_from_the_decisions_alone(monkeypatch, make_header):
    """Coder 3: blocks with bits per iteration (only the stop decisions are decoded); other coders: no key."""
    from rnncodec.formats import spec, write_bytes
    from rnncodec.formats.coders import get_coder

    header = make_header(width=64, height=48, iterations=4, coder="adaptive")  # 4 × 3 blocks
    codes = [np.ones(header.code_shape, np.uint8) for _ in range(4)]
    codes[1][:, 0, :2] = codes[2][:, 0, :2] = codes[3][:, 0, :2] = spec.STOPPED
    codes[3][:, 2, :] = spec.STOPPED
    data = write_bytes(header, codes)
    monkeypatch.setattr(type(get_coder("adaptive")), "decode", lambda *args: pytest.fail("payload decoded"))
    assert info(data)["active_blocks"] == [12, 10, 10, 6]
    assert info(data[:-40])["active_blocks"] == [12, 10, 10]  # cut inside the last iteration
    assert "active_blocks" not in info(write_bytes(header.replace(coder="context"), [c % 2 for c in codes]))
