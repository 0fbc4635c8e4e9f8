"""The reference encoder's choice of coder 2's weights (informative: any weights decode).

Per channel ``c`` a ridge-regularised logistic regression of its bits on the terms of its logit
(:mod:`.model`) — 1, ``S``, ``s(L[c])`` and ``s(b[j])`` for the ``window`` channels ``j``
before ``c`` — with Böhning's bounded-Hessian Newton steps: the bound ``AᵀA/4 + λ`` is inverted
once, so a step is two ``C × C × H·W`` products for all channels together.  The weights are then
rounded to integers.  The arithmetic is float64, so that the rounding (and the conformance
vectors) come out the same on every machine; the products avoid BLAS, whose threads crawl on a
loaded machine (hundreds of times slower than one thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import CROSS, CROSS_CHANNELS, PREVIOUS, SPATIAL, WEIGHT_LIMITS, Weights, spatial_sums

if TYPE_CHECKING:
    import numpy as np

__all__ = ["windows", "fit_weights"]

_LOGIT_UNITS_PER_NAT = 4 / 0.6931471805599453  # quarter bits: 4 / ln 2
_RIDGE = 1.0
_STEPS = 4  # 3 lose 0.1–0.3 % of the saving, 6 gain under 0.1 %
_PLACES_PER_WINDOW_CHANNEL = 16  # the window is at most places / this
_ONLY_THE_FULL_WINDOW = 1024  # places from which the full window is the only candidate
#: Places a fit reads at most (a 4096×4096 image has 2^16): larger codes are fitted on an even
#: sample of their places, so the fit's float64 working set stays ~75 MB whatever the image.
FIT_PLACES = 1 << 16


def windows(shape: tuple[int, int, int], places: int | None = None) -> list[int]:
    """The windows worth trying for a code of ``shape`` with ``places`` blocks holding bits (default:
    all; none: no model is worth fitting): cross weights pay for themselves on large codes (a
    768×512 image has 1536 places) and can cost more than they save on small ones (under ~300
    places), so there the encoder tries no cross weights too."""
    channels, rows, cols = shape
    places = rows * cols if places is None else places
    if not places:
        return []
    full = min(CROSS_CHANNELS, channels - 1, places // _PLACES_PER_WINDOW_CHANNEL)
    return [full] if places >= _ONLY_THE_FULL_WINDOW or not full else [full, 0]


def fit_weights(bits: np.ndarray, padded: np.ndarray, last_signed: np.ndarray | None, window: int,
                active: np.ndarray | None = None) -> Weights:
    """Weights for the code ``bits`` (its :func:`~.model.signed_padded` form ``padded``),
    given the previous iteration's ``s(L)`` (``None`` for iteration 1), with cross weights for
    ``window`` channels, fitted on the places of ``active`` (default: all)."""
    import numpy as np

    channels = bits.shape[0]
    if active is None:
        sample = _sample(bits.shape[1], bits.shape[2])
    else:  # the blocks with bits, every k-th of them when there are more than FIT_PLACES
        places = np.flatnonzero(active)
        sample = places[::-(-len(places) // FIT_PLACES)]
    signed = padded[:, 1:-1, 1:-1].reshape(channels, -1)[:, sample].astype(np.float64)
    last = np.zeros_like(signed) if last_signed is None else last_signed.reshape(channels, -1)[:, sample]
    own = np.stack([np.ones_like(signed), spatial_sums(padded).reshape(channels, -1)[:, sample], last],
                   axis=1).astype(np.float64)  # each channel's BIAS, SPATIAL and PREVIOUS terms
    # channel c's cross feature k is channel c − window + k, where that is ≥ 0
    source = np.arange(channels)[:, None] - window + np.arange(window)[None, :]
    used = source >= 0
    source = np.maximum(source, 0)
    inverse = np.linalg.inv(_hessian_bounds(signed, own, source, used))
    target = bits.reshape(channels, -1)[:, sample].astype(np.float64)
    rows = np.broadcast_to(np.arange(channels)[:, None], source.shape)
    weights = np.zeros((channels, CROSS + window))
    cross = np.zeros((channels, channels))
    for step in range(_STEPS):
        if step:
            cross[rows[used], source[used]] = weights[:, CROSS:][used]
            logits = np.einsum("cj,jn->cn", cross, signed) + np.einsum("ck,ckn->cn", weights[:, :CROSS], own)
            error = 1 / (1 + np.exp(-logits)) - target
        else:  # every weight is 0: every probability ½
            error = 0.5 - target
        gradient = np.concatenate([np.einsum("cn,ckn->ck", error, own),
                                   np.where(used, _products(error, signed)[rows, source], 0)], axis=1)
        weights -= np.einsum("cij,cj->ci", inverse, gradient + _RIDGE * weights)
    low, high = WEIGHT_LIMITS
    units = np.clip(np.round(weights * _LOGIT_UNITS_PER_NAT), low, high).astype(np.int64)
    table = np.zeros((channels, CROSS + channels), dtype=np.int64)
    table[:, :CROSS] = units[:, :CROSS]
    table[rows[used], CROSS + source[used]] = units[:, CROSS:][used]
    return Weights(table, last_signed is not None, window)


def _sample(rows: int, cols: int) -> slice:
    """The places (flat indices) a fit reads: all up to :data:`FIT_PLACES`, else every k-th, with k
    prime to ``cols`` so that the sample covers every column (and each phase of the 2×2 grid)."""
    import math

    step = -(-rows * cols // FIT_PLACES)
    while step > 1 and math.gcd(step, cols) != 1:
        step += 1
    return slice(None, None, step)


def _products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T``, without BLAS."""
    import numpy as np

    return np.einsum("cn,jn->cj", a, b)


def _hessian_bounds(signed: np.ndarray, own: np.ndarray, source: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Per channel ``AᵀA/4 + λ`` of its features (``own``: bias, spatial and previous, then the
    channels ``source`` where ``used``); 1 on the diagonal of unused columns (their weight stays 0)."""
    import numpy as np

    channels, window = source.shape
    rows = np.arange(channels)[:, None]
    width = CROSS + window
    bound = np.zeros((channels, width, width))
    bound[:, :CROSS, :CROSS] = np.einsum("ckn,cin->cki", own, own)
    with_cross = np.stack([np.broadcast_to(signed.sum(axis=1), (channels, channels))]
                          + [_products(own[:, k], signed) if own[:, k].any() else np.zeros((channels, channels))
                             for k in (SPATIAL, PREVIOUS)], axis=1)  # [c, kind, j]
    bound[:, :CROSS, CROSS:] = np.where(used[:, None, :], with_cross[rows, :, source].transpose(0, 2, 1), 0)
    bound[:, CROSS:, :CROSS] = bound[:, :CROSS, CROSS:].transpose(0, 2, 1)
    pairs = used[:, :, None] & used[:, None, :]
    bound[:, CROSS:, CROSS:] = np.where(pairs, _products(signed, signed)[source[:, :, None], source[:, None, :]], 0)
    bound /= 4
    diagonal = np.concatenate([np.full((channels, CROSS), _RIDGE), np.where(used, _RIDGE, 1.0)], axis=1)
    bound[:, np.arange(width), np.arange(width)] += diagonal
    return bound
