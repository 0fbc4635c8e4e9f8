"""Payload coders and their registry."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rnncodec.formats import Coder, get_coder, read, register_coder, spec, write_bytes
from rnncodec.formats.coders.zstd import zstd
from rnncodec.formats import coders as coders_module
from rnncodec.formats.coders import RawCoder, coder_by_id, coder_names, packed_size

shapes = st.tuples(st.integers(1, 40), st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["raw", "zstd"]), shapes.flatmap(
    lambda shape: hnp.arrays(np.uint8, shape, elements=st.integers(0, 1))))
def test_round_trip_is_bit_identical(name, bits):
    coder = get_coder(name)
    payload = coder.encode(bits, [])
    assert len(payload) <= coder.max_payload_bytes(bits.shape)
    decoded = coder.decode(payload, bits.shape, [])
    assert decoded.dtype == np.uint8 and decoded.shape == bits.shape
    assert np.array_equal(decoded, bits)


def test_raw_payload_is_packbits_and_checks_its_size_and_padding():
    bits = np.ones((3, 1, 1), dtype=np.uint8)
    coder = get_coder("raw")
    assert coder.encode(bits, []) == b"\xe0"
    assert packed_size((3, 1, 1)) == 1
    with pytest.raises(ValueError, match="padding bits"):
        coder.decode(b"\xe1", (3, 1, 1), [])
    with pytest.raises(ValueError, match="2 bytes, expected 1"):
        coder.decode(b"\xe0\x00", (3, 1, 1), [])


def _frame(declared: int, body: bytes) -> bytes:
    return spec.ZSTD_MAGIC + b"\xe0" + declared.to_bytes(8, "little") + body


@pytest.mark.parametrize(
    "payload, reason",
    [
        (b"", "bad magic"),
        (b"\x28\xb5\x2f\xfd", "bad zstd frame header"),
        (_frame(2**40, b""), "declares 1099511627776 bytes"),
        (zstd.ZstdCompressor(options={zstd.CompressionParameter.content_size_flag: 0}).compress(
            bytes(4), zstd.ZstdCompressor.FLUSH_FRAME), "declares no size"),
        (zstd.compress(bytes(4)) + b"x", "does not decode"),
        (_frame(4, b"\x20\x00\x00abcd"), "does not decode"),  # a non-last block, frame unfinished
    ],
)
def test_zstd_refuses_bad_frames(payload, reason):
    with pytest.raises(ValueError, match=reason):
        get_coder("zstd").decode(payload, (32, 1, 1), [])


def test_zstd_refuses_dictionary_frames():
    frame = zstd.compress(bytes(4))
    assert frame[4] == 0x20  # single segment, 1-byte content size, no dictionary id
    with_dict_id = frame[:4] + b"\x21\x07" + frame[5:]  # Dictionary_ID_flag 1: id 7
    with pytest.raises(ValueError, match="needs dictionary 7"):
        get_coder("zstd").decode(with_dict_id, (32, 1, 1), [])


def test_registry():
    assert coder_names()[:2] == ["raw", "zstd"]
    assert coder_by_id(spec.CODER_RAW).name == "raw" and coder_by_id(99) is None
    with pytest.raises(ValueError, match="unknown coder 'lzma'; known: raw, zstd"):
        get_coder("lzma")
    with pytest.raises(ValueError, match="already registered"):
        register_coder(RawCoder())

    class TooBig(RawCoder):
        id, name = 256, "too-big"

    with pytest.raises(ValueError, match="does not fit"):
        register_coder(TooBig())


class XorPreviousCoder(Coder):
    """A toy context coder: iteration t is stored XOR iteration t-1 (uses the history)."""

    id = 200
    name = "xor-previous"
    uses_history = True

    def encode(self, bits, previous):
        reference = previous[-1] if previous else np.zeros_like(bits)
        return get_coder("raw").encode(bits ^ reference, [])

    def decode(self, payload, shape, previous):
        reference = previous[-1] if previous else np.zeros(shape, np.uint8)
        return get_coder("raw").decode(payload, shape, []) ^ reference


def test_a_context_coder_plugs_into_writer_and_reader(monkeypatch, make_header, make_codes):
    monkeypatch.setattr(coders_module, "_BY_ID", dict(coders_module._BY_ID))
    monkeypatch.setattr(coders_module, "_BY_NAME", dict(coders_module._BY_NAME))
    register_coder(XorPreviousCoder())
    header = make_header(coder="xor-previous", iterations=4)
    codes = make_codes(header)
    data = write_bytes(header, codes)
    assert data[8 + 8 + 6] == 200  # the coder byte of RHDR (one-byte varints)
    decoded = read(data).codes()
    assert all(np.array_equal(a, b) for a, b in zip(decoded, codes))
    assert read(data).payloads[1] == get_coder("raw").encode(codes[1] ^ codes[0], [])
