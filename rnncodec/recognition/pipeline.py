"""Running a recognizer over decoded inputs: in batches, or progressively, iteration by iteration."""

from __future__ import annotations

from typing import Iterable, Iterator, Optional

from .base import Recognizer
from .inputs import Decoded
from .results import Result, Step

__all__ = ["recognize_batches", "recognize_progressively"]


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
