"""Streaming writer."""

from __future__ import annotations

import io

import numpy as np
import pytest

from rnncodec.formats import (
    HeaderEvent,
    IterationEvent,
    RNCWriter,
    StreamReader,
    read,
    spec,
    write_bytes,
)


class RecordingFile(io.BytesIO):
    """A BytesIO that remembers what had been written at each flush."""

    def __init__(self):
        super().__init__()
        self.flushed: list[bytes] = []

    def flush(self):
        self.flushed.append(self.getvalue())


def test_each_iteration_is_flushed_and_parseable_before_the_next(make_header, make_codes):
    header = make_header(iterations=3, coder="zstd")
    codes = make_codes(header)
    out = RecordingFile()
    with RNCWriter(out, header) as writer:
        reader = StreamReader()
        events = reader.feed(out.flushed[-1])
        assert [type(e) for e in events] == [HeaderEvent]
        for k, bits in enumerate(codes, start=1):
            size = writer.write_iteration(bits)
            new = out.flushed[-1][reader.received:]
            assert len(new) == size
            (event,) = reader.feed(new)
            assert isinstance(event, IterationEvent) and event.index == k
            assert np.array_equal(event.decode(codes), bits)
    reader.feed(out.getvalue()[reader.received:])
    reader.close()
    assert reader.ended and not reader.truncated


def test_count_is_checked(make_header, make_codes):
    header = make_header(iterations=2)
    codes = make_codes(header, count=3)
    writer = RNCWriter(io.BytesIO(), header)
    writer.write_iteration(codes[0])
    with pytest.raises(ValueError, match="1 iterations written, the header declares 2"):
        writer.close()
    writer.write_iteration(codes[1])
    with pytest.raises(ValueError, match="declares 2 iterations"):
        writer.write_iteration(codes[2])
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write_iteration(codes[0])
    with pytest.raises(ValueError, match="declares"):
        write_bytes(header, codes)


def test_an_exception_leaves_a_truncated_file(make_header, make_codes):
    header = make_header(iterations=3)
    codes = make_codes(header)
    out = io.BytesIO()
    with pytest.raises(RuntimeError):
        with RNCWriter(out, header) as writer:
            writer.write_iteration(codes[0])
            raise RuntimeError("encoder crashed")
    rnc = read(out.getvalue(), strict=False)
    assert rnc.truncated and rnc.iterations == 1


@pytest.mark.parametrize(
    "bad, reason",
    [
        (np.zeros((32, 2, 2), np.uint8), "shape"),
        (np.full((32, 2, 3), 2, np.uint8), "0 or 1"),
        (np.full((32, 2, 3), -1, np.int64), "0 or 1"),
        (np.zeros((32, 2, 3), np.float32), "dtype"),
    ],
)
def test_bad_codes_are_refused(make_header, bad, reason):
    writer = RNCWriter(io.BytesIO(), make_header(width=40, height=20))
    with pytest.raises(ValueError, match=reason):
        writer.write_iteration(bad)


def test_bool_and_int_codes_are_accepted(make_header, make_codes):
    header = make_header(iterations=2)
    codes = make_codes(header)
    data = write_bytes(header, [codes[0].astype(bool), codes[1].astype(np.int64)])
    assert data == write_bytes(header, codes)


def test_metadata_and_alpha_come_right_after_the_header(make_header, make_codes):
    header = make_header(width=5, height=3, iterations=1)
    alpha = np.arange(15, dtype=np.uint8).reshape(3, 5)
    rnc = read(write_bytes(header, make_codes(header), {"source_name": "é.png"}, alpha))
    assert [c.type for c in rnc.chunks] == [spec.CHUNK_HEADER, spec.CHUNK_METADATA, spec.CHUNK_ALPHA,
                                             spec.CHUNK_ITERATION, spec.CHUNK_END]
    assert rnc.metadata == {"source_name": "é.png"} and np.array_equal(rnc.alpha, alpha)


@pytest.mark.parametrize(
    "metadata, alpha, reason",
    [
        (["not", "a", "dict"], None, "mapping"),
        ({"x": "y" * 70000}, None, "more than 65536"),
        ({"x": float("nan")}, None, "JSON compliant"),
        (None, np.zeros((4, 5), np.uint8), "shape"),
        (None, np.zeros((3, 5), np.float32), "uint8"),
    ],
)
def test_bad_metadata_or_alpha(make_header, metadata, alpha, reason):
    with pytest.raises(ValueError, match=reason):
        RNCWriter(io.BytesIO(), make_header(width=5, height=3), metadata, alpha)


@pytest.mark.parametrize("iterations", [0, 1, 16, 64])
@pytest.mark.parametrize("side", [1, 255, 16383])
def test_container_overhead(make_header, iterations, side):
    """Everything but the payloads fits in 64 + 12 per iteration (sides < 16384, names ≤ 6)."""
    header = make_header(width=side, height=side // 3 + 1, iterations=iterations, architecture="abcdef",
                         bits_per_block=1, mode="L")
    codes = [np.zeros(header.code_shape, np.uint8)] * iterations
    data = write_bytes(header, codes)
    overhead = len(data) - iterations * header.payload_bytes
    assert overhead <= 64 + 12 * iterations
