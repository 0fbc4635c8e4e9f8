"""Decoding in threads: order, errors per file, bounded look-ahead, early close."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

from rnncodec.recognition.workers import ConcurrentDecoding


class FakeDecoder:
    """Stands in for InputDecoder: 'decodes' a path after a random pause; ``bad`` paths fail."""

    def __init__(self, bad=(), gate: threading.Event | None = None):
        self.bad, self.gate = set(bad), gate
        self.started: list[Path] = []
        self.lock = threading.Lock()

    def decode(self, path: Path, iterations):
        with self.lock:
            self.started.append(path)
        if self.gate is not None:
            self.gate.wait(5)
        time.sleep(random.uniform(0, 0.01))
        if path in self.bad:
            raise ValueError(f"cannot decode {path}")
        return (path.name, iterations)


def test_results_come_in_input_order_with_errors_in_place():
    paths = [Path(f"f{i}.rnc") for i in range(40)]
    decoder = FakeDecoder(bad={paths[3], paths[17]})
    results = list(ConcurrentDecoding(decoder, paths, iterations=2, workers=3, ahead=5))
    assert [path for path, _ in results] == paths
    for path, item in results:
        if path in decoder.bad:
            assert isinstance(item, ValueError) and str(path) in str(item)
        else:
            assert item == (path.name, 2)


def test_decoding_starts_at_the_call_and_looks_ahead_a_bounded_number_of_files():
    paths = [Path(f"f{i}.rnc") for i in range(20)]
    decoder = FakeDecoder()
    decoding = ConcurrentDecoding(decoder, paths, workers=2, ahead=4)
    assert started(decoder, 4) == 4  # before anything is consumed
    next(decoding)
    assert started(decoder, 5) == 5  # one more per file consumed
    decoding.close()


def started(decoder: FakeDecoder, expected: int) -> int:
    """How many files ``decoder`` has started once ``expected`` have, or after a while."""
    deadline = time.monotonic() + 5
    while len(decoder.started) < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)  # and no more
    return len(decoder.started)


def test_close_drops_the_files_not_started():
    gate = threading.Event()
    decoder = FakeDecoder(gate=gate)
    paths = [Path(f"f{i}.rnc") for i in range(10)]
    decoding = ConcurrentDecoding(decoder, paths, workers=1, ahead=10)
    closing = threading.Thread(target=decoding.close)  # waits for the file being decoded
    closing.start()
    time.sleep(0.1)
    gate.set()
    closing.join(5)
    assert not closing.is_alive() and decoder.started == paths[:1]


def test_no_paths():
    with ConcurrentDecoding(FakeDecoder(), []) as decoding:
        assert list(decoding) == []
