"""read(): round trips, sources, cuts at every offset, read_header."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncodec.formats import (
    CorruptChunkError,
    Header,
    RNCError,
    TruncatedFileError,
    read,
    read_header,
    spec,
    write_bytes,
)
from rnncodec.formats.chunks import pack_chunk
from rnncodec.formats.reader import READ_BLOCK_BYTES


@st.composite
def files(draw):
    header = Header(
        width=draw(st.integers(1, 70)),
        height=draw(st.integers(1, 70)),
        mode=draw(st.sampled_from(["L", "RGB"])),
        iterations=draw(st.integers(0, 5)),
        weights_id=draw(st.binary(min_size=32, max_size=32)),
        architecture=draw(st.sampled_from(["g16", "x", "conv-gru.v2_1"])),
        bits_per_block=draw(st.sampled_from([1, 7, 8, 32, 255])),
        tile_size=draw(st.sampled_from([0, 128, 256])),
        coder=draw(st.sampled_from(["raw", "zstd"])),
    )
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    codes = [(rng.random(header.code_shape) < density).astype(np.uint8) for _ in range(header.iterations)]
    metadata = draw(st.none() | st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                                                max_size=3))
    return header, codes, metadata


@settings(max_examples=150, deadline=None)
@given(files())
def test_round_trip_is_bit_identical(case):
    header, codes, metadata = case
    data = write_bytes(header, codes, metadata)
    rnc = read(data)
    assert rnc.header == header and rnc.metadata == metadata and not rnc.truncated
    decoded = rnc.codes()
    assert len(decoded) == len(codes)
    for got, want in zip(decoded, codes):
        assert got.dtype == np.uint8 and np.array_equal(got, want)
    assert rnc.file_bytes == len(data)
    assert sum(rnc.bytes_per_iteration) == sum(len(p) + 12 for p in rnc.payloads)


def test_sources_bytes_path_and_file_object(tmp_path, file16):
    data = file16[0]
    path = tmp_path / "x.rnc"
    path.write_bytes(data)
    results = [read(data), read(bytearray(data)), read(memoryview(data)), read(path), read(str(path))]
    with open(path, "rb") as fileobj:
        results.append(read(fileobj))
    assert len({tuple(r.payloads) for r in results}) == 1


class CappedReads(io.BytesIO):
    """A file object that fails on unbounded reads and records the sizes asked for."""

    def __init__(self, data):
        super().__init__(data)
        self.sizes = []

    def read(self, size=-1):
        assert size is not None and 0 < size <= READ_BLOCK_BYTES, size
        self.sizes.append(size)
        return super().read(size)


def test_file_objects_are_read_in_bounded_blocks(file16):
    source = CappedReads(file16[0])
    read(source)
    assert source.sizes


def test_read_header_reads_only_the_header(file16):
    data, header, *_ = file16
    source = CappedReads(data)
    assert read_header(source) == header
    assert source.tell() == 8 + 12 + len(header.to_bytes())
    assert read_header(data) == header
    with pytest.raises(TruncatedFileError, match="inside chunk RHDR"):
        read_header(data[:30])


def test_codes_of_the_first_k(file16):
    data, header, codes, *_ = file16
    rnc = read(data)
    assert len(rnc.codes(0)) == 0 and len(rnc.codes(3)) == 3
    assert np.array_equal(rnc.codes(5)[4], codes[4])
    with pytest.raises(ValueError, match="17 iterations asked, the file has 16"):
        rnc.codes(17)
    assert "16/16 iterations" in repr(rnc)


def test_a_payload_that_does_not_decode_names_its_chunk(make_header, make_codes):
    header = make_header(iterations=1, coder="raw", width=17, height=1)  # 64 bits, 8 bytes
    data = write_bytes(header, make_codes(header))
    start = 8 + 12 + len(header.to_bytes())
    bad = pack_chunk(spec.CHUNK_ITERATION, b"\x00" * 7, index=1)
    data = data[:start] + bad + pack_chunk(spec.CHUNK_END, b"")
    rnc = read(data)
    with pytest.raises(CorruptChunkError, match=f"7 bytes, expected 8 in chunk RITR #1 at byte {start}"):
        rnc.codes()


def _complete_before(cut: int, chunks) -> int:
    return sum(1 for c in chunks if c.type == b"RITR" and c.offset + c.size <= cut)


def test_cut_at_every_offset(file16):
    """Strict: only TruncatedFileError.  Lenient: exactly the complete iterations before the cut."""
    data, header, codes, metadata, alpha = file16
    chunks = read(data).chunks
    header_end = chunks[0].offset + chunks[0].size
    for cut in range(len(data)):
        piece = data[:cut]
        with pytest.raises(TruncatedFileError) as info:
            read(piece)
        expected = _complete_before(cut, chunks)
        assert info.value.complete_iterations == expected and info.value.offset == cut
        if cut < header_end:
            with pytest.raises(TruncatedFileError):
                read(piece, strict=False)
            continue
        rnc = read(piece, strict=False)
        assert rnc.truncated and rnc.iterations == expected and rnc.file_bytes == cut
        if cut in (c.offset for c in chunks) or expected == 16:  # decode at chunk boundaries only
            assert all(np.array_equal(a, b) for a, b in zip(rnc.codes(), codes))
    assert not read(data).truncated


def test_every_error_is_typed_and_one_line(file16):
    data = file16[0]
    for bad in (b"", b"GIF89a", data[:-1], data + b"x", data[:8] + data[9:]):
        with pytest.raises(RNCError) as info:
            read(bad)
        assert "\n" not in str(info.value)
