"""Spatially adaptive iterations: which 16×16 blocks send which iterations, and how good a block is.

From iteration 2 on a block may stop: it sends nothing more (its code is
:data:`~rnncodec.codec.STOPPED` in every later iteration, the network sees 0 there, encoder and
decoder alike).  A *plan* is the number of iterations each block sends, ``sends`` —
``(H/16, W/16)`` integers ≥ 1 over the padded image's block grid (:meth:`Codec.iter_codes`).

**Block errors**, measured on a block's *real* pixels (the padding that rounds the image up to a
multiple of 16 does not count) in the tile's own reconstruction, rounded to 8 bits, before tile
seams are blended:

- :func:`block_mse`: the mean squared error over R, G and B (8-bit levels); its PSNR (dB, peak
  255) is :func:`psnr_of`.  For a grayscale image, of the gray values (the three channels are equal).
- :func:`block_msssim_error`: the block's share of MS-SSIM's distortion — at each of MS-SSIM's five
  scales (11×11 Gaussian window, its weights and constants), ``1 − cs`` (contrast–structure; at
  the coarsest scale ``1 − SSIM``) averaged over the block's pixels, weighted as MS-SSIM weighs its
  scales.  Unlike the MSE it is normalised by the local contrast: a small error in a smooth region
  (sky) costs as much as a large one in texture.
- :class:`PlanErrors`, what quality targets plan from: the MSE and, instead of the block's own
  share, what the block's iterations did to the *whole image's* MS-SSIM — to first order, through
  its gradient (:func:`msssim_gradient`).  MS-SSIM weighs its coarse scales most, where a block is a
  pixel or four and the window spans 44–176 pixels: a block's change reaches far, and a score of the
  block alone misses most of it (measured: docs/api.md).

Two ways to plan, both in :mod:`rnncodec.rate`:

- :func:`sends_for_quality` (``quality=Q``): a block sends iteration ``t`` while each iteration up to
  ``t`` lowers its error by at least the MSE of ``Q`` dB of PSNR, the error counting MSE and the
  image's MS-SSIM alike (:class:`PlanErrors`, :func:`iteration_gains`) — the rate–distortion rule
  "an iteration is worth its bits while it buys at least this much", measured *in the uniform
  encoding* of the image (every block sending every iteration), at most the maximum iterations.
  Planning from one reference encoding, not from the adaptive encoding itself, makes the plans
  **nested**: a higher ``Q`` (a smaller gain still worth an iteration) sends every block at least
  the iterations a lower one does — whereas deciding from the adaptive reconstruction would let a
  block that goes on improve its neighbours, which then stop sooner than at the lower target.
- :func:`worst_first` (``max_bytes``): all blocks send while a whole iteration fits; the last
  iteration goes to the blocks with the largest error (MSE) first, as many as fit.
"""

from __future__ import annotations

import math

import numpy as np

from .formats import spec

__all__ = ["block_mse", "block_msssim_error", "block_errors", "PlanErrors", "msssim_gradient", "psnr_of", "mse_of",
           "check_sends", "iteration_gains", "sends_for_quality", "worst_first", "image_psnr", "STOPPED", "ADAPTIVE_CODER",
           "MSSSIM_WEIGHTS"]

BLOCK = spec.BLOCK_SIZE
#: The code value of a block that sent nothing this iteration.
STOPPED = spec.STOPPED
#: The payload coder of files whose blocks stop (coder 3, formats/SPEC.md).
ADAPTIVE_CODER = "adaptive"


#: MS-SSIM's weights of its five scales, finest first (Wang, Simoncelli & Bovik 2003; pytorch-msssim's).
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_C1, _C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2  # SSIM's constants at peak 255
_RADIUS = 5
_GAUSSIAN = np.exp(-np.arange(-_RADIUS, _RADIUS + 1) ** 2 / (2 * 1.5 ** 2))
_GAUSSIAN = (_GAUSSIAN / _GAUSSIAN.sum()).astype(np.float32)  # the 11-tap window, σ = 1.5
_STRIP_BYTES = 1 << 17  # how many bytes of rows :func:`_blur` works on at a time


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
    return _block_means(error / 3)


