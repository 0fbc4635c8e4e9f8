"""Coder 2 (``context``): bit-exact, prefix-decodable, hostile-input safe, and small on correlated codes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnncodec.formats import get_coder, read, spec, truncate, write_bytes
from conformance_vectors import correlated_codes, flat_payload
from rnncodec.formats.coders import coder_by_id, packed_size
from rnncodec.formats.coders.context import coder as context_coder
from rnncodec.formats.coders.context.model import CROSS, WEIGHT_LIMITS, Weights
from rnncodec.formats.coders.context.weights import read_weights, weight_symbols

CODER = get_coder("context")
shapes = st.tuples(st.integers(1, 40), st.integers(1, 9), st.integers(1, 9))


def random_codes(shape, iterations: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 2, shape, dtype=np.uint8) for _ in range(iterations)]


def round_trip(codes: list[np.ndarray]) -> list[bytes]:
    """Encode and decode each iteration with the coder alone; return the payloads."""
    payloads = []
    for t, bits in enumerate(codes):
        payload = CODER.encode(bits, codes[:t])
        assert len(payload) <= CODER.max_payload_bytes(bits.shape) and len(payload) % 4 == 0
        decoded = CODER.decode(payload, bits.shape, codes[:t])
        assert decoded.dtype == np.uint8 and np.array_equal(decoded, bits)
        payloads.append(payload)
    return payloads


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(1, 16), st.integers(0, 2**32 - 1), st.booleans())
def test_round_trip_is_bit_exact(shape, iterations, seed, structured):
    make = correlated_codes if structured else random_codes
    round_trip(make(shape, iterations, seed))


@pytest.mark.parametrize("shape", [(1, 1, 1), (32, 1, 1), (1, 1, 17), (3, 2, 1), (255, 2, 3), (32, 32, 48)])
def test_round_trip_edge_shapes(shape):
    round_trip(correlated_codes(shape, 3, 0))
    round_trip([np.zeros(shape, np.uint8), np.ones(shape, np.uint8), np.zeros(shape, np.uint8)])


def test_registered_as_coder_2_and_used_by_writer_and_reader(make_header):
    assert coder_by_id(spec.CODER_CONTEXT) is CODER and CODER.uses_history
    header = make_header(width=70, height=45, iterations=5, coder="context")
    codes = correlated_codes(header.code_shape, 5, 1)
    data = write_bytes(header, codes)
    assert data[8 + 8 + 6] == spec.CODER_CONTEXT  # RHDR coder byte (one-byte varints)
    assert all(np.array_equal(a, b) for a, b in zip(read(data).codes(), codes))
    for k in range(6):  # any prefix of iterations decodes, from a cut file too
        prefix = read(truncate(data, iterations=k)).codes()
        assert len(prefix) == k and all(np.array_equal(a, b) for a, b in zip(prefix, codes))


def test_deterministic_and_reads_only_the_last_iteration():
    codes = correlated_codes((32, 6, 7), 4, 2)
    payload = CODER.encode(codes[3], codes[:3])
    assert CODER.encode(codes[3], codes[:3]) == payload
    other_earlier = [1 - codes[0], 1 - codes[1], codes[2]]
    assert CODER.encode(codes[3], other_earlier) == payload
    assert CODER.decode(payload, codes[3].shape, other_earlier).tolist() == codes[3].tolist()


def test_much_smaller_than_raw_on_correlated_codes():
    shape = (32, 32, 48)  # a 768×512 image
    codes = correlated_codes(shape, 4, 3, keep=0.9)
    sizes = [len(p) for p in round_trip(codes)]
    assert sum(sizes) < 0.5 * 4 * packed_size(shape)
    assert sum(sizes) < 0.8 * sum(len(get_coder("zstd").encode(b, [])) for b in codes)


def test_cross_weights_predict_channels_from_earlier_ones():
    """The model's main term: channels that repeat (or invert) earlier ones, up to 32 back."""
    shape = (32, 32, 48)
    rng = np.random.default_rng(10)
    bits = rng.integers(0, 2, shape, dtype=np.uint8)
    bits[20:] = 1 - bits[:12]  # channels 20 … 31 invert channels 0 … 11: 20 channels back
    (payload,) = round_trip([bits])
    assert len(payload) < 0.7 * packed_size(shape)  # 20 of 32 channels are random: 0.625 at best


