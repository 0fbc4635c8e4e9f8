"""Seam smoothing: hide the lines where independently coded tiles meet.

Tiles are coded independently, so the decoder reconstructs the pixel next to a tile edge without
seeing the neighbouring tile; those pixels come out worse than the rest (as they do at the image
border), and the two columns (or rows) that meet at a seam read as a thin line.  After the tiles
are assembled, the decoder blends each seam's two pixels towards the straight line between
their outer neighbours::

    a = p[x-2], b = p[x+1]
    p[x-1] ← (1 − α)·p[x-1] + α·(2a + b)/3
    p[x]   ← (1 − α)·p[x]   + α·(a + 2b)/3        with α = SEAM_BLEND

first across vertical seams, then across horizontal ones.  Only those two pixels per seam change.
Measured by ``benchmarks/tiling.py`` (Kodak, tiles of 256 px): the mean step in the error across a
seam falls from 1.55× to 1.16× the step inside a tile at 4 iterations, and the PSNR of the band
around the seams rises by 0.2–0.4 dB at every iteration count.
"""

from __future__ import annotations

import numpy as np

SEAM_BLEND = 0.7


def smooth_seams(pixels: np.ndarray, tile_size: int) -> None:
    """Smooth, in place, the seams between ``tile_size`` tiles of an ``(H, W, C)`` uint8 image."""
    if not tile_size:
        return
    height, width = pixels.shape[:2]
    _smooth_columns(pixels, range(tile_size, width - 1, tile_size))
    _smooth_columns(pixels.transpose(1, 0, 2), range(tile_size, height - 1, tile_size))


def _smooth_columns(pixels: np.ndarray, seams: range) -> None:
    """Blend columns ``x-1`` and ``x`` at every seam ``x`` (``pixels`` may be a transposed view)."""
    xs = np.asarray(seams)
    if xs.size == 0:
        return
    a = pixels[:, xs - 2].astype(np.float32)
    b = pixels[:, xs + 1].astype(np.float32)
    for column, target in ((xs - 1, (2 * a + b) / 3), (xs, (a + 2 * b) / 3)):
        blended = (1 - SEAM_BLEND) * pixels[:, column] + SEAM_BLEND * target
        pixels[:, column] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
