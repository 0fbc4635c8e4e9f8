"""Coder 3 (``adaptive``): blocks that stop — bit-exact, prefix-decodable, checked, hostile-input safe."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnncodec.formats import RNCWriter, read, spec, truncate, write_bytes
from rnncodec.formats.chunks import pack_chunk
from rnncodec.formats.coders import coder_by_id, get_coder
from rnncodec.formats.coders.context import coder as context_coder
from rnncodec.formats.errors import CorruptChunkError
from conformance_vectors import correlated_codes, stopped_codes
from rnncodec.formats.coders.context.coder import _last_signed, ans_payload
from rnncodec.formats.coders.context.model import signed_padded
from rnncodec.formats.coders.context.stops import stop_symbols

CODER = get_coder("adaptive")
CONTEXT = get_coder("context")
STOPPED = spec.STOPPED
shapes = st.tuples(st.integers(1, 40), st.integers(1, 9), st.integers(1, 9))


def random_ternary(shape, iterations: int, seed: int, rate: float = 0.3, structured: bool = False):
    """Codes with blocks that stop: random or correlated bits, random or smooth stop levels."""
    rng = np.random.default_rng(seed)
    bits = (correlated_codes(shape, iterations, seed) if structured
            else [rng.integers(0, 2, shape, dtype=np.uint8) for _ in range(iterations)])
    return stopped_codes(bits, seed, rate, smooth=structured)


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
@given(shapes, st.integers(1, 8), st.integers(0, 2**32 - 1), st.floats(0, 1), st.booleans())
def test_round_trip_of_ternary_codes_is_bit_exact(shape, iterations, seed, rate, structured):
    round_trip(random_ternary(shape, iterations, seed, rate, structured))


@pytest.mark.parametrize("shape", [(1, 1, 1), (32, 1, 1), (32, 1, 3), (32, 3, 1), (3, 5, 7), (5, 2, 17),
                                   (32, 7, 9), (32, 32, 48), (255, 2, 3)])
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 1.0])
def test_round_trip_edge_shapes(shape, rate):
    round_trip(random_ternary(shape, 4, 1, rate, structured=True))


def test_registered_as_coder_3_and_used_by_writer_and_reader(make_header):
    assert coder_by_id(spec.CODER_ADAPTIVE) is CODER and CODER.uses_history and CODER.codes_stops
    assert not any(coder_by_id(i).codes_stops for i in range(3))
    header = make_header(width=70, height=45, iterations=5, coder="adaptive")
    codes = random_ternary(header.code_shape, 5, 2, structured=True)
    data = write_bytes(header, codes)
    assert data[8 + 8 + 6] == spec.CODER_ADAPTIVE  # RHDR coder byte (one-byte varints)
    assert all(np.array_equal(a, b) for a, b in zip(read(data).codes(), codes))


def test_every_prefix_and_every_cut_decodes(make_header):
    """Truncation at every iteration (truncate, and a file cut at any byte read leniently)."""
    header = make_header(width=90, height=50, iterations=5, coder="adaptive")
    codes = random_ternary(header.code_shape, 5, 3, rate=0.2, structured=True)
    data = write_bytes(header, codes)
    for k in range(6):
        prefix = read(truncate(data, iterations=k)).codes()
        assert len(prefix) == k and all(np.array_equal(a, b) for a, b in zip(prefix, codes))
    for end in range(60, len(data) + 1, 7):  # inside the header, between and inside iterations
        decoded = read(data[:end], strict=False).codes()
        assert all(np.array_equal(a, b) for a, b in zip(decoded, codes))
    assert len(decoded) == 5


def test_all_blocks_stopped_after_the_first_iteration():
    shape = (32, 6, 7)
    first = correlated_codes(shape, 1, 4)[0]
    codes = [first] + [np.full(shape, STOPPED, np.uint8)] * 3
    payloads = round_trip(codes)
    assert all(len(p) <= 8 for p in payloads[1:])  # the decisions (all 1) then the flag: a word or two
    assert payloads[2] == payloads[3] == b""  # nothing active: no decision, no bit, the flag 0


def test_without_stops_it_costs_what_coder_2_costs_plus_its_decisions():
    """Part 2 of the stream is coder 2's symbols: with no block stopping, a payload is coder 2's plus
    a few bits of decisions (all 0, ever cheaper as their counts grow)."""
    shape = (32, 32, 48)  # a 768×512 image: 1536 decisions an iteration
    codes = correlated_codes(shape, 4, 5, keep=0.9)
    ours, theirs = round_trip(codes), [CONTEXT.encode(bits, codes[:t]) for t, bits in enumerate(codes)]
    assert ours[0] == theirs[0]  # iteration 1 has no decisions
    for a, b in zip(ours[1:], theirs[1:]):
        assert len(b) <= len(a) <= len(b) + 12


def test_stopped_neighbours_and_history_count_zero():
    """A stopped place is s = 0 for its neighbours' S and as the previous iteration's L."""
    from rnncodec.formats.coders.context.model import spatial_sums

    code = np.array([[[STOPPED, 1, 1], [0, 1, 0], [1, 0, 0]]], np.uint8)
    padded = signed_padded(code)
    assert padded[0, 1:-1, 1:-1].tolist() == [[0, 1, 1], [-1, 1, -1], [1, -1, -1]]
    assert spatial_sums(padded)[0, 1, 1] == 1 + 1 - 1  # phase 1: the diagonals but the stopped one
    assert _last_signed([code], code.shape)[0, 0, 0] == 0


# -- the writer's checks -------------------------------------------------------------------------

def _stopping(shape, block=(0, 0), iterations=2):
    codes = random_codes_for(shape, iterations)
    for code in codes[1:]:
        code[:, block[0], block[1]] = STOPPED
    return codes


def random_codes_for(shape, iterations):
    rng = np.random.default_rng(8)
    return [rng.integers(0, 2, shape, dtype=np.uint8) for _ in range(iterations)]


@pytest.mark.parametrize("coder", ["raw", "zstd", "context"])
def test_stopped_values_need_the_adaptive_coder(make_header, coder):
    header = make_header(width=40, height=20, coder=coder)
    codes = _stopping(header.code_shape)
    with pytest.raises(ValueError, match="values must be 0 or 1 with the coder .* needs the coder 'adaptive'"):
        write_bytes(header, codes)


def test_writer_refuses_codes_that_break_the_stop_rules(make_header):
    header = make_header(width=40, height=20, iterations=3, coder="adaptive")
    shape = header.code_shape

    def refused(codes, reason):
        writer = RNCWriter(io.BytesIO(), header)
        with pytest.raises(ValueError, match=reason):
            for code in codes:
                writer.write_iteration(code)

    first_stops = random_codes_for(shape, 3)
    first_stops[0][:, 1, 2] = STOPPED
    refused(first_stops, "iteration 1 has stopped blocks")
    partial = _stopping(shape, iterations=3)
    partial[2][5, 1, 1] = STOPPED
    refused(partial, "whole blocks")
    restart = _stopping(shape, iterations=3)
    restart[2][:, 0, 0] = 1
    refused(restart, "stops are for good")
    bad_value = random_codes_for(shape, 3)
    bad_value[1][0, 0, 0] = 3
    refused(bad_value, "0 or 1 or STOPPED")
    write_bytes(header, _stopping(shape, iterations=3))  # the rules kept: written


def test_coder_refuses_codes_that_break_the_rules_too():
    shape = (4, 3, 3)
    codes = _stopping(shape)
    with pytest.raises(ValueError, match="iteration 1"):
        CODER.encode(codes[1], [])
    restart = codes[0].copy()
    with pytest.raises(ValueError, match="for good"):
        CODER.encode(restart, codes[1:2])


# -- hostile payloads ----------------------------------------------------------------------------

def _decode_or_value_error(payload: bytes, shape, previous) -> None:
    try:
        bits = CODER.decode(payload, shape, previous)
    except ValueError:
        return
    assert bits.shape == shape and bits.dtype == np.uint8 and set(np.unique(bits)) <= {0, 1, STOPPED}
    if previous:  # whatever the payload, the decoded code keeps the rules
        stopped_before = previous[-1] == STOPPED
        assert (bits[stopped_before] == STOPPED).all()
        assert ((bits == STOPPED).all(axis=0) | (bits != STOPPED).all(axis=0)).all()
    else:
        assert (bits != STOPPED).all()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400).map(lambda data: data[: len(data) // 4 * 4]) | st.binary(max_size=9),
       shapes, st.integers(0, 3))
def test_garbage_payload_gives_a_valid_code_or_value_error(payload, shape, history):
    _decode_or_value_error(payload, shape, random_ternary(shape, history, 6, rate=0.3))


@pytest.mark.parametrize("iteration", [0, 2])
def test_every_truncation_and_bit_flip_gives_a_valid_code_or_value_error(iteration):
    shape = (8, 5, 6)
    codes = random_ternary(shape, 3, 7, rate=0.3, structured=True)
    payload = CODER.encode(codes[iteration], codes[:iteration])
    for end in range(len(payload)):
        _decode_or_value_error(payload[:end], shape, codes[:iteration])
    for position in range(0, 8 * len(payload), 3):
        damaged = bytearray(payload)
        damaged[position // 8] ^= 1 << position % 8
        _decode_or_value_error(bytes(damaged), shape, codes[:iteration])


def test_invalid_payloads_are_named():
    shape = (4, 3, 3)
    codes = random_ternary(shape, 2, 8, rate=0.4, structured=True)
    payload = CODER.encode(codes[1], codes[:1])
    with pytest.raises(ValueError, match="whole 32-bit words"):
        CODER.decode(payload + b"\x01", shape, codes[:1])
    with pytest.raises(ValueError, match="zero word"):
        CODER.decode(payload + bytes(4), shape, codes[:1])
    with pytest.raises(ValueError, match="left over"):
        CODER.decode(b"\x07\x00\x00\x00" + payload, shape, codes[:1])
    with pytest.raises(ValueError, match="cap"):
        CODER.decode(bytes(4) * (CODER.max_payload_bytes(shape) // 4 + 1), shape, codes[:1])
    with pytest.raises(ValueError, match="previous code has shape"):
        CODER.decode(payload, shape, [np.zeros((4, 3, 2), np.uint8)])
    # the decisions come first (9 blocks go on), then coder 2's flag, and a window of 33 channels
    going, m = stop_symbols(np.ones((3, 3), bool), np.ones((3, 3), bool))
    symbols = np.concatenate([going, [1, 1, 0, 0, 0, 0, 1]]).astype(np.int32)
    probabilities = np.concatenate([1 - m / 2**spec.CONTEXT_PRECISION, np.full(7, 0.5)])
    with pytest.raises(ValueError, match="window of 33"):
        CODER.decode(ans_payload(symbols, probabilities), (40, 3, 3), [np.zeros((40, 3, 3), np.uint8)])


def test_corrupt_payload_in_a_file_is_a_corrupt_chunk(make_header):
    header = make_header(width=40, height=20, iterations=2, coder="adaptive")
    codes = _stopping(header.code_shape)
    good = write_bytes(header, codes)
    payload = CODER.encode(codes[1], codes[:1])
    chunk = pack_chunk(spec.CHUNK_ITERATION, payload, index=2)
    damaged = good.replace(chunk, pack_chunk(spec.CHUNK_ITERATION, b"\x05\x00\x00\x00" + payload, index=2))
    rnc = read(damaged)
    assert np.array_equal(rnc.codes(1)[0], codes[0])
    with pytest.raises(CorruptChunkError, match="RITR #2"):
        rnc.codes()


def test_cap_covers_every_decision_and_bit():
    shape = (32, 6, 6)
    assert CODER.max_payload_bytes(shape) == context_coder.max_payload_bytes(shape, decisions=36)
    assert CODER.max_payload_bytes(shape) >= CONTEXT.max_payload_bytes(shape) + 25 * 36 // 8
    # bits that contradict every prediction, and stops that contradict their contexts
    first = correlated_codes(shape, 1, 9)[0]
    codes = [first if t % 2 == 0 else 1 - first for t in range(4)]
    codes = stopped_codes(codes, 9, rate=0.2, smooth=False)
    for t, bits in enumerate(codes):
        assert len(CODER.encode(bits, codes[:t])) <= CODER.max_payload_bytes(shape)


def test_a_payload_whose_state_never_reaches_zero_is_refused_after_its_last_symbol():
    stuck = (256).to_bytes(4, "little")  # below every weight of a 0: every symbol decodes as 0
    previous = [np.zeros((32, 64, 64), np.uint8)]
    with pytest.raises(ValueError, match="data left over"):
        CODER.decode(stuck, (32, 64, 64), previous)


def test_an_empty_payload_keeps_every_block_and_codes_zeros():
    shape = (32, 256, 256)
    bits = CODER.decode(b"", shape, [np.ones(shape, dtype=np.uint8)])
    assert not bits.any()


@settings(max_examples=10, deadline=None)
@given(shapes, st.integers(0, 2**32 - 1), st.sampled_from([1, 3, 8]))
def test_decoding_in_small_strips_gives_the_same_code(shape, seed, strip):
    codes = random_ternary(shape, 3, seed, rate=0.3, structured=True)
    payloads = [CODER.encode(bits, codes[:t]) for t, bits in enumerate(codes)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(context_coder, "STRIP_SYMBOLS", strip)
        for t, (bits, payload) in enumerate(zip(codes, payloads)):
            assert np.array_equal(CODER.decode(payload, bits.shape, codes[:t]), bits)


def test_a_hostile_payload_costs_about_what_coder_2_pays_for_it():
    """Work bounded by the header: a word whose state never reaches 0 makes every decision and
    bit decode as 0 before it is refused — coder 2's work for the bits, plus a decision a block."""
    import time

    shape = (32, 256, 256)
    previous = [np.ones(shape, dtype=np.uint8)]
    stuck = (256).to_bytes(4, "little")
    seconds = {}
    for coder in (CONTEXT, CODER):
        start = time.perf_counter()
        with pytest.raises(ValueError, match="data left over"):
            coder.decode(stuck, shape, previous)
        seconds[coder.name] = time.perf_counter() - start
    assert seconds["adaptive"] < 3 * seconds["context"] + 0.5, seconds
