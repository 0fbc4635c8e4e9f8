"""SPEC.md and spec.py must define the same constants with the same values."""

from __future__ import annotations

import re
from pathlib import Path

from rnncodec.formats import spec

SPEC_MD = Path(spec.__file__).with_name("SPEC.md")
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| `([^`]*)` \|$", re.MULTILINE)


def _spec_constants() -> dict[str, object]:
    return {name: value for name, value in vars(spec).items() if name.isupper()}


def _as_markdown(value: object) -> str:
    """How the Constants table of SPEC.md writes a value."""
    if isinstance(value, bytes):
        if len(value) == 4 and value.isalpha():
            return value.decode("ascii")
        return " ".join(f"{b:02X}" for b in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _table() -> dict[str, str]:
    section = SPEC_MD.read_text(encoding="utf-8").split("## 13. Constants", 1)[1].split("\n## ", 1)[0]
    return dict(ROW.findall(section))


def test_every_constant_is_in_the_spec_table_with_its_value():
    table = _table()
    constants = _spec_constants()
    assert set(table) == set(constants)
    for name, value in constants.items():
        assert table[name] == _as_markdown(value), name


def test_spec_names_its_version_and_signature_in_the_text():
    text = SPEC_MD.read_text(encoding="utf-8")
    assert f"version {spec.FORMAT_VERSION}" in text.splitlines()[0]
    assert "89 52 4E 43 0D 0A 1A 0A" in text
    for chunk_type in (spec.CHUNK_HEADER, spec.CHUNK_ITERATION, spec.CHUNK_END,
                       spec.CHUNK_METADATA, spec.CHUNK_ALPHA):
        assert f"`{chunk_type.decode()}`" in text


def test_coder_ids_in_the_spec_match_the_registry():
    from rnncodec.formats.coders import coder_by_id

    text = SPEC_MD.read_text(encoding="utf-8")
    for coder_id in (spec.CODER_RAW, spec.CODER_ZSTD, spec.CODER_CONTEXT):
        coder = coder_by_id(coder_id)
        assert re.search(rf"^\| {coder_id} \| `CODER_\w+` \| {coder.name} \|", text, re.MULTILINE)


def test_chunk_type_bits_follow_png():
    from rnncodec.formats.chunks import is_ancillary, is_safe_to_copy

    for critical in (spec.CHUNK_HEADER, spec.CHUNK_ITERATION, spec.CHUNK_END):
        assert not is_ancillary(critical) and not critical[2] & 0x20
    for ancillary in (spec.CHUNK_METADATA, spec.CHUNK_ALPHA):
        assert is_ancillary(ancillary) and is_safe_to_copy(ancillary) and not ancillary[2] & 0x20


def test_signature_has_png_properties():
    sig = spec.SIGNATURE
    assert len(sig) == 8 and sig[0] & 0x80 and sig[4:] == b"\r\n\x1a\n"
