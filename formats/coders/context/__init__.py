"""Coder 2, ``context``: the code's bits coded with per-bit probabilities from a small logistic
model that the payload carries (SPEC.md §7.2).

:mod:`.model` computes the logits and probabilities, :mod:`.weights` reads and writes the model's
weights as symbols, :mod:`.fit` is the encoder's choice of weights (informative) and :mod:`.coder`
the rANS stream and the :class:`ContextCoder` itself.  Coder 3, ``adaptive`` (SPEC.md §7.3), is
coder 2 over the blocks that did not stop: :mod:`.stops` codes its stop decisions and
:mod:`.adaptive` is the :class:`AdaptiveCoder`.
"""

from __future__ import annotations

from .adaptive import AdaptiveCoder
from .coder import ContextCoder

__all__ = ["ContextCoder", "AdaptiveCoder"]
