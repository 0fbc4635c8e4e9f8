"""Spatially adaptive iterations: which 16×16 blocks send which iterations, and how good a block is.

From iteration 2 on a block may stop: it sends nothing more (its code is
:data:`~rnncodec.codec.STOPPED` in every later iteration, the network sees 0 there, encoder and
decoder alike).  A *plan* is the number of iterations each block sends, ``sends`` —
``(H/16, W/16)`` integers ≥ 1 over the padded image's block grid (:meth:`Codec.iter_codes`).

**Block quality** is the PSNR (dB, peak 255) over R, G and B of a block's *real* pixels (the padding
that rounds the image up to a multiple of 16 does not count) in the tile's own reconstruction,
rounded to 8 bits, before tile seams are blended: :func:`block_mse` and :func:`psnr_of`.  A block
whose every pixel is right has infinite PSNR.  For a grayscale image it is the PSNR of the gray
values (the three channels are equal).

Two ways to plan, both in :mod:`rnncodec.rate`:

- :func:`sends_for_quality` (``quality=Q``): each block sends until it first reaches ``Q`` dB *in
  the uniform encoding* of the image (every block sending every iteration), at most the maximum
  iterations.  Planning from one reference encoding, not from the adaptive encoding itself, makes
  the plans **nested**: a higher ``Q`` sends every block at least the iterations a lower one does —
  whereas deciding from the adaptive reconstruction would let a block that goes on improve its
  neighbours, which then stop sooner than at the lower target.
- :func:`worst_first` (``max_bytes``): all blocks send while a whole iteration fits; the last
  iteration goes to the blocks with the largest error first, as many as fit.
"""

from __future__ import annotations

import math

import numpy as np

from .formats import spec

__all__ = ["block_mse", "psnr_of", "mse_of", "check_sends", "sends_for_quality", "worst_first", "image_psnr",
           "STOPPED", "ADAPTIVE_CODER"]

BLOCK = spec.BLOCK_SIZE
#: The code value of a block that sent nothing this iteration.
STOPPED = spec.STOPPED
#: The payload coder of files whose blocks stop (coder 3, formats/SPEC.md).
ADAPTIVE_CODER = "adaptive"


def block_mse(decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Mean squared error (RGB, 8-bit levels) of each 16×16 block's real pixels.

    Args:
        decoded: ``(H', W', 3)`` uint8, at least the size of ``original`` (padding is ignored).
        original: ``(h, w, 3)`` uint8, the real pixels.

    Returns:
        ``(ceil(h/16), ceil(w/16))`` float64.
    """
    h, w = original.shape[:2]
    error = ((decoded[:h, :w].astype(np.float32) - original.astype(np.float32)) ** 2).sum(2, dtype=np.float64)
    rows, cols = -(-h // BLOCK), -(-w // BLOCK)
    padded = np.zeros((rows * BLOCK, cols * BLOCK))
    padded[:h, :w] = error
    sums = padded.reshape(rows, BLOCK, cols, BLOCK).sum((1, 3))
    heights = np.minimum(BLOCK, h - BLOCK * np.arange(rows))
    widths = np.minimum(BLOCK, w - BLOCK * np.arange(cols))
    return sums / (3 * np.outer(heights, widths))


def psnr_of(mse: np.ndarray) -> np.ndarray:
    """PSNR in dB (peak 255) of mean squared errors; ``inf`` where the error is 0."""
    mse = np.asarray(mse, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0 ** 2 / mse)


def mse_of(quality_db: float) -> float:
    """The mean squared error of ``quality_db`` dB of PSNR."""
    return 255.0 ** 2 / 10 ** (quality_db / 10)


def image_psnr(errors: np.ndarray, width: int, height: int) -> float:
    """The PSNR of a whole image from its blocks' errors (:func:`block_mse`), each weighted by its real pixels."""
    heights = np.minimum(BLOCK, height - BLOCK * np.arange(errors.shape[0]))
    widths = np.minimum(BLOCK, width - BLOCK * np.arange(errors.shape[1]))
    mse = float((errors * np.outer(heights, widths)).sum() / (width * height))
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def check_sends(sends: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """``sends`` as an int array of shape ``grid``, every value ≥ 1 (iteration 1 has no stops); ValueError if not."""
    sends = np.asarray(sends)
    if sends.shape != tuple(grid):
        raise ValueError(f"sends has shape {sends.shape}, the block grid is {tuple(grid)}")
    if not np.issubdtype(sends.dtype, np.integer) or (sends.size and sends.min() < 1):
        raise ValueError("sends must hold integers ≥ 1 (every block sends iteration 1)")
    return sends.astype(np.int64)


def sends_for_quality(errors_after: list[np.ndarray], quality_db: float, max_iterations: int) -> np.ndarray:
    """The plan of a per-block quality target: each block sends until the first iteration whose
    uniform reconstruction reaches ``quality_db`` (``errors_after[t]``: block errors after
    iteration ``t + 1`` of the uniform encoding), else ``max_iterations``.

    Nested in ``quality_db``: a higher target never sends a block fewer iterations."""
    limit = mse_of(quality_db)
    sends = np.full(errors_after[0].shape, max_iterations, dtype=np.int64)
    for t in range(min(len(errors_after), max_iterations) - 1, -1, -1):  # the first t that reaches it wins
        sends[errors_after[t] <= limit] = t + 1
    return sends


def worst_first(errors_before: np.ndarray) -> np.ndarray:
    """Block indices (into the flattened grid) from the largest error to the smallest, ties in raster order."""
    return np.argsort(-errors_before.ravel(), kind="stable")
