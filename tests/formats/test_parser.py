"""The push parser: events, incremental feeding, chunk rules and limits."""

from __future__ import annotations

import pytest

from rnncodec.formats import (
    AlphaEvent,
    AncillaryEvent,
    CorruptChunkError,
    EndEvent,
    HeaderEvent,
    IterationEvent,
    LimitExceededError,
    Limits,
    MetadataEvent,
    NotRNCError,
    StreamReader,
    TruncatedFileError,
    UnknownCriticalChunkError,
    spec,
    write_bytes,
)
from rnncodec.formats.chunks import pack_chunk


def _summary(events):
    return [(type(e).__name__, e.chunk.offset, getattr(e, "index", None)) for e in events]


def test_events_of_a_whole_file(file16):
    data, header, *_ = file16
    reader = StreamReader()
    events = reader.feed(data)
    reader.close()
    kinds = [type(e) for e in events]
    assert kinds == [HeaderEvent, MetadataEvent, AlphaEvent] + [IterationEvent] * 16 + [EndEvent]
    assert events[0].header == header and events[0].chunk.offset == 8
    assert [e.index for e in events if isinstance(e, IterationEvent)] == list(range(1, 17))
    assert reader.ended and reader.offset == reader.received == len(data)
    assert reader.bytes_needed == 0


@pytest.mark.parametrize("step", [1, 3, 7, 64])
def test_feeding_in_pieces_gives_the_same_events(file16, step):
    data = file16[0]
    reader = StreamReader()
    events = []
    for start in range(0, len(data), step):
        events += reader.feed(data[start : start + step])
    reader.close()
    whole = StreamReader().feed(data)
    assert _summary(events) == _summary(whole)


def test_bytes_needed_reads_exactly_one_step_at_a_time(file16):
    data = file16[0]
    reader, pos, events = StreamReader(), 0, []
    assert reader.bytes_needed == 8
    while reader.bytes_needed:
        need = reader.bytes_needed
        events += reader.feed(data[pos : pos + need])
        pos += need
    assert pos == len(data) and isinstance(events[-1], EndEvent)


def test_errors_come_as_soon_as_the_bytes_show_them(make_header):
    with pytest.raises(NotRNCError):
        StreamReader().feed(b"\x89RNX")  # four bytes are enough
    head = spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, make_header().to_bytes())
    reader = StreamReader()
    reader.feed(head)
    with pytest.raises(CorruptChunkError, match="length 2147483647 is more than the 0 bytes REND"):
        reader.feed(b"\x7f\xff\xff\xffREND")  # just the 8-byte head, no data


@pytest.mark.parametrize(
    "middle, error, message",
    [
        (pack_chunk(b"XTRA", b""), UnknownCriticalChunkError, "unknown critical chunk XTRA at byte"),
        (pack_chunk(b"RHDR", b""), CorruptChunkError, "a second RHDR"),
        (b"\x00\x00\x00\x00R1TR", CorruptChunkError, "invalid chunk type"),
        (pack_chunk(b"mETa", b"{}") * 2, CorruptChunkError, "a second chunk of this type"),
        (pack_chunk(b"mETa", b"\xff"), CorruptChunkError, "not UTF-8 JSON"),
        (pack_chunk(b"mETa", b'{"a": NaN}'), CorruptChunkError, "NaN is not valid JSON"),
        (pack_chunk(b"mETa", b"[" * 60000), CorruptChunkError, "nested too deeply|not UTF-8 JSON"),
        (pack_chunk(b"aLPh", b"\x00") * 2, CorruptChunkError, "a second chunk of this type"),
    ],
)
def test_chunk_rules(make_header, middle, error, message):
    header = make_header(iterations=0)
    data = spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header.to_bytes()) + middle
    with pytest.raises(error, match=message):
        StreamReader().feed(data + pack_chunk(spec.CHUNK_END, b""))


def test_unknown_ancillary_chunks_are_skipped_and_limited(make_header):
    header = make_header(iterations=0)
    start = spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header.to_bytes())
    end = pack_chunk(spec.CHUNK_END, b"")
    events = StreamReader().feed(start + pack_chunk(b"xTRa", b"hello") + end)
    assert isinstance(events[1], AncillaryEvent) and events[1].chunk.data == b"hello"
    with pytest.raises(CorruptChunkError, match=f"bad CRC in chunk xTRa at byte {len(start)}"):
        StreamReader().feed(start + pack_chunk(b"xTRa", b"hello")[:-1] + b"\x00" + end)
    limits = Limits(max_unknown_chunk_bytes=4, max_ancillary_chunks=2, max_metadata_bytes=1)
    with pytest.raises(LimitExceededError, match="max_unknown_chunk_bytes = 5 > 4"):
        StreamReader(limits=limits).feed(start + pack_chunk(b"xTRa", b"hello"))
    with pytest.raises(LimitExceededError, match="max_ancillary_chunks = 3 > 2"):
        StreamReader(limits=limits).feed(start + pack_chunk(b"xTRa", b"") * 3)
    with pytest.raises(LimitExceededError, match="max_metadata_bytes = 2 > 1"):
        StreamReader(limits=limits).feed(start + pack_chunk(b"mETa", b"{}"))


def test_trailing_bytes(make_header, make_codes):
    header = make_header(iterations=1)
    data = write_bytes(header, make_codes(header))
    lenient = StreamReader(strict=False)
    lenient.feed(data + b"junk")
    lenient.feed(b"more")
    lenient.close()
    assert lenient.trailing_bytes == 8 and not lenient.truncated
    strict = StreamReader()
    strict.feed(data)
    with pytest.raises(CorruptChunkError, match=f"3 bytes of trailing data after REND at byte {len(data)}"):
        strict.feed(b"xyz")


def test_close(make_header, make_codes):
    header = make_header(iterations=2)
    data = write_bytes(header, make_codes(header))
    reader = StreamReader(strict=False)
    reader.feed(data[:-20])
    reader.close()
    assert reader.truncated and reader.complete_iterations == 1
    with pytest.raises(ValueError, match="after close"):
        reader.feed(b"")
    strict = StreamReader()
    strict.feed(data[:-20])
    with pytest.raises(TruncatedFileError) as info:
        strict.close()
    assert info.value.offset == len(data) - 20 and info.value.complete_iterations == 1
    assert isinstance(info.value, EOFError)
