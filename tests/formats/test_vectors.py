"""The conformance vectors: every file gives its manifest outcome; the files are up to date."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rnncodec.formats import RNCError, read
from conformance_vectors import build_vectors, write_vectors

VECTORS = Path(__file__).resolve().parents[2] / "formats" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))


def outcome(data: bytes, strict: bool) -> dict:
    """What reading ``data`` completely gives, in the manifest's terms."""
    try:
        rnc = read(data, strict=strict)
        codes = rnc.codes()
        alpha = rnc.alpha
    except RNCError as exc:
        return {"error": type(exc).__name__}
    header = rnc.header
    adaptive = header.coder == "adaptive"  # codes with STOPPED (2): a byte a value
    packed = hashlib.sha256(b"".join(code.tobytes() if adaptive else np.packbits(code).tobytes() for code in codes))
    return {
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "coder": header.coder,
        "architecture": header.architecture,
        "iterations": rnc.iterations,
        "iterations_declared": header.iterations,
        "truncated": rnc.truncated,
        "metadata": rnc.metadata,
        "codes_sha256": packed.hexdigest(),
        "alpha_sha256": None if alpha is None else hashlib.sha256(alpha.tobytes()).hexdigest(),
    }


@pytest.mark.parametrize("entry", MANIFEST["vectors"], ids=lambda entry: entry["file"])
def test_vector(entry):
    data = (VECTORS / entry["file"]).read_bytes()
    assert len(data) == entry["bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert outcome(data, strict=True) == entry["strict"]
    assert outcome(data, strict=False) == entry["lenient"]


def test_the_vectors_cover_the_issue():
    names = {entry["file"] for entry in MANIFEST["vectors"]}
    errors = {entry["strict"].get("error") for entry in MANIFEST["vectors"]}
    assert {"NotRNCError", "CorruptChunkError", "TruncatedFileError", "UnsupportedVersionError",
            "UnknownCriticalChunkError", "LimitExceededError", "UnsupportedCoderError"} <= errors
    iterations = {entry["strict"].get("iterations") for entry in MANIFEST["vectors"]}
    assert {0, 1, 2, 16} <= iterations
    assert {"bad-signature.rnc", "bad-header-crc.rnc", "bad-iteration-crc.rnc", "cut-inside-iteration.rnc",
            "iterations-out-of-order.rnc", "unknown-critical-chunk.rnc", "valid-unknown-ancillary.rnc",
            "absurd-dimensions.rnc", "zstd-bomb-declared-size.rnc", "trailing-garbage.rnc"} <= names


def test_committed_vectors_are_what_the_generator_writes(tmp_path):
    write_vectors(tmp_path)
    generated = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in VECTORS.iterdir() if p.suffix in (".rnc", ".json"))
    assert generated == committed
    for name in generated:
        assert (tmp_path / name).read_bytes() == (VECTORS / name).read_bytes(), name
    assert len(build_vectors()) == len(MANIFEST["vectors"])
