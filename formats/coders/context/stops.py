"""Coder 3's stop decisions (SPEC.md §7.3): which blocks still active at iteration *t*−1 stop at *t*.

A code holds, besides 0 and 1, the value ``STOPPED`` over whole blocks (all ``C`` values of
``code[:, y, x]``): the block sent no bits.  Iteration 1 stops nothing and a block that stopped
stays stopped, so iteration *t*'s blocks are known from *t*−1's but for one decision per block
still active at *t*−1: 1 (stops now) or 0 (goes on).

The decisions come row by row, top to bottom, each row in two *groups*: its even columns, then its
odd ones (each ascending).  A decision's context is the state of its eight neighbours as far as
the decoder knows it: ``k_before`` of them stopped before (not active at *t*−1), ``k_now`` stop now
and ``k_going`` go on (decided in an earlier group); the others (outside the grid, or not decided
yet) count in none.  Each context ``9·min(k_before, 2) + 3·min(k_now, 2) + min(k_going, 2)`` has
counts ``n0``, ``n1`` (0 at the start of the payload) and a decision is coded with the weight of a 0
``m = floor(2^24·(2·n0 + 1) / (2·(n0 + n1) + 2))`` (the Krichevsky–Trofimov estimator), the counts
as they were before its group; after the group each decision adds one to its context's count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ... import spec

if TYPE_CHECKING:
    import numpy as np

__all__ = ["active_blocks", "check_stops", "stop_symbols", "read_stops", "CONTEXTS"]

_NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
#: Contexts ``9·min(k_before, 2) + 3·min(k_now, 2) + min(k_going, 2)``.
CONTEXTS = 27
_UNKNOWN, _GOING, _NOW, _BEFORE = 0, 1, 2, 3  # a neighbour's state, as the decoder knows it


def active_blocks(code: np.ndarray) -> np.ndarray:
    """The ``(H, W)`` bool map of the blocks of ``code`` that hold bits; :class:`ValueError` if a
    block is stopped in some of its ``C`` values only."""
    stopped = code == spec.STOPPED
    active = ~stopped[0]
    if (stopped.any(axis=0) != stopped.all(axis=0)).any():
        raise ValueError("a block is stopped in some of its values only (STOPPED must fill whole blocks)")
    return active


def check_stops(code: np.ndarray, last: np.ndarray | None) -> np.ndarray:
    """The active map of ``code`` (iteration *t*) after checking the rules against ``last`` (the code
    of *t*−1, ``None`` for *t* = 1): whole blocks, none at iteration 1, none restarting."""
    active = active_blocks(code)
    if last is None:
        if not active.all():
            raise ValueError("iteration 1 has stopped blocks (every block sends its first iteration)")
    elif (active & ~active_blocks(last)).any():
        raise ValueError("a block stopped at an earlier iteration holds bits again (stops are for good)")
    return active


def _groups(rows: int, cols: int) -> Iterator[tuple[int, int]]:
    """``(row, first column)`` of each group, in coding order (columns step 2)."""
    for y in range(rows):
        yield y, 0
        if cols > 1:
            yield y, 1


class _Decisions:
    """The state the contexts read (padded by one), the counts, and the previous iteration's map."""

    def __init__(self, was_active: np.ndarray):
        import numpy as np

        rows, cols = was_active.shape
        self.was_active = was_active
        self.state = np.full((rows + 2, cols + 2), _UNKNOWN, dtype=np.int8)
        self.state[1:-1, 1:-1][~was_active] = _BEFORE
        self.counts = np.zeros((CONTEXTS, 2), dtype=np.int64)  # goes on, stops

    def group(self, y: int, x0: int) -> tuple[np.ndarray, np.ndarray]:
        """Of the group ``(y, x0)``: which of its places decide (bool), and their contexts' ``m``."""
        import numpy as np

        cols = self.was_active.shape[1]
        deciding = self.was_active[y, x0::2]
        known = np.zeros((_BEFORE + 1, *deciding.shape), dtype=np.int64)  # neighbours in each state
        for dy, dx in _NEIGHBOURS:
            neighbour = self.state[1 + y + dy, 1 + x0 + dx: 1 + cols + dx: 2]
            known[neighbour, np.arange(len(neighbour))] += 1
        known = np.minimum(known, 2)
        self._contexts = (9 * known[_BEFORE] + 3 * known[_NOW] + known[_GOING])[deciding]
        zeros, ones = self.counts[self._contexts, 0], self.counts[self._contexts, 1]
        return deciding, ((2 * zeros + 1) << spec.CONTEXT_PRECISION) // (2 * (zeros + ones) + 2)

    def decided(self, y: int, x0: int, deciding: np.ndarray, stops: np.ndarray) -> None:
        """Record the group's decisions (``{0,1}``, one per deciding place) in the state and counts."""
        import numpy as np

        self.state[1 + y, 1 + x0: 1 + self.was_active.shape[1]: 2][deciding] = _GOING + stops
        self.counts += np.bincount(2 * self._contexts + stops, minlength=self.counts.size).reshape(-1, 2)


def stop_symbols(active: np.ndarray, was_active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decisions taking ``was_active`` (the blocks of *t*−1 with bits) to ``active`` (those of
    *t*), in coding order (int64 ``{0,1}``), and each one's ``m``."""
    import numpy as np

    decisions = _Decisions(was_active)
    symbols, weights_of_zero = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for y, x0 in _groups(*active.shape):
        deciding, m = decisions.group(y, x0)
        stops = (~active[y, x0::2][deciding]).astype(np.int64)
        decisions.decided(y, x0, deciding, stops)
        symbols.append(stops)
        weights_of_zero.append(m)
    return np.concatenate(symbols), np.concatenate(weights_of_zero)


def read_stops(read: Callable[[np.ndarray], np.ndarray], was_active: np.ndarray) -> np.ndarray:
    """The active map of iteration *t* from ``read(m)`` (the next ``len(m)`` decisions, decoded
    with those ``m``) and ``was_active`` (the map of *t*−1)."""
    import numpy as np

    decisions = _Decisions(was_active)
    active = was_active.copy()
    for y, x0 in _groups(*was_active.shape):
        deciding, m = decisions.group(y, x0)
        stops = read(m).astype(np.int64)
        decisions.decided(y, x0, deciding, stops)
        active[y, x0::2][deciding] = stops == 0
    return active
