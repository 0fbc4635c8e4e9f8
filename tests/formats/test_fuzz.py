"""Mutation fuzzing: damaged files raise only the typed errors (≥ 20,000 cases)."""

from __future__ import annotations

import random
import traceback

import numpy as np
import pytest

from rnncodec.formats import RNCError, StreamReader, read, spec, truncate, write_bytes
from rnncodec.formats.chunks import pack_chunk

CASES = 20_400


def _seeds(make_header, make_codes, file16) -> list[bytes]:
    small = make_header(width=9, height=7, mode="L", iterations=2, coder="raw")
    alpha = np.arange(63, dtype=np.uint8).reshape(7, 9)
    zero = make_header(iterations=0, coder="zstd")
    return [
        file16[0],
        write_bytes(small, make_codes(small), {"source_name": "s.png"}, alpha),
        write_bytes(zero, []),
    ]


def _chunks(data: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each chunk of a valid file."""
    out, pos = [], len(spec.SIGNATURE)
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        out.append((pos, length))
        pos += length + spec.CHUNK_FRAMING_BYTES
    return out


def _mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    chunks = _chunks(data)
    kind = rng.randrange(7)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 3)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == 1:  # byte insertion
        pos = rng.randrange(len(buf) + 1)
        buf[pos:pos] = rng.randbytes(rng.randint(1, 4))
    elif kind == 2:  # byte deletion
        pos = rng.randrange(len(buf))
        del buf[pos : pos + rng.randint(1, 4)]
    elif kind == 3:  # length-field edit
        offset, length = rng.choice(chunks)
        new = rng.choice([0, 1, length - 1, length + 1, length * 2, rng.randrange(2**32),
                          2**31 - 1, 2**31, 2**32 - 1])
        buf[offset : offset + 4] = max(new, 0).to_bytes(4, "big")
    elif kind == 4:  # damage a chunk's data, then fix its CRC so the content checks are reached
        index = rng.randrange(len(chunks))
        offset, length = chunks[index]
        ctype = bytes(buf[offset + 4 : offset + 8])
        body = bytearray(buf[offset + 8 : offset + 8 + length])
        if body and rng.random() < 0.7:
            for _ in range(rng.randint(1, 3)):
                body[rng.randrange(len(body))] = rng.randrange(256)
        else:  # insert or delete inside the data
            pos = rng.randrange(len(body) + 1)
            if body and rng.random() < 0.5:
                del body[pos : pos + rng.randint(1, 3)]
            else:
                body[pos:pos] = rng.randbytes(rng.randint(1, 3))
        ritr_index = sum(1 for o, _ in chunks[:index] if data[o + 4 : o + 8] == b"RITR") + 1
        chunk = pack_chunk(ctype, bytes(body), ritr_index if ctype == b"RITR" else None)
        buf[offset : offset + 12 + length] = chunk
    elif kind == 5:  # duplicate, drop or swap chunks
        pieces = [bytes(buf[o : o + l + 12]) for o, l in chunks]
        i, j = rng.randrange(len(pieces)), rng.randrange(len(pieces))
        action = rng.randrange(3)
        if action == 0:
            pieces.insert(j, pieces[i])
        elif action == 1:
            del pieces[i]
        else:
            pieces[i], pieces[j] = pieces[j], pieces[i]
        buf = bytearray(spec.SIGNATURE + b"".join(pieces))
    else:  # cut and append garbage
        del buf[rng.randrange(len(buf)) :]
        buf += rng.randbytes(rng.randint(0, 20))
    return bytes(buf)


def _exercise(data: bytes, rng: random.Random) -> None:
    """Everything a reader may do with a file; only RNCError may escape."""
    for strict in (True, False):
        try:
            rnc = read(data, strict=strict)
            rnc.active_blocks()
            rnc.codes()
            rnc.alpha
            truncate(data, rnc.iterations, strict=strict)
        except RNCError:
            pass
    split = rng.randrange(len(data) + 1)
    reader = StreamReader(strict=False)
    try:
        reader.feed(data[:split])
        reader.feed(data[split:])
        reader.close()
    except RNCError:
        pass


@pytest.mark.slow
def test_mutated_files_raise_only_typed_errors(make_header, make_codes, file16):
    rng = random.Random(20240611)
    seeds = _seeds(make_header, make_codes, file16)
    for case in range(CASES):
        data = _mutate(rng.choice(seeds), rng)
        try:
            _exercise(data, rng)
        except Exception:
            pytest.fail(f"case {case}: untyped error for {data.hex()}\n{traceback.format_exc()}")


@pytest.mark.slow
def test_mutated_adaptive_files_raise_only_typed_errors(make_header):
    """Coder 3: files whose blocks stop (decisions, then the model over the active blocks)."""
    from conformance_vectors import correlated_codes, stopped_codes

    rng = random.Random(20261203)
    header = make_header(width=70, height=45, iterations=4, coder="adaptive")
    codes = stopped_codes(correlated_codes(header.code_shape, 4, 5), 5, rate=0.3)
    seed = write_bytes(header, codes)
    for case in range(2000):
        data = _mutate(seed, rng)
        try:
            _exercise(data, rng)
        except Exception:
            pytest.fail(f"case {case}: untyped error for {data.hex()}\n{traceback.format_exc()}")
