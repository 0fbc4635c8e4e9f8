"""SPEC.md §7.2 is complete: a per-bit decoder written from its text alone (plain Python integers,
no numpy, no constriction) decodes what the reference coder writes."""

from __future__ import annotations

import numpy as np
import pytest

from rnncodec.formats import get_coder
from conformance_vectors import correlated_codes

DIAG = ((-1, -1), (-1, 1), (1, -1), (1, 1))
DIRECT = ((-1, 0), (1, 0), (0, -1), (0, 1))
PHASES = ((0, 0, ()), (1, 1, DIAG), (0, 1, DIRECT), (1, 0, DIRECT))  # (row parity, column parity, S)
R = (65536, 77936, 92682, 110218)
FLAT = 2**23


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


def squash(z: int) -> int:
    if z < 0:
        return 2**24 - squash(-z)
    return 2**40 // (2**16 + R[z % 4] * 2 ** (z // 4))


def signed_sum(code, c, y, x, offsets) -> int:
    rows, cols = len(code[0]), len(code[0][0])
    return sum(2 * code[c][y + dy][x + dx] - 1 for dy, dx in offsets
               if 0 <= y + dy < rows and 0 <= x + dx < cols)


def read_weights(stream: Stream, channels: int, window: int, has_prev: bool) -> list[dict]:
    """§7.2 "Weights": per channel a dict kind → weight (cross: {j: weight})."""
    order = []  # per channel: (kind, j) of its weights in order
    for c in range(channels):
        order.append([(0, None), (1, None)] + ([(2, None)] if has_prev else [])
                     + [(3, j) for j in range(max(0, c - window), c)])
    u = {(c, i): 0 for c in range(channels) for i in range(len(order[c]))}
    counts: dict[tuple[int, int], int] = {}
    lo = 0
    while lo < channels:
        hi = min(2 * lo or 1, channels)
        for level in range(6):
            pending = []
            for c in range(lo, hi):
                for i, (kind, _) in enumerate(order[c]):
                    ctx = 64 * kind + 2**level + u[(c, i)]  # u holds the bits so far
                    n0, n1 = counts.get((ctx, 0), 0), counts.get((ctx, 1), 0)
                    bit = stream.symbol(2**24 * (2 * n0 + 1) // (2 * (n0 + n1) + 2))
                    u[(c, i)] = 2 * u[(c, i)] + bit
                    pending.append((ctx, bit))
            for key in pending:
                counts[key] = counts.get(key, 0) + 1
        lo = hi
    weights = []
    for c in range(channels):
        w = {0: 0, 1: 0, 2: 0, 3: {}}
        for i, (kind, j) in enumerate(order[c]):
            if kind == 3:
                w[3][j] = u[(c, i)] - 32
            else:
                w[kind] = u[(c, i)] - 32
        weights.append(w)
    return weights


def decode(payload: bytes, shape, previous):
    channels, rows, cols = shape
    stream = Stream(payload)
    code = [[[0] * cols for _ in range(rows)] for _ in range(channels)]
    if stream.symbol(FLAT) == 0:  # not modelled: the bits, flat, in C order
        for c in range(channels):
            for y in range(rows):
                for x in range(cols):
                    code[c][y][x] = stream.symbol(FLAT)
        assert stream.finished()
        return code
    window = 0
    for _ in range(6):
        window = 2 * window + stream.symbol(FLAT)
    assert window <= 32
    last = previous[-1] if previous else None
    weights = read_weights(stream, channels, window, last is not None)
    for c in range(channels):
        w = weights[c]
        for py, px, offsets in PHASES:
            for y in range(py, rows, 2):
                for x in range(px, cols, 2):
                    z = w[0] + sum(wj * (2 * code[j][y][x] - 1) for j, wj in w[3].items())
                    z += w[1] * signed_sum(code, c, y, x, offsets)
                    if last is not None:
                        z += w[2] * (2 * last[c][y][x] - 1)
                    code[c][y][x] = stream.symbol(squash(max(-64, min(64, z))))
    assert stream.finished()
    return code


def test_squash_is_a_logistic_in_quarter_bits():
    assert squash(0) == 2**23 and squash(64) == 255 and squash(-64) == 2**24 - 255
    for z in range(-64, 65):
        assert abs(squash(z) / 2**24 - 1 / (1 + 2 ** (z / 4))) < 1e-6


def structured_codes(shape, iterations: int, seed: int) -> list[np.ndarray]:
    """Codes the reference encoder models: odd channels invert the channel before them (cross
    weights at iteration 1), and iterations keep 95 % of the previous bits (prev weights)."""
    codes = correlated_codes(shape, iterations, seed, keep=0.95)
    for bits in codes:
        bits[1::2] = 1 - bits[0:shape[0] - 1:2]
    return codes


@pytest.mark.parametrize("shape, iterations, seed", [((9, 5, 7), 3, 0), ((6, 2, 40), 3, 1), ((5, 6, 8), 2, 2),
                                                     ((1, 1, 1), 2, 3), ((3, 1, 6), 2, 4), ((36, 7, 9), 2, 5)])
def test_a_decoder_written_from_the_spec_decodes_the_payloads(shape, iterations, seed):
    codes = structured_codes(shape, iterations, seed)
    coder = get_coder("context")
    for t, bits in enumerate(codes):
        payload = coder.encode(bits, codes[:t])
        previous = [code.tolist() for code in codes[:t]]
        assert decode(payload, shape, previous) == bits.tolist()


def test_the_spec_decoder_reads_a_full_window():
    """A code large enough for the reference encoder's window of 32 channels (and a model)."""
    shape = (36, 16, 32)
    codes = correlated_codes(shape, 2, 6, keep=0.9)
    codes[1][20:] = codes[1][:16]  # channels 20 … 35 copy channels 0 … 15: cross weights 20 back
    coder = get_coder("context")
    for t, bits in enumerate(codes):
        payload = coder.encode(bits, codes[:t])
        stream = Stream(payload)
        assert stream.symbol(FLAT) == 1 and [stream.symbol(FLAT) for _ in range(6)] == [1, 0, 0, 0, 0, 0]
        assert decode(payload, shape, [code.tolist() for code in codes[:t]]) == bits.tolist()