def test_small_codes_fall_back_to_flat_bits():
    """Where a model costs more than it saves, the payload is the flag and the bits, flat."""
    for shape in [(32, 2, 2), (255, 2, 3), (8, 1, 1)]:
        payloads = round_trip(random_codes(shape, 2, 11))
        assert all(len(p) <= packed_size(shape) + 8 for p in payloads)


def test_random_codes_cost_little_more_than_raw():
    shape = (32, 32, 48)
    payloads = round_trip(random_codes(shape, 3, 4))
    assert all(len(p) < 1.02 * packed_size(shape) for p in payloads)


# -- hostile payloads ----------------------------------------------------------------------------

def _decode_or_value_error(payload: bytes, shape, previous) -> None:
    try:
        bits = CODER.decode(payload, shape, previous)
    except ValueError:
        return
    assert bits.shape == shape and bits.dtype == np.uint8 and set(np.unique(bits)) <= {0, 1}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400).map(lambda data: data[: len(data) // 4 * 4]) | st.binary(max_size=9),
       shapes, st.integers(0, 2))
def test_garbage_payload_gives_bits_or_value_error(payload, shape, history):
    _decode_or_value_error(payload, shape, random_codes(shape, history, 6))


@pytest.mark.parametrize("iteration", [0, 2])
def test_every_truncation_and_bit_flip_gives_bits_or_value_error(iteration):
    codes = correlated_codes((8, 5, 6), 3, 7)
    payload = CODER.encode(codes[iteration], codes[:iteration])
    for end in range(len(payload)):
        _decode_or_value_error(payload[:end], (8, 5, 6), codes[:iteration])
    for position in range(0, 8 * len(payload), 3):
        damaged = bytearray(payload)
        damaged[position // 8] ^= 1 << position % 8
        _decode_or_value_error(bytes(damaged), (8, 5, 6), codes[:iteration])


def test_a_window_over_32_is_invalid():
    payload = flat_payload([1, 1, 0, 0, 0, 0, 1] + [0] * 9000)  # a model, window 33, then zeros
    with pytest.raises(ValueError, match="window of 33 channels, over 32"):
        CODER.decode(payload, (40, 3, 3), [])
    assert CODER.decode(flat_payload([0] + [1] * 360), (40, 3, 3), []).all()  # no model: flat bits


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 70), st.integers(0, 32), st.booleans(), st.integers(0, 2**32 - 1))
def test_weights_survive_their_symbols(channels, window, has_previous, seed):
    rng = np.random.default_rng(seed)
    low, high = WEIGHT_LIMITS
    table = rng.integers(low, high + 1, (channels, CROSS + channels)) * (rng.random((channels, 1)) < 0.7)
    weights = Weights(table, has_previous, window)
    weights.table[~weights.present()] = 0
    symbols, weights_of_zero = weight_symbols(weights)
    stream = iter(zip(np.concatenate(symbols), np.concatenate(weights_of_zero)))

    def read(m):
        sent = [next(stream) for _ in m]
        assert [w for _, w in sent] == list(m)  # the decoder derives the same probabilities
        return np.array([s for s, _ in sent])

    decoded = read_weights(read, channels, has_previous)
    assert next(stream, None) is None
    assert decoded.window == window and np.array_equal(decoded.table, weights.table)


