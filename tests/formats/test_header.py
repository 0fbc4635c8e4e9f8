"""Header: validation, geometry, RHDR serialisation and parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnncodec.formats import (
    CorruptChunkError,
    Header,
    LimitExceededError,
    Limits,
    UnsupportedCoderError,
    UnsupportedVersionError,
    spec,
)
from rnncodec.formats.header import decode_varint, encode_varint


@given(st.integers(0, spec.MAX_DIMENSION))
def test_varint_round_trip_is_minimal(value):
    data = encode_varint(value)
    assert decode_varint(data + b"tail", 0) == (value, len(data))
    assert len(data) == max(1, -(-value.bit_length() // 7))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x80", "runs past the end"),
        (b"\x80\x00", "not minimal"),
        (b"\xff\xff\xff\xff\x10", r"2\^32 or more"),
        (b"\x80\x80\x80\x80\x80\x01", "longer than 5 bytes"),
    ],
)
def test_bad_varints(data, reason):
    with pytest.raises(ValueError, match=reason):
        decode_varint(data, 0)


headers = st.builds(
    Header,
    width=st.integers(1, spec.MAX_DIMENSION),
    height=st.integers(1, spec.MAX_DIMENSION),
    mode=st.sampled_from(["L", "RGB"]),
    iterations=st.integers(0, 255),
    weights_id=st.binary(min_size=16, max_size=16),
    architecture=st.text(spec.ARCHITECTURE_ALPHABET, min_size=1, max_size=16),
    bits_per_block=st.integers(1, 255),
    tile_size=st.sampled_from([0] + [2**k for k in range(4, 16)]),
    coder=st.sampled_from(["raw", "zstd"]),
)
NO_LIMITS = Limits(max_width=spec.MAX_DIMENSION, max_height=spec.MAX_DIMENSION,
                   max_pixels=spec.MAX_DIMENSION**2, max_iterations=255, max_code_bits=2**80, min_tile_size=16)


@given(headers)
def test_rhdr_round_trip(header):
    data = header.to_bytes()
    assert len(data) <= spec.MAX_HEADER_BYTES
    assert Header.parse(data, offset=8, limits=NO_LIMITS) == header


def test_geometry(make_header):
    header = make_header(width=17, height=33, bits_per_block=32)
    assert header.code_shape == (32, 3, 2)
    assert header.padding == (48 - 33, 32 - 17)
    assert header.payload_bytes == 32 * 3 * 2 // 8
    assert header.channels == 3 and make_header(mode="L").channels == 1
    assert make_header(width=1, height=1, bits_per_block=3).payload_bytes == 1


def test_weights_id_keeps_the_first_16_bytes_of_a_sha256(make_header):
    digest = bytes(range(32))
    assert make_header(weights_id=digest).weights_id == digest[:16]
    assert make_header(weights_id=digest[:16]).weights_id == digest[:16]


@pytest.mark.parametrize(
    "field, value",
    [
        ("width", 0), ("height", 2**32), ("mode", "RGBA"), ("iterations", 256),
        ("bits_per_block", 0), ("tile_size", 8), ("tile_size", 48), ("tile_size", 2**16),
        ("coder", "lzma"), ("architecture", ""), ("architecture", "Big"),
        ("architecture", "a" * 17), ("weights_id", b"short"),
    ],
)
def test_invalid_fields_raise_value_error(make_header, field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        make_header(**{field: value})


def test_replace_validates(make_header):
    header = make_header()
    assert header.replace(iterations=1).iterations == 1
    with pytest.raises(ValueError):
        header.replace(iterations=-1)


@pytest.mark.parametrize(
    "position, value, error, message",
    [  # width 40, height 24: one varint byte each, so the u8 fields start at byte 3
        (0, 2, UnsupportedVersionError, "version 2.*byte 8"),
        (3, 2, CorruptChunkError, "mode 2"),
        (4, 0, CorruptChunkError, "bits_per_block 0"),
        (5, 3, CorruptChunkError, "tile_log2 3"),
        (6, 255, UnsupportedCoderError, "coder id 255"),
        (7, 65, LimitExceededError, "max_iterations = 65 > 64"),
    ],
)
def test_bad_fields(make_header, position, value, error, message):
    data = bytearray(make_header().to_bytes())
    data[position] = value
    with pytest.raises(error, match=message):
        Header.parse(bytes(data), offset=8)


def test_bad_lengths(make_header):
    header = make_header()
    with pytest.raises(CorruptChunkError, match="too short"):
        Header.parse(header.to_bytes()[:20], offset=8)
    with pytest.raises(CorruptChunkError, match="empty header"):
        Header.parse(b"", offset=8)
    with pytest.raises(CorruptChunkError, match="architecture"):
        Header.parse(header.to_bytes() + b"\xff", offset=8)


def test_parse_checks_limits(make_header):
    small = Limits(max_width=39, max_height=23, max_pixels=100)
    with pytest.raises(LimitExceededError, match="max_width") as info:
        Header.parse(make_header().to_bytes(), offset=8, limits=small)
    assert (info.value.limit, info.value.value, info.value.maximum) == ("max_width", 40, 39)
    with pytest.raises(LimitExceededError, match="max_height"):
        Header.parse(make_header(width=39).to_bytes(), offset=8, limits=small)
    with pytest.raises(LimitExceededError, match="max_pixels = 897 > 100"):
        Header.parse(make_header(width=39, height=23).to_bytes(), offset=8, limits=small)
