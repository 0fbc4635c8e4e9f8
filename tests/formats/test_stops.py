"""Coder 3's stop decisions (SPEC.md §7.3): the decoder derives every probability the encoder used,
and a clustered mask costs far less than a bit a block."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnncodec.formats import spec
from rnncodec.formats.coders.context.model import signed
from rnncodec.formats.coders.context.stops import active_blocks, check_stops, read_stops, stop_symbols


def masks(rows: int, cols: int, seed: int, smooth: bool, was: float, now: float):
    """``(was_active, active)``: smooth (a blurred random field's levels) or independent masks."""
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(rows, cols))
    if smooth:
        field = field.cumsum(axis=0).cumsum(axis=1) + rng.normal(size=(rows, cols))
    level = np.argsort(np.argsort(field, axis=None)).reshape(rows, cols) / field.size
    return level >= was, level >= now


def information(symbols: np.ndarray, weights_of_zero: np.ndarray) -> float:
    p0 = weights_of_zero / 2**spec.CONTEXT_PRECISION
    return float(-np.log2(np.where(symbols == 0, p0, 1 - p0)).sum())


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1), st.booleans(),
       st.floats(0, 1), st.floats(0, 1))
def test_decisions_survive_their_symbols(rows, cols, seed, smooth, was, more):
    was_active, active = masks(rows, cols, seed, smooth, was, was + (1 - was) * more)
    symbols, weights_of_zero = stop_symbols(active, was_active)
    assert len(symbols) == was_active.sum() and set(symbols.tolist()) <= {0, 1}
    assert ((0 < weights_of_zero) & (weights_of_zero < 2**spec.CONTEXT_PRECISION)).all()
    stream = iter(zip(symbols, weights_of_zero))

    def read(m):
        sent = [next(stream) for _ in m]
        assert [w for _, w in sent] == list(m)  # the decoder derives the same probabilities
        return np.array([s for s, _ in sent], dtype=np.int64)

    assert np.array_equal(read_stops(read, was_active), active)
    assert next(stream, None) is None


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_a_clustered_mask_costs_under_half_its_entropy(rate):
    """As a quality threshold stops blocks: smooth regions together (768×512 image: 48×32 blocks);
    the neighbours' decisions predict a block's (order 0, the entropy of the stop rate, does not)."""
    was_active, active = masks(32, 48, 1, True, 0.0, rate)
    bits = information(*stop_symbols(active, was_active)) / was_active.sum()
    assert bits < 0.5 * -(rate * np.log2(rate) + (1 - rate) * np.log2(1 - rate)), bits


def test_independent_stops_cost_about_their_entropy():
    was_active, active = masks(32, 48, 2, False, 0.0, 0.3)
    bits = information(*stop_symbols(active, was_active)) / was_active.sum()
    entropy = -(0.3 * np.log2(0.3) + 0.7 * np.log2(0.7))
    assert entropy - 0.05 < bits < entropy + 0.1


def test_no_stop_costs_a_few_bits_per_row():
    was_active = np.ones((32, 48), bool)
    assert information(*stop_symbols(was_active, was_active)) < 64


def test_stopped_is_signed_zero():
    assert signed(np.array([0, 1, spec.STOPPED], np.uint8)).tolist() == [-1, 1, 0]


def test_rules():
    code = np.zeros((4, 2, 3), np.uint8)
    assert active_blocks(code).all()
    code[:, 1, 2] = spec.STOPPED
    assert active_blocks(code).tolist() == [[True] * 3, [True, True, False]]
    with pytest.raises(ValueError, match="iteration 1"):
        check_stops(code, None)
    assert check_stops(code, np.zeros_like(code)).sum() == 5
    with pytest.raises(ValueError, match="for good"):
        check_stops(np.zeros_like(code), code)
    code[0, 0, 0] = spec.STOPPED
    with pytest.raises(ValueError, match="whole blocks"):
        active_blocks(code)