def test_invalid_payloads_are_named():
    shape = (4, 3, 3)
    bits = correlated_codes(shape, 1, 8)[0]
    payload = CODER.encode(bits, [])
    with pytest.raises(ValueError, match="whole 32-bit words"):
        CODER.decode(payload + b"\x01", shape, [])
    with pytest.raises(ValueError, match="zero word"):
        CODER.decode(payload + bytes(4), shape, [])
    with pytest.raises(ValueError, match="left over"):
        CODER.decode(b"\x07\x00\x00\x00" + payload, shape, [])
    with pytest.raises(ValueError, match="cap"):
        CODER.decode(bytes(4) * (CODER.max_payload_bytes(shape) // 4 + 1), shape, [])
    with pytest.raises(ValueError, match="previous code has shape"):
        CODER.decode(payload, shape, [np.zeros((4, 3, 2), np.uint8)])
    with pytest.raises(ValueError, match="previous code has shape"):
        CODER.encode(bits, [np.zeros((4, 3, 2), np.uint8)])


def test_payload_cap_holds_for_adversarial_codes():
    """Bits that contradict every prediction (each iteration the inverse of the last)."""
    shape = (32, 6, 6)
    first = correlated_codes(shape, 1, 9)[0]
    codes = [first if t % 2 == 0 else 1 - first for t in range(4)]
    for t, bits in enumerate(codes):
        assert len(CODER.encode(bits, codes[:t])) <= CODER.max_payload_bytes(shape)
    assert CODER.max_payload_bytes(shape) >= packed_size(shape) * 3


# -- bounded work: strips, the exhausted stream, memory ---------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 8]))
def test_decoding_in_small_strips_gives_the_same_bits(shape, seed, strip):
    """The decoder's strips of rows change nothing: strips of a few bits decode the same code."""
    codes = correlated_codes(shape, 2, seed)
    payloads = [CODER.encode(bits, codes[:t]) for t, bits in enumerate(codes)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(context_coder, "STRIP_SYMBOLS", strip)
        for t, (bits, payload) in enumerate(zip(codes, payloads)):
            assert np.array_equal(CODER.decode(payload, bits.shape, codes[:t]), bits)


def test_an_empty_payload_is_an_all_zero_code_and_costs_only_its_zeros():
    import time

    shape = (32, 1024, 1024)  # 33.5 million bits, as a 16-megapixel image's iteration
    start = time.perf_counter()
    bits = CODER.decode(b"", shape, [np.ones(shape, dtype=np.uint8)])
    assert time.perf_counter() - start < 1.0
    assert bits.shape == shape and not bits.any()


def test_decoding_memory_is_bounded_by_twice_the_code(tmp_path):
    """Peak Python-side allocation while decoding one iteration ≤ 2× its code array (uint8)."""
    import tracemalloc

    from rnncodec.formats.coders.context.coder import _symbols, ans_payload
    from rnncodec.formats.coders.context.model import signed_padded

    shape = (32, 384, 384)
    previous, bits = correlated_codes(shape, 2, 7)
    rng = np.random.default_rng(0)
    weights = Weights(rng.integers(-6, 7, (32, CROSS + 32)), True, 4)
    weights.table *= weights.present()
    payload = ans_payload(*_symbols(bits, weights, signed_padded(bits), 2 * previous.astype(np.int8) - 1))
    del weights
    tracemalloc.start()
    try:
        decoded = CODER.decode(payload, shape, [previous])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(decoded, bits)
    assert peak <= 2 * bits.nbytes, f"peak {peak:,} bytes for a {bits.nbytes:,}-byte code"


def test_no_payload_is_too_short_for_its_code():
    """SPEC §7.2: the zeros that end a stream cost no word, so valid payloads can be far shorter
    than any fixed share of their code's bits; the decoder must not refuse them for that."""
    bits = np.zeros((32, 256, 256), dtype=np.uint8)
    bits[0, :8] = correlated_codes((1, 8, 256), 1, 3)[0][0]  # 8 rows of channel 0 hold something, the rest is 0
    payload = CODER.encode(bits, [])
    assert 8 * len(payload) / bits.size < 0.01
    assert np.array_equal(CODER.decode(payload, bits.shape, []), bits)


def test_a_payload_whose_state_never_reaches_zero_is_refused_after_its_last_symbol():
    stuck = (256).to_bytes(4, "little")  # below every weight of a 0: every symbol decodes as 0, x stays 256
    with pytest.raises(ValueError, match="data left over"):
        CODER.decode(stuck, (32, 64, 64), [])


def test_encoding_memory_is_bounded_per_bit():
    """Peak Python-side allocation while encoding one large iteration: the payload's symbols and
    probabilities (12 bytes a bit) or the fit's fixed working set (a sample of at most 2^16
    places: ~75 MB), not float64 copies of the whole code (~80 bytes a bit before)."""
    import tracemalloc

    shape = (32, 384, 384)  # 147,456 places: the fit reads a sample of them
    previous, bits = correlated_codes(shape, 2, 11)
    tracemalloc.start()
    try:
        payload = CODER.encode(bits, [previous])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert np.array_equal(CODER.decode(payload, shape, [previous]), bits)
    assert peak <= 12 * bits.size + 96 * 2**20, f"peak {peak:,} bytes for {bits.size:,} bits"
