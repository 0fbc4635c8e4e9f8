"""Rate control: the file that meets a size or a quality target.

A **size target** (``max_bytes``, or ``bpp`` — a budget of ``floor(bpp·W·H/8)`` bytes, real file
bytes, container and payload coder included) gives the largest file that fits: every 16×16 block
sends every iteration while the next whole iteration fits, then (payload coder ``auto`` or
``adaptive``) a last iteration that only the blocks with the largest error send, as many as fit
(:mod:`rnncodec.adaptive`; the others stop).  It stops earlier, under the budget, after an iteration
that made the image no better (its error summed over the blocks not lower): weights get worse
past the iterations they were trained for (GRU_S_V4 past 8), and bytes there buy nothing. The
encoder is causal and that last iteration's code does not depend on which blocks send it, so the
network runs once, iteration by iteration, up to the first iteration over the budget; only the last
payload is coded again, a few times, to find how many blocks fit (:data:`MAX_LAST_PAYLOADS`). A file
is never over the budget: every size is measured, none estimated. A budget below the 1-iteration
file raises :class:`UnreachableTargetError`, or with ``allow_larger`` returns that file with a
warning, or with ``downscale_to_fit`` codes the image downscaled to the largest size whose file fits.

A **quality target** (``quality``, dB) is per block: each block sends iterations while each one
lowers its error by at least the MSE of ``quality`` dB of PSNR — the error counting the block's
MSE and what its iteration adds to the whole image's MS-SSIM alike (:class:`rnncodec.adaptive.PlanErrors`,
:func:`rnncodec.adaptive.iteration_gains`), at most the maximum iterations: the bits go where an
iteration buys the most, in PSNR and in MS-SSIM.
The stopping plan comes from the uniform encoding of the image (every block sending every
iteration), so plans are nested: a higher target sends every block at least as many iterations,
and the file does not get smaller (tested) — then the image is encoded with the plan (the network
runs twice).  Blocks still gaining that much at the maximum iterations are reported with a warning.

Memory: both keep every iteration's code and block errors; tiled images (larger than one tile)
are coded tile by tile, all of their iterations before the first is looked at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Optional

import numpy as np

from .adaptive import ADAPTIVE_CODER, BLOCK, STOPPED, PlanErrors, image_psnr, sends_for_quality, worst_first
from .choices import MAX_ITERATIONS
from .file_metadata import downscaled_chunk_growth, stripped
from .formats import truncation_sizes
from .formats.errors import UnreachableTargetError
from .imageio import Downscale, ImageInput, SourceImage, downscaled, load_image

if TYPE_CHECKING:
    from .codec import Codec

__all__ = ["RateTarget", "RateResult", "RateTargetWarning", "UnreachableTargetError", "encode_to_target",
           "MAX_LAST_PAYLOADS", "MAX_DOWNSCALE_TRIES"]


class RateTargetWarning(UserWarning):
    """A target that is not met: the file returned is the nearest there is (:attr:`RateResult.warning`)."""


@dataclass(frozen=True)
class RateTarget:
    """One of: ``max_bytes`` (file bytes), ``bpp`` (bits per pixel of the whole file) or
    ``quality`` (dB: the smallest gain an iteration must bring a block, as the MSE of that PSNR; see
    the module's docstring).

    ``allow_larger``: when even the smallest file is over a size budget, return it (with a
    warning) instead of raising :class:`UnreachableTargetError`.  ``downscale_to_fit`` (with
    ``max_bytes``): then code the image downscaled, at the largest size whose file fits.
    """

    max_bytes: Optional[int] = None
    bpp: Optional[float] = None
    quality: Optional[float] = None
    allow_larger: bool = False
    downscale_to_fit: bool = False

    def __post_init__(self) -> None:
        given = [name for name in ("max_bytes", "bpp", "quality") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of max_bytes, bpp and quality, got {', '.join(given) or 'none'}")
        if self.downscale_to_fit and (self.max_bytes is None or self.allow_larger):
            raise ValueError("downscale_to_fit goes with max_bytes (a bpp budget shrinks with the image), "
                             "not with allow_larger")
        if self.max_bytes is not None and (not isinstance(self.max_bytes, (int, np.integer)) or self.max_bytes < 1):
            raise ValueError(f"max_bytes must be a positive integer, got {self.max_bytes!r}")
        for name in ("bpp", "quality"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")

    @classmethod
    def from_options(cls, max_bytes: Optional[int] = None, bpp: Optional[float] = None,
                     quality: Optional[float] = None, allow_larger: bool = False,
                     downscale_to_fit: bool = False) -> Optional["RateTarget"]:
        """The target the options name, or ``None`` when they name none (a plain encode)."""
        if max_bytes is None and bpp is None and quality is None:
            if allow_larger or downscale_to_fit:
                raise ValueError(f"{'allow_larger' if allow_larger else 'downscale_to_fit'} goes with max_bytes"
                                 f"{' or bpp' if allow_larger else ''}")
            return None
        return cls(max_bytes, bpp, quality, allow_larger, downscale_to_fit)

    def budget(self, width: int, height: int) -> Optional[int]:
        """The byte budget for a ``width × height`` image; ``None`` for a quality target."""
        if self.max_bytes is not None:
            return int(self.max_bytes)
        if self.bpp is not None:
            return math.floor(self.bpp * width * height / 8)
        return None


@dataclass(frozen=True)
class RateResult:
    """The encoding a target chose.

    Attributes:
        data: the ``.rnc`` file.
        iterations: its iterations (the most any block sends).
        psnr: the PSNR in dB of the image it decodes to (quality targets only; RGB over the real
            pixels, before tile seams are blended: :func:`rnncodec.adaptive.image_psnr`).
        budget: the byte budget (size targets only).
        met: whether the file meets the target (false only with a warning).
        warning: why the target is not met (the smallest file is over the budget and
            ``allow_larger`` was given, or some blocks do not reach the quality), else ``None``.
        block_iterations: the mean over blocks of the iterations each sends (``iterations`` when
            every block sends every iteration).
    """

    data: bytes
    iterations: int
    psnr: Optional[float] = None
    budget: Optional[int] = None
    met: bool = True
    warning: Optional[str] = None
    block_iterations: Optional[float] = None

    def __post_init__(self) -> None:
        if self.block_iterations is None:
            object.__setattr__(self, "block_iterations", float(self.iterations))


#: Most codings of the last payload a size target tries (each a few tens of milliseconds on a Kodak image).
MAX_LAST_PAYLOADS = 10
#: Most sizes ``downscale_to_fit`` codes to find the largest that fits (each a size target's encoding).
MAX_DOWNSCALE_TRIES = 6


def encode_to_target(codec: "Codec", image: ImageInput, target: RateTarget, max_iterations: int = MAX_ITERATIONS,
                     *, coder: str = "auto", metadata: Optional[dict] = None, alpha: str = "keep",
                     max_pixels: Optional[int] = None, downscale: Optional[Downscale] = None,
                     strip_metadata: bool = False) -> RateResult:
    """Encode ``image`` with ``codec`` to meet ``target`` with at most ``max_iterations``
    iterations (see the module's docstring); ``metadata``, ``strip_metadata``: as :func:`rnncodec.encode`'s.

    Raises:
        UnreachableTargetError: a size budget below the 1-iteration file (unless ``allow_larger``).
        UnsupportedImageError, ImageTooLargeError, LimitExceededError, ValueError: as :meth:`Codec.encode`.
    """
    source = load_image(image, alpha=alpha, max_pixels=max_pixels, downscale=downscale)
    codec.header_for(source, max_iterations, "raw")  # refuse what readers would, before coding
    metadata = stripped(metadata) if strip_metadata else metadata
    if target.quality is not None:
        return _to_quality(codec, source, target.quality, max_iterations, coder, metadata)
    return _to_budget(codec, source, target, target.budget(source.width, source.height), max_iterations, coder,
                      metadata)


def _to_budget(codec: "Codec", source: SourceImage, target: RateTarget, budget: int, max_iterations: int,
               coder: str, metadata: Optional[dict]) -> RateResult:
    """Whole iterations while they fit and each makes the image better, then the blocks of the next
    one that fit, worst first.  Whether iteration ``t`` made the image better shows in the error the
    encoder sees before iteration ``t + 1`` — coded anyway, to know whether its file fits — so no
    decoder step is added; the last iteration coded (the cap's, or the one only some blocks send)
    goes unchecked."""
    codes: list[np.ndarray] = []
    errors: list[np.ndarray] = []  # the block errors before each iteration: after the one before it
    no_better = False

    def coded() -> Iterator[np.ndarray]:
        nonlocal no_better
        for bits, error in codec.iter_codes_measured(source.rgb, max_iterations, measure="before"):
            if len(errors) > 1 and error.sum() >= errors[-1].sum():
                no_better = True  # the last iteration did not lower the error (weights past their training)
                return
            codes.append(bits)
            errors.append(error)
            yield bits

    files = codec.prefix_files(source, coded(), max_iterations, coder=coder, metadata=metadata)
    fitting = earlier = over = None
    try:
        for data in files:
            if len(data) > budget:
                over = data
                break
            fitting, earlier = data, fitting
    finally:
        files.close()  # stop the encoder where the search stopped
    if no_better:  # the file before the last one that fitted
        return RateResult(earlier, len(codes) - 1, budget=budget)
    if fitting is None:
        if target.downscale_to_fit:
            return _downscaled_to_fit(codec, source, target, budget, max_iterations, coder, metadata, over)
        message = f"{budget:,} bytes is below the smallest file, {len(over):,} bytes (1 iteration)"
        if not target.allow_larger:
            raise UnreachableTargetError(message, smallest=len(over))
        return RateResult(over, 1, budget=budget, met=False, warning=message + "; kept it")
    whole = len(codes) - (over is not None)
    if over is None or coder not in ("auto", ADAPTIVE_CODER):
        return RateResult(fitting, whole, budget=budget)
    partial = _last_iteration_within(codec, source, codes, errors[-1], budget, metadata)
    if partial is None:
        return RateResult(fitting, whole, budget=budget)
    data, blocks = partial
    grid = codes[-1].shape[1] * codes[-1].shape[2]
    return RateResult(data, whole + 1, budget=budget, block_iterations=whole + blocks / grid)


def _downscaled_to_fit(codec: "Codec", source: SourceImage, target: RateTarget, budget: int, max_iterations: int,
                       coder: str, metadata: Optional[dict], smallest: bytes) -> RateResult:
    """The budget's file of ``source`` downscaled to the largest size whose 1-iteration file fits
    (``smallest``: the 1-iteration file of ``source`` itself, over the budget).

    A file is its container (header, metadata, alpha) plus about the same bytes for every 16×16
    block, so each size tried (at most :data:`MAX_DOWNSCALE_TRIES`) predicts the next from its
    measured bytes per block; the largest size that fitted is kept.  Every size is measured."""
    plain = RateTarget(max_bytes=target.max_bytes)
    width, height = source.width, source.height
    container = truncation_sizes(smallest)[0] + downscaled_chunk_growth(source, metadata)
    per_block = (len(smallest) - container) / max(1, _blocks((width, height)))
    best: Optional[tuple[int, RateResult]] = None  # (blocks, result) of the largest size that fitted
    too_many = _blocks((width, height))  # the fewest blocks known not to fit
    for _ in range(MAX_DOWNSCALE_TRIES):
        size = _size_with_blocks((width, height), (budget - container) / max(per_block, 1e-9))
        blocks = _blocks(size)
        if size is None or blocks >= too_many or (best is not None and blocks <= best[0]):
            break
        try:
            result = _to_budget(codec, downscaled(source, size), plain, budget, max_iterations, coder, metadata)
        except UnreachableTargetError as exc:
            too_many, first = blocks, exc.smallest
            per_block = (first - container) / blocks * 1.01  # a little above: the next guess errs small
            continue
        best = (blocks, result)
        sizes = truncation_sizes(result.data)
        container, per_block = sizes[0], (sizes[1] - sizes[0]) / blocks
    if best is None:
        raise UnreachableTargetError(f"{budget:,} bytes is below the smallest file at any size (at "
                                     f"{width}×{height}: {len(smallest):,} bytes, 1 iteration)",
                                     smallest=len(smallest))
    return best[1]


def _blocks(size: Optional[tuple[int, int]]) -> int:
    """16×16 blocks of an image of ``size`` (width, height); 0 for ``None``."""
    return 0 if size is None else -(-size[0] // BLOCK) * -(-size[1] // BLOCK)


def _size_with_blocks(size: tuple[int, int], blocks: float) -> Optional[tuple[int, int]]:
    """The largest downscale of ``size`` (aspect kept, as :class:`Downscale` does) with at most
    ``blocks`` 16×16 blocks; ``None`` when not even one block's worth fits."""
    if blocks < 1:
        return None
    width, height = size
    scale = min(1.0, math.sqrt(blocks * BLOCK * BLOCK / (width * height)))
    while scale > 0:
        smaller = Downscale("longer", max(1, round(max(width, height) * scale))).size(width, height)
        if _blocks(smaller) <= blocks:
            return smaller
        scale *= 0.99
    return None


def _last_iteration_within(codec: "Codec", source: SourceImage, codes: list[np.ndarray], errors_before: np.ndarray,
                           budget: int, metadata: Optional[dict]) -> Optional[tuple[bytes, int]]:
    """The file of ``codes[:-1]`` and, of ``codes[-1]``, the most blocks that fit in ``budget``,
    those with the largest error (``errors_before``) first, and how many; ``None`` when not one fits.

    The file size is not quite monotone in the blocks (entropy coding), so the search keeps a
    bracket of a size that fits and one that does not, interpolating between them, and returns
    the largest fitting count it has coded (at most :data:`MAX_LAST_PAYLOADS` codings)."""
    last = codes[-1]
    order = worst_first(errors_before)
    files = codec.last_iteration(source, codes[:-1], metadata=metadata)

    def keeping(blocks: int) -> np.ndarray:
        bits = last.copy()
        bits.reshape(bits.shape[0], -1)[:, order[blocks:]] = STOPPED
        return bits

    low, high = (0, files.size(keeping(0))), (order.size, files.size(last))
    if low[1] > budget:
        return None
    if high[1] <= budget:
        low = high
    for _ in range(MAX_LAST_PAYLOADS - 2):
        if high[0] - low[0] <= 1 or low is high:
            break
        guess = low[0] + (budget - low[1]) * (high[0] - low[0]) // max(1, high[1] - low[1])
        guess = min(max(guess, low[0] + 1), high[0] - 1)
        size = files.size(keeping(guess))
        if size <= budget:
            low = (guess, size)
        else:
            high = (guess, size)
    if low[0] == 0:
        return None
    data = files.file(keeping(low[0]))
    assert len(data) == low[1] <= budget
    return data, low[0]


def _to_quality(codec: "Codec", source: SourceImage, quality: float, max_iterations: int, coder: str,
                metadata: Optional[dict]) -> RateResult:
    """Each block while an iteration of the uniform encoding gains it ``quality`` (the plan,
    :func:`~rnncodec.adaptive.sends_for_quality`), then the image coded with that plan."""
    errors_after, uniform, states = [], [], []
    for bits, errors in codec.iter_codes_measured(source.rgb, max_iterations, measure="after",
                                                  block_error=PlanErrors(), states=states):
        uniform.append(bits)
        errors_after.append(errors)
        sends = sends_for_quality(errors_after, quality, max_iterations)
        # the adaptive encoding is this one up to the last iteration every block sends: keep the
        # state there (a block stopping at the next iteration will have sent this one)
        states[:] = [state for state in states if state.iterations == min(int(sends.min()), len(errors_after))]
        if sends.max() < len(errors_after):
            break  # every block has stopped
    # blocks that sent every iteration and gained enough by each: they would have sent more
    short = int((sends == max_iterations).sum()) if 1 < max_iterations == len(errors_after) else 0
    iterations = int(sends.max())
    # every block sending `iterations` is at least as good everywhere: the adaptive file only if smaller
    data = codec.file_bytes(source, uniform[:iterations], coder=coder, metadata=metadata)
    final = errors_after[iterations - 1][0]
    if sends.min() < iterations and coder in ("auto", ADAPTIVE_CODER):
        resume = states[0] if states else None  # none for a tiled image: coded from the start
        codes, adaptive_errors = uniform[:resume.iterations if resume else 0], None
        for bits, adaptive_errors in codec.iter_codes_measured(source.rgb, iterations, sends, measure="after",
                                                               resume=resume):
            codes.append(bits)
        adaptive = codec.file_bytes(source, codes, coder=coder, metadata=metadata)
        if len(adaptive) < len(data):
            data, final = adaptive, adaptive_errors
        else:
            sends = np.full_like(sends, iterations)
    warning = None
    if short:
        warning = (f"{short:,} of {sends.size:,} blocks still gain more than {quality:g} dB's error at iteration "
                   f"{max_iterations}; more iterations (-n) would give them more")
    return RateResult(data, iterations, psnr=image_psnr(final, source.width, source.height), met=not short,
                      warning=warning, block_iterations=float(sends.mean()))
