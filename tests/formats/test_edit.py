"""truncate / truncate_to: byte-level, byte-identical to writing fewer iterations."""

from __future__ import annotations

import io

import pytest

from rnncodec.formats import (TruncatedFileError, UnreachableTargetError, iterations_within, read, spec, truncate,
                              truncate_to, truncation_sizes, write_bytes)
from rnncodec.formats.chunks import pack_chunk


def test_truncate_k_is_byte_identical_to_writing_k(file16):
    data, header, codes, metadata, alpha = file16
    for k in range(17):
        expected = write_bytes(header.replace(iterations=k), codes[:k], metadata, alpha)
        assert truncate(data, k) == expected, k
    assert truncate(data, 16) == data


def test_truncate_sizes_follow_bytes_per_iteration(file16):
    data = file16[0]
    per_iteration = read(data).bytes_per_iteration
    for k in (0, 5, 16):
        assert len(truncate(data, k)) == len(data) - sum(per_iteration[k:])


def test_truncate_composes(file16):
    data = file16[0]
    assert truncate(truncate(data, 9), 4) == truncate(data, 4)


def test_truncate_to_streams_to_a_file_object(tmp_path, file16):
    data = file16[0]
    path = tmp_path / "in.rnc"
    path.write_bytes(data)
    out = io.BytesIO()
    assert truncate_to(path, out, 3) == len(out.getvalue())
    assert out.getvalue() == truncate(data, 3)


def test_bad_counts(file16):
    data = file16[0]
    with pytest.raises(ValueError, match="cannot keep 17 iterations: the file has 16"):
        truncate(data, 17)
    with pytest.raises(ValueError, match="cannot keep -1"):
        truncate(data, -1)


def test_lenient_truncation_of_a_cut_file(file16):
    data, header, codes, metadata, alpha = file16
    cut = data[: len(data) - 100]  # inside the last RITR chunks
    complete = read(cut, strict=False).iterations
    assert complete < 16
    assert truncate(cut, complete, strict=False) == truncate(data, complete)
    with pytest.raises(TruncatedFileError):
        truncate(cut, 3)
    with pytest.raises(TruncatedFileError, match=f"{complete} complete iterations"):
        truncate(cut, complete + 1, strict=False)


def test_ancillary_chunks_keep_their_place_unsafe_unknown_ones_are_dropped(make_header, make_codes):
    header = make_header(iterations=2)
    codes = make_codes(header)
    sig_rhdr = spec.SIGNATURE + pack_chunk(spec.CHUNK_HEADER, header.to_bytes())
    ritr = [pack_chunk(spec.CHUNK_ITERATION, read(write_bytes(header, codes)).payloads[i], index=i + 1)
            for i in range(2)]
    safe, unsafe = pack_chunk(b"xTRa", b"keep me"), pack_chunk(b"xTRA", b"drop me")
    end = pack_chunk(spec.CHUNK_END, b"")
    data = sig_rhdr + safe + unsafe + ritr[0] + pack_chunk(b"yTRa", b"later") + ritr[1] + end
    new_rhdr = pack_chunk(spec.CHUNK_HEADER, header.replace(iterations=1).to_bytes())
    assert truncate(data, 1) == spec.SIGNATURE + new_rhdr + safe + ritr[0] + pack_chunk(b"yTRa", b"later") + end
    assert truncation_sizes(data) == [len(truncate(data, k)) for k in range(3)]


def test_truncation_sizes_are_the_sizes_truncate_writes(file16):
    data = file16[0]
    sizes = truncation_sizes(data)
    assert sizes == [len(truncate(data, k)) for k in range(17)]
    assert all(a < b for a, b in zip(sizes, sizes[1:])) and sizes[-1] == len(data)
    cut = data[: len(data) - 100]  # lenient: the complete iterations of a cut file, REND added
    complete = read(cut, strict=False).iterations
    assert truncation_sizes(cut, strict=False) == sizes[: complete + 1]


def test_iterations_within_keeps_the_most_that_fit(file16):
    data = file16[0]
    sizes = truncation_sizes(data)
    for k in range(1, 17):
        assert iterations_within(data, sizes[k]) == k
        if k > 1:
            assert iterations_within(data, sizes[k] - 1) == k - 1
    assert iterations_within(data, 10**9) == 16


def test_iterations_within_an_unreachable_budget(file16, make_header):
    data = file16[0]
    one = truncation_sizes(data)[1]
    with pytest.raises(UnreachableTargetError, match=f"below the smallest file, {one:,} bytes") as caught:
        iterations_within(data, one - 1)
    assert caught.value.smallest == one
    empty = write_bytes(make_header(iterations=0), [])
    with pytest.raises(UnreachableTargetError, match="no iteration"):
        iterations_within(empty, 10**6)
