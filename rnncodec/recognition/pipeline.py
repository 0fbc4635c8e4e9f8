"""Running a recognizer over decoded inputs: in batches, or progressively, iteration by iteration;
and :func:`recognize_inputs`, the whole run over files that ``rnc classify``/``detect`` make."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from .base import Recognizer
from .inputs import Decoded, InputDecoder
from .results import Result, Step

__all__ = ["recognize_batches", "recognize_progressively", "recognize_inputs", "decode_workers_for", "Outcome"]


def recognize_batches(recognizer: Recognizer, decoded: Iterable[Decoded], *, batch_size: int, top_k: int = 5,
                      threshold: float = 0.5) -> Iterator[tuple[Decoded, Result]]:
    """``(input, result)`` for each input, in order; the recognizer sees ``batch_size`` at a time.

    ``decoded`` is consumed lazily, so decoding and recognition interleave batch by batch.
    """
    batch: list[Decoded] = []
    for item in decoded:
        batch.append(item)
        if len(batch) == batch_size:
            yield from zip(batch, recognizer.predict([d.image for d in batch], top_k=top_k, threshold=threshold))
            batch = []
    if batch:
        yield from zip(batch, recognizer.predict([d.image for d in batch], top_k=top_k, threshold=threshold))


def recognize_progressively(recognizer: Recognizer, steps: Iterable[Decoded], *, top_k: int = 5,
                            threshold: float = 0.5, stop_at: Optional[float] = None
                            ) -> tuple[Decoded, Result, list[Step]]:
    """Recognise each refinement of one input until ``stop_at`` is reached or the input ends.

    Args:
        steps: the input after each iteration (``InputDecoder.progressive``); consumed lazily, so
            iterations after the stop are never decoded.
        stop_at: stop at the first step whose result's ``confidence`` (the top-1 probability, or
            the lowest kept detection score) is at least this.

    Returns:
        the last step decoded, its result, and every step's :class:`Step`.
    """
    history: list[Step] = []
    last = None
    for item in steps:
        (result,) = recognizer.predict([item.image], top_k=top_k, threshold=threshold)
        history.append(Step(item.sample.iterations, item.sample.bytes_read, result))
        last = (item, result)
        if stop_at is not None and result.confidence >= stop_at:
            break
    if last is None:
        raise ValueError("no step to recognise (a file with zero iterations)")
    return last[0], last[1], history


@dataclass(frozen=True)
class Outcome:
    """What became of one input of :func:`recognize_inputs`: its decoded form, the result and (when
    progressive) every step's; or the ``error`` that stopped it (the input is then skipped)."""

    path: Path
    decoded: Optional[Decoded] = None
    result: Optional[Result] = None
    steps: Optional[list[Step]] = None
    error: Optional[Exception] = None


def decode_workers_for(inputs: int, progressive: bool) -> int:
    """The default number of decoding threads: one per torch thread when there are several inputs to
    recognise in batches, else 0 (decode in turn)."""
    import torch

    threads = torch.get_num_threads()
    return threads if inputs > 1 and not progressive and threads > 1 else 0


def recognize_inputs(load_recognizer: Callable[[], Recognizer], decoder: InputDecoder, inputs: Sequence[Path], *,
                     iterations: Optional[int] = None, progressive: bool = False, stop_at: Optional[float] = None,
                     batch_size: Optional[int] = None, top_k: int = 5, threshold: float = 0.5,
                     decode_workers: Optional[int] = None,
                     progress: Callable[[Sequence[Path]], Iterable[Path]] = lambda paths: paths
                     ) -> Iterator[Outcome]:
    """Decode and recognise every input, in order: one :class:`Outcome` each.

    In batches (the default), ``decode_workers`` files (:func:`decode_workers_for` when ``None``)
    are decoded at a time in threads of one torch thread each (:class:`~.workers.ConcurrentDecoding`)
    while the recognizer loads and then runs; torch's thread count is restored at the end.
    Progressive (``progressive`` or ``stop_at``): each input iteration by iteration until ``stop_at``
    (:func:`recognize_progressively`).  ``progress`` wraps the inputs (a progress bar ticks as each
    file is done).  A file that cannot be decoded or recognised gives an outcome with its
    ``error``; the recognizer failing to load raises.
    """
    import torch

    from .workers import ConcurrentDecoding

    progressive = progressive or stop_at is not None
    if decode_workers and progressive:
        raise ValueError("decoding threads do not apply to progressive recognition")
    if decode_workers is None:
        decode_workers = decode_workers_for(len(inputs), progressive)
    options = dict(top_k=top_k, threshold=threshold)
    if progressive:
        recognizer = load_recognizer()
        for path in progress(inputs):
            try:
                item, result, steps = recognize_progressively(recognizer, decoder.progressive(path, iterations),
                                                              stop_at=stop_at, **options)
            except Exception as exc:  # noqa: BLE001 - reported per file by the caller
                yield Outcome(path, error=exc)
                continue
            yield Outcome(path, item, result, steps)
        return

    failed: list[Outcome] = []

    def in_turn() -> Iterator[tuple[Path, "Decoded | Exception"]]:
        for path in inputs:
            try:
                yield path, decoder.decode(path, iterations)
            except Exception as exc:  # noqa: BLE001
                yield path, exc

    def decoded(source: Iterator[tuple[Path, "Decoded | Exception"]]) -> Iterator[Decoded]:
        for _ in progress(inputs):  # ticks as decoded files arrive
            path, item = next(source)
            if isinstance(item, Exception):
                failed.append(Outcome(path, error=item))
            else:
                yield item

    threads = torch.get_num_threads()
    if decode_workers:  # one core per decoding thread and for the recognizer, no intra-op threads
        torch.set_num_threads(1)
    source = (ConcurrentDecoding(decoder, inputs, iterations=iterations, workers=decode_workers)
              if decode_workers else in_turn())
    try:
        recognizer = load_recognizer()  # while the first files decode
        for item, result in recognize_batches(recognizer, decoded(source),
                                              batch_size=batch_size or recognizer.batch_size, **options):
            yield from _drain(failed)
            yield Outcome(Path(item.sample.file), item, result)
        yield from _drain(failed)
    finally:
        source.close()  # on an error: cancel the decoding not yet started
        torch.set_num_threads(threads)


def _drain(outcomes: list[Outcome]) -> Iterator[Outcome]:
    while outcomes:
        yield outcomes.pop(0)