def block_msssim_error(decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Each 16×16 block's share of MS-SSIM's distortion (0 where the block is exact; the module's
    docstring): ``Σ_s w_s · mean over the block of (1 − cs_s)`` over MS-SSIM's scales ``s``
    (:data:`MSSSIM_WEIGHTS`, ``cs`` → SSIM at the coarsest), each scale's map (computed on the image
    halved ``s`` times, the window reflected at the edges) spread back over the pixels it covers.
    Scales of fewer than 2 pixels a side are left out and the weights of the others rescaled to sum
    to 1, so any image size works (1×1 included).

    Args and returns: as :func:`block_mse`.
    """
    return _MsssimReference(original).block_error(decoded)


class _MsssimReference:
    """What :func:`block_msssim_error` needs of an original at each scale — the halved image, its
    windowed mean and variance — computed once for every reconstruction measured against it."""

    def __init__(self, original: np.ndarray):
        self.height, self.width = original.shape[:2]
        x = original.astype(np.float32)
        self.scales = []  # (x, mean of x, variance of x) per scale, the finest first
        for scale in range(len(MSSSIM_WEIGHTS)):
            if scale and min(x.shape[:2]) < 2:
                break
            if scale:
                x = _halve(x)
            mx, xx = np.split(_blur(np.concatenate([x, x * x], 2)), 2, axis=2)
            self.scales.append((x, mx, xx - mx * mx))

    def block_error(self, decoded: np.ndarray) -> np.ndarray:
        """:func:`block_msssim_error` of ``decoded`` (at least the original's size) against the original."""
        h, w = self.height, self.width
        y = decoded[:h, :w].astype(np.float32)
        total = np.zeros((h, w))
        for scale, (x, mx, vx) in enumerate(self.scales):
            if scale:
                y = _halve(y)
            blurred = _blur(np.concatenate([y, y * y, x * y], 2))
            loss = np.empty(y.shape[:2])
            strip = max(1, _STRIP_BYTES // blurred[0].nbytes)  # cache-sized, as in _blur
            for top in range(0, len(loss), strip):
                rows = slice(top, top + strip)
                loss[rows] = 1 - _similarity(blurred[rows], mx[rows], vx[rows],
                                             luminance=scale == len(MSSSIM_WEIGHTS) - 1).mean(2, dtype=np.float64)
            # each pixel's value at this scale; odd sides: the last row or column goes on
            rows = np.minimum(np.arange(h) >> scale, loss.shape[0] - 1)
            cols = np.minimum(np.arange(w) >> scale, loss.shape[1] - 1)
            total += MSSSIM_WEIGHTS[scale] * loss[rows[:, None], cols]
        return _block_means(total / sum(MSSSIM_WEIGHTS[:len(self.scales)]))


class _ImageMsssim:
    """The image's MS-SSIM against one original, as it is usually computed (pytorch_msssim's
    ``ms_ssim``, what the benchmarks report): each channel's mean similarity — ``cs`` at the five
    scales, SSIM at the coarsest — where the 11×11 window fits whole, an odd side padded with a zero
    row or column before halving; their product weighted as MS-SSIM weighs the scales, averaged over
    R, G and B.  Scales too small for the window are left out and the weights of the others rescaled
    (an image under 11 pixels a side has none: MS-SSIM 1, gradient 0).  Calling it gives the value
    and its gradient with respect to the pixels (8-bit levels)."""

    def __init__(self, original: np.ndarray):
        self.height, self.width = original.shape[:2]
        x = original.astype(np.float32)
        self.scales = []  # (x, windowed mean of x, windowed variance of x) per scale, the finest first
        for scale in range(len(MSSSIM_WEIGHTS)):
            if scale:
                x = _halve_padded(x)
            if min(x.shape[:2]) < 2 * _RADIUS + 1:
                break
            mx, xx = np.split(_window(np.concatenate([x, x * x], 2)), 2, axis=2)
            self.scales.append((x, mx, xx - mx * mx))
        weights = np.array(MSSSIM_WEIGHTS[:len(self.scales)])
        self.weights = weights / weights.sum() if len(weights) else weights

    def real(self, decoded: np.ndarray) -> np.ndarray:
        """``decoded``'s real pixels (the original's size), float32."""
        return decoded[:self.height, :self.width].astype(np.float32)

    def __call__(self, y: np.ndarray) -> tuple[float, np.ndarray]:
        """MS-SSIM of the real pixels ``y`` (:meth:`real`) and its gradient, ``y``'s shape."""
        ys = [y]
        for _ in self.scales[1:]:
            ys.append(_halve_padded(ys[-1]))
        values, partials = [], []  # per scale: each channel's mean similarity; its derivatives
        for scale, ((x, mx, vx), y) in enumerate(zip(self.scales, ys)):
            my, yy, xy = np.split(_window(np.concatenate([y, y * y, x * y], 2)), 3, axis=2)
            vy, cov = yy - my * my, xy - mx * my
            top, bottom = 2 * cov + _C2, vx + vy + _C2
            cs = top / bottom
            d_cov, d_var = 2 / bottom, -top / bottom ** 2  # d cs / d cov, d cs / d vy
            d_my = -mx * d_cov - 2 * my * d_var  # through cov and vy
            if scale == len(self.scales) - 1:  # the luminance term: SSIM at the coarsest scale
                above, below = 2 * mx * my + _C1, mx * mx + my * my + _C1
                luminance = above / below
                d_my = luminance * d_my + cs * (2 * mx / below - 2 * my * above / below ** 2)
                d_cov, d_var, cs = luminance * d_cov, luminance * d_var, luminance * cs
            values.append(np.maximum(cs.mean((0, 1), dtype=np.float64), 1e-6))
            # d/dμy; with vy = E[y²] − μy² and cov = E[xy] − mx·μy, d/dE[y²] and d/dE[xy]
            partials.append((d_my, d_var, d_cov))
        if not values:
            return 1.0, np.zeros_like(y)
        values = np.array(values)  # (scales, 3)
        per_channel = np.prod(values ** self.weights[:, None], axis=0)
        gradient = None  # with respect to the current scale's pixels, from the coarsest scale down
        for scale in reversed(range(len(self.scales))):
            x, y = self.scales[scale][0], ys[scale]
            # d MS-SSIM / d (each place's similarity): the channel's mean, the product, the channels' mean
            places = (y.shape[0] - 2 * _RADIUS) * (y.shape[1] - 2 * _RADIUS)
            k = (per_channel * self.weights[scale] / (3 * values[scale] * places)).astype(np.float32)
            spread = _window_transposed(np.concatenate([k * p for p in partials[scale]], 2))
            d_mean, d_square, d_product = np.split(spread, 3, axis=2)
            here = d_mean + 2 * y * d_square + x * d_product
            gradient = here if gradient is None else here + _halve_padded_transposed(gradient, y.shape)
        return float(per_channel.mean()), gradient


def _similarity(blurred: np.ndarray, mx: np.ndarray, vx: np.ndarray, luminance: bool) -> np.ndarray:
    """SSIM's contrast–structure term ``cs`` (times its luminance term if ``luminance``) per pixel
    and channel, from the windowed means of ``y``, ``y²`` and ``x·y`` (``blurred``, ``(h, w, 9)``)
    and the original's windowed mean and variance."""
    my, yy, xy = np.split(blurred, 3, axis=2)
    vy, cov = yy - my * my, xy - mx * my
    similarity = (2 * cov + _C2) / (vx + vy + _C2)
    if luminance:
        similarity *= (2 * mx * my + _C1) / (mx * mx + my * my + _C1)
    return similarity


class PlanErrors:
    """What a quality plan reads of each iteration of one uniform encoding, as a ``block_error`` of
    ``Codec.iter_codes_measured`` (the reconstructions of one image, or tile, in order): per block,
    ``(2, rows, cols)``, the MSE (:func:`block_mse`) and the image's MS-SSIM error as the block's
    iterations brought it down — after iteration 1 the image's ``1 − MS-SSIM`` in every block, after
    each later one less what the iteration's change of the block's pixels added to the image's MS-SSIM,
    to first order (its gradient at the reconstruction before, :func:`msssim_gradient`), counted
    once per block (times the number of blocks), so that the blocks' mean follows the image's error.

    Unlike :func:`block_msssim_error`, which scores a block by the similarity around it, this sees
    MS-SSIM's coarse scales — most of its weight, where a 16×16 block is a pixel or four and the
    window spans 44–176 pixels — through which a block's change reaches the whole image (measured:
    docs/api.md).  The original's statistics are computed once; one gradient per iteration but the
    last, when the next reconstruction comes."""

    def __init__(self):
        self._original = None

    def __call__(self, decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
        if original is not self._original:
            self._original, self._msssim, self._last = original, _ImageMsssim(original), None
        pixels = self._msssim.real(decoded)
        if self._last is None:  # iteration 1: the image's error, and the gradient iteration 2 needs
            value, gradient = self._msssim(pixels)
            error = np.full(-(-np.array(pixels.shape[:2]) // BLOCK), 1.0 - value)
        else:
            last_pixels, last_gradient, last_error = self._last
            if last_gradient is None:
                last_gradient = self._msssim(last_pixels)[1]
            gain = _block_sums((last_gradient * (pixels - last_pixels)).sum(2, dtype=np.float64))
            error = last_error - gain * gain.size
            gradient = None  # computed when the next reconstruction comes, if one does
        self._last = (pixels, gradient, error)
        return np.stack([block_mse(decoded, original), error])


def block_errors(decoded: np.ndarray, original: np.ndarray) -> np.ndarray:
    """:func:`block_mse` and :func:`block_msssim_error` of every block: ``(2, rows, cols)`` — each block
    scored by itself (what quality targets planned from before :class:`PlanErrors`; benchmarks compare the two)."""
    return np.stack([block_mse(decoded, original), block_msssim_error(decoded, original)])


def msssim_gradient(decoded: np.ndarray, original: np.ndarray) -> tuple[float, np.ndarray]:
    """The image's MS-SSIM of ``decoded`` against ``original`` as it is usually computed (5 scales,
    11×11 Gaussian window where it fits whole, RGB averaged; any size: :class:`PlanErrors`) and its
    gradient with respect to ``decoded``'s real pixels, ``(h, w, 3)`` float32 per 8-bit level."""
    msssim = _ImageMsssim(original)
    return msssim(msssim.real(decoded))


def _block_sums(values: np.ndarray) -> np.ndarray:
    """The sum of ``(h, w)`` values over each 16×16 block: ``(ceil(h/16), ceil(w/16))`` float64."""
    h, w = values.shape
    rows, cols = -(-h // BLOCK), -(-w // BLOCK)
    padded = np.zeros((rows * BLOCK, cols * BLOCK))
    padded[:h, :w] = values
    return padded.reshape(rows, BLOCK, cols, BLOCK).sum((1, 3))


def _block_means(values: np.ndarray) -> np.ndarray:
    """The mean of ``(h, w)`` values over each 16×16 block's real pixels: ``(ceil(h/16), ceil(w/16))``."""
    h, w = values.shape
    rows, cols = -(-h // BLOCK), -(-w // BLOCK)
    sums = _block_sums(values)
    heights = np.minimum(BLOCK, h - BLOCK * np.arange(rows))
    widths = np.minimum(BLOCK, w - BLOCK * np.arange(cols))
    return sums / np.outer(heights, widths)


def _blur(x: np.ndarray) -> np.ndarray:
    """The 11×11 Gaussian window over the first two axes of ``(h, w, c)``, the image reflected at its edges."""
    return _window(np.pad(x, ((_RADIUS, _RADIUS), (_RADIUS, _RADIUS), (0, 0)), mode="symmetric"))


def _window(padded: np.ndarray) -> np.ndarray:
    """The 11×11 Gaussian window over ``padded`` where it fits whole (``2·5`` rows and columns fewer).

    Done a strip of rows at a time, each strip's intermediate arrays small enough to stay in the
    CPU's cache (the same arithmetic, in the same order, as the whole image at once, several times
    faster)."""
    h, w = padded.shape[0] - 2 * _RADIUS, padded.shape[1] - 2 * _RADIUS
    out = np.empty((h, w, padded.shape[2]), dtype=padded.dtype)
    strip = max(1, _STRIP_BYTES // padded[0].nbytes)
    for top in range(0, h, strip):
        n = min(strip, h - top)
        rows = _GAUSSIAN[0] * padded[top:top + n]
        for i in range(1, len(_GAUSSIAN)):
            rows += _GAUSSIAN[i] * padded[top + i:top + i + n]
        blurred = out[top:top + n]
        np.multiply(rows[:, :w], _GAUSSIAN[0], out=blurred)
        for i in range(1, len(_GAUSSIAN)):
            blurred += _GAUSSIAN[i] * rows[:, i:i + w]
    return out


def _window_transposed(g: np.ndarray) -> np.ndarray:
    """The transpose of :func:`_window`: the window over ``g`` padded with zeros (the full correlation)."""
    return _window(np.pad(g, ((2 * _RADIUS, 2 * _RADIUS), (2 * _RADIUS, 2 * _RADIUS), (0, 0))))


def _halve(x: np.ndarray) -> np.ndarray:
    """2×2 average pooling (an odd last row or column is dropped), as MS-SSIM scales down."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    return (x[0:h:2, 0:w:2] + x[1:h:2, 0:w:2] + x[0:h:2, 1:w:2] + x[1:h:2, 1:w:2]) / 4


def _halve_padded(x: np.ndarray) -> np.ndarray:
    """2×2 average pooling as pytorch_msssim halves: an odd side padded with a zero row or column
    *before* its first (``avg_pool2d``'s padding, counted in the mean)."""
    h, w = x.shape[:2]
    if h % 2 or w % 2:
        x = np.pad(x, ((h % 2, 0), (w % 2, 0), (0, 0)))
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4


def _halve_padded_transposed(gradient: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The transpose of :func:`_halve_padded` onto ``shape``: a quarter of each value to each of its pixels."""
    top, left = shape[0] % 2, shape[1] % 2
    return np.repeat(np.repeat(gradient / 4, 2, 0), 2, 1)[top:top + shape[0], left:left + shape[1]]


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


def iteration_gains(errors_after: list[np.ndarray]) -> list[np.ndarray]:
    """What each iteration from the second on buys each block: ``gains[t - 2]``, ``(rows, cols)``,
    the fall of the block's error from iteration ``t − 1`` to ``t`` (``errors_after[t − 1]``:
    :class:`PlanErrors` after iteration ``t``), in MSE units, the MS-SSIM part converted at the
    image's own rate — the ratio of the image's mean MSE to its mean MS-SSIM error after iteration 1
    — so that both count alike (each an equal share of a dB of its own metric there).  Negative
    where an iteration made a block worse."""
    if not errors_after:
        return []
    first_mse, first_msssim = errors_after[0][0].mean(), errors_after[0][1].mean()
    rate = first_mse / first_msssim if first_msssim > 0 else 0.0
    return [(before[0] - after[0]) + rate * (before[1] - after[1])
            for before, after in zip(errors_after, errors_after[1:])]


def sends_for_quality(errors_after: list[np.ndarray], quality_db: float, max_iterations: int) -> np.ndarray:
    """The plan of a quality target: each block sends iteration ``t`` (≥ 2) while every iteration from
    2 to ``t`` of the uniform encoding lowers its error by at least ``mse_of(quality_db)``
    (:func:`iteration_gains`; ``errors_after[t]``: :class:`PlanErrors` after iteration ``t + 1``), at
    most ``max_iterations`` — and all of them when ``errors_after`` ends before the block stopped.

    Nested in ``quality_db``: a higher target (a smaller gain still worth an iteration) never sends a
    block fewer iterations."""
    limit = mse_of(quality_db)
    sends = np.ones(errors_after[0].shape[-2:], dtype=np.int64)
    going = np.ones(sends.shape, dtype=bool)
    for gain in iteration_gains(errors_after[:max_iterations]):
        going &= gain >= limit
        sends += going
    sends[going] = max_iterations
    return sends


def worst_first(errors_before: np.ndarray) -> np.ndarray:
    """Block indices (into the flattened grid) from the largest error to the smallest, ties in raster order."""
    return np.argsort(-errors_before.ravel(), kind="stable")
