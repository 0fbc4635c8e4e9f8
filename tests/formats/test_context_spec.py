"""SPEC.md §7.2 is complete: a per-bit decoder written from its text alone (plain Python integers,
no numpy, no constriction) decodes what the reference coder writes."""

from __future__ import annotations

import numpy as np
import pytest

from rnncodec.formats import get_coder

DIAG = ((-1, -1), (-1, 1), (1, -1), (1, 1))
CROSS = ((-1, 0), (1, 0), (0, -1), (0, 1))
ALL8 = DIAG + CROSS
PHASES = ((0, 0, ()), (1, 1, DIAG), (0, 1, CROSS), (1, 0, CROSS))  # (row parity, column parity, S)


class Stream:
    """§7.2 "Stream": the rANS decoder."""

    def __init__(self, payload: bytes):
        assert len(payload) % 4 == 0
        self.words = [int.from_bytes(payload[i:i + 4], "little") for i in range(0, len(payload), 4)]
        self.next = len(self.words) - 1
        self.x = 0
        if self.words:
            assert self.words[-1] != 0
            self.x = self.read()
            if self.next >= 0:
                self.x = self.x * 2**32 + self.read()

    def read(self) -> int:
        self.next -= 1
        return self.words[self.next + 1]

    def symbol(self, m: int) -> int:
        w0 = m * (2**24 - 2) // 2**24 + 1
        q = self.x % 2**24
        bit = int(q >= w0)
        low, weight = (0, w0) if bit == 0 else (w0, 2**24 - w0)
        self.x = self.x // 2**24 * weight + q - low
        if self.x < 2**32 and self.next >= 0:
            self.x = self.x * 2**32 + self.read()
        return bit

    def finished(self) -> bool:
        return self.x == 0 and self.next == -1


def signed_sum(code, c, y, x, offsets) -> int:
    rows, cols = len(code[0]), len(code[0][0])
    return sum(2 * code[c][y + dy][x + dx] - 1 for dy, dx in offsets
               if 0 <= y + dy < rows and 0 <= x + dx < cols)


def start(c: int) -> int:
    return 0 if c == 0 else 2 ** (c.bit_length() - 1)


def group_order(channels: int, rows: int, cols: int):
    """(c, y, x, phase) of every bit, in coding order, with the index of its group."""
    lo, group = 0, 0
    while lo < channels:
        hi = min(2 * lo or 1, channels)
        for phase, (py, px, _) in enumerate(PHASES):
            for c in range(lo, hi):
                for y in range(py, rows, 2):
                    for x in range(px, cols, 2):
                        yield group, c, y, x, phase
            group += 1
        lo = hi


def level(e: int) -> int:
    return 0 if e <= -5 else 1 if e <= -2 else 2 if e <= 1 else 3 if e <= 4 else 4


def context(code, c, y, x, phase, last, refs) -> int:
    s = signed_sum(code, c, y, x, PHASES[phase][2])
    v = 0 if last is None else 1 + 5 * last[c][y][x] + level(signed_sum(last, c, y, x, ALL8))
    r = 3 + sum(2 * (code[ref][y][x] ^ invert) - 1 for ref, invert in refs[c])
    return ((phase * 9 + s + 4) * 11 + v) * 7 + r


def decode(payload: bytes, shape, previous):
    channels, rows, cols = shape
    stream = Stream(payload)
    counts_of_refs = [0] + [2 * stream.symbol(2**23) + stream.symbol(2**23) for _ in range(1, channels)]
    refs = [[] for _ in range(channels)]
    for c in range(1, channels):
        for _ in range(counts_of_refs[c]):
            invert, r = stream.symbol(2**23), 0
            for _ in range(c.bit_length() - 1):
                r = 2 * r + stream.symbol(2**23)
            refs[c].append((r, invert))
    last = previous[-1] if previous else None
    counts = {}
    if last is not None:  # replay of t-1 with LL as its previous iteration and this iteration's refs
        before = previous[-2] if len(previous) >= 2 else None
        for _, c, y, x, phase in group_order(channels, rows, cols):
            key = (context(last, c, y, x, phase, before, refs), last[c][y][x])
            counts[key] = counts.get(key, 0) + 1
        if before is None:  # t = 2: the counts of V = 0 seed V = 1 … 10
            for (ctx, bit), n in list(counts.items()):
                if ctx // 7 % 11 == 0:
                    for v in range(1, 11):
                        counts[(ctx + 7 * v, bit)] = n
        counts = {key: n >> 2 for key, n in counts.items()}
    code = [[[0] * cols for _ in range(rows)] for _ in range(channels)]
    pending, current = [], 0
    for group, c, y, x, phase in group_order(channels, rows, cols):
        if group != current:  # counts change after a group only
            for key in pending:
                counts[key] = counts.get(key, 0) + 1
            pending, current = [], group
        ctx = context(code, c, y, x, phase, last, refs)
        n0, n1 = counts.get((ctx, 0), 0), counts.get((ctx, 1), 0)
        code[c][y][x] = stream.symbol(2**24 * (n0 + 1) // (n0 + n1 + 2))
        pending.append((ctx, code[c][y][x]))
    assert stream.finished()
    return code


@pytest.mark.parametrize("shape, iterations, seed", [((5, 3, 4), 4, 0), ((9, 5, 2), 3, 1), ((1, 1, 1), 2, 2),
                                                     ((3, 1, 6), 3, 3), ((17, 4, 4), 3, 4)])
def test_a_decoder_written_from_the_spec_decodes_the_payloads(shape, iterations, seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2, shape, dtype=np.uint8)
    codes = []
    for t in range(iterations):
        bits = np.where(rng.random(shape) < 0.8, base, 1 - base).astype(np.uint8)
        bits[1::2] = bits[0] ^ (t % 2)  # channels with references
        bits[3::4] ^= (rng.random(bits[3::4].shape) < 0.3).astype(np.uint8)  # weaker ones
        codes.append(bits)
    coder = get_coder("context")
    for t, bits in enumerate(codes):
        payload = coder.encode(bits, codes[:t])
        previous = [code.tolist() for code in codes[:t]]
        assert decode(payload, shape, previous) == bits.tolist()
