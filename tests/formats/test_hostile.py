"""Hostile input: declared sizes never allocate; memory stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from rnncodec.formats import CorruptChunkError, LimitExceededError, Limits, StreamReader, spec
from rnncodec.formats.chunks import pack_chunk
from rnncodec.formats.header import encode_varint

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from rnncodec.formats import Limits, RNCError, read, spec
    from rnncodec.formats.chunks import pack_chunk
    from rnncodec.formats.header import encode_varint

    side = 2**31
    rhdr = bytes([1]) + encode_varint(side) * 2 + bytes([3, 32, 0, 1, 16]) + bytes(16) + b"g16"
    # a RITR head declaring the largest length, then a little data
    data = spec.SIGNATURE + pack_chunk(b"RHDR", rhdr) + b"\\x7f\\xff\\xff\\xffRITR" + bytes(4096)
    results = {}
    for name, limits in [("default", None),
                         ("unlimited", Limits(max_width=2**32, max_height=2**32, max_pixels=2**64,
                                            max_code_bits=2**80))]:
        try:
            read(data, limits=limits)
        except RNCError as exc:
            results[name] = type(exc).__name__
    # Linux keeps a parent's peak in ru_maxrss across fork + exec (the test runner may hold torch),
    # so the child's own peak comes from VmHWM where /proc has it, else from getrusage.
    try:
        with open("/proc/self/status") as status:
            peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except OSError:
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results["maxrss_mb"] = peak_kb / 1024
    print(json.dumps(results))
    """
)


def test_a_2_31_square_header_stays_under_200_mb():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert results["default"] == "LimitExceededError"
    assert results["unlimited"] == "TruncatedFileError"  # nothing allocated from the claims
    assert results["maxrss_mb"] < 200, results


def _start(header_bytes: bytes) -> bytes:
    return spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header_bytes)


def test_chunk_heads_are_checked_before_their_data(make_header):
    header = make_header(coder="zstd")
    reader = StreamReader()
    reader.feed(_start(header.to_bytes()))
    cap = header.payload_bytes + spec.ITERATION_PAYLOAD_SLACK
    with pytest.raises(CorruptChunkError, match=f"more than the {cap} bytes"):
        reader.feed((cap + 1).to_bytes(4, "big") + spec.CHUNK_ITERATION)
    with pytest.raises(CorruptChunkError, match="more than the 64 bytes a header"):
        StreamReader().feed(spec.SIGNATURE + (65).to_bytes(4, "big") + spec.CHUNK_HEADER)
    with pytest.raises(CorruptChunkError, match="2147483647 bytes any chunk"):
        StreamReader().feed(spec.SIGNATURE + (2**31).to_bytes(4, "big") + spec.CHUNK_HEADER)


def test_limits_are_configurable(make_header):
    data = _start(make_header(width=5000, height=5000).to_bytes())
    with pytest.raises(LimitExceededError, match="max_pixels = 25000000 > 1000000"):
        StreamReader(limits=Limits(max_pixels=10**6)).feed(data)
    StreamReader().feed(data)  # within the defaults


def test_width_height_over_defaults(make_header):
    for fields, limit in [({"width": 65536}, "max_width"), ({"height": 65536}, "max_height")]:
        with pytest.raises(LimitExceededError, match=limit):
            StreamReader().feed(_start(make_header(**fields).to_bytes()))
    rhdr = bytes([1]) + encode_varint(60000) * 2 + make_header().to_bytes()[3:]
    with pytest.raises(LimitExceededError, match="max_pixels = 3600000000 > 268435456"):
        StreamReader().feed(_start(rhdr))


def test_the_work_budget_refuses_a_header_asking_for_too_many_code_bits(make_header):
    # 65535×4096 pixels, 64 iterations of 32 bits per block: 2³¹ code bits, a few hundred bytes of file
    header = make_header(width=65535, height=4096, iterations=64, bits_per_block=32, coder="context")
    with pytest.raises(LimitExceededError, match="max_code_bits = 2147483648 > 268435456") as caught:
        StreamReader().feed(_start(header.to_bytes()))
    assert caught.value.limit == "max_code_bits" and caught.value.offset == 8
    small = Limits(max_code_bits=header.code_bits // 64)
    with pytest.raises(LimitExceededError, match="max_code_bits"):
        StreamReader(limits=small).feed(_start(header.replace(iterations=2).to_bytes()))
    StreamReader(limits=small).feed(_start(header.replace(iterations=1).to_bytes()))


def test_tiles_under_the_minimum_are_refused(make_header):
    header = make_header(width=768, height=512, tile_size=16)
    with pytest.raises(LimitExceededError, match="under a limit: 16 < min_tile_size = 128 in chunk RHDR"):
        StreamReader().feed(_start(header.to_bytes()))
    for tile_size in (0, 128, 1024):
        StreamReader().feed(_start(header.replace(tile_size=tile_size).to_bytes()))
    StreamReader(limits=Limits(min_tile_size=16)).feed(_start(header.to_bytes()))


def test_limits_check_a_header_before_it_is_written(make_header):
    with pytest.raises(LimitExceededError, match="max_pixels"):
        Limits(max_pixels=100).check(make_header(width=20, height=10))
    Limits().check(make_header(width=20, height=10))
