"""Rate control: the file that meets a size or a quality target.

A target picks one among a sequence of candidate encodings of the same image, **ordered by
size** (real file bytes, container and payload coder included, strictly increasing):

- a size target (``max_bytes``, or ``bpp`` — a budget of ``floor(bpp·W·H/8)`` bytes) takes the
  largest candidate that fits;
- a quality target takes the smallest candidate whose decoded image reaches ``quality`` dB of
  PSNR: over R, G and B (peak 255) for colour images, over the gray plane for grayscale ones,
  alpha aside, measured on the image the decoder gives back (seams blended, cropped).  The first
  candidate that reaches Q is taken, so a higher Q never gives a smaller file, even where PSNR
  is not monotone in the iterations.

Today every 16×16 block gets the same iterations, so the candidates are the iteration counts
1 … ``max_iterations``: the encoder is causal (the codes of k iterations are the first k of any
longer encode), so the image is encoded once and each prefix's file built with
:meth:`Codec.file_bytes`.  Candidates are made lazily: a size search stops encoding at the first
iteration over the budget, a quality search at the first that reaches the target, and each
iteration is entropy coded once (:meth:`Codec.prefix_files`), so a size target costs one
iteration more than a plain encode of the same file (a quality target, one decoder step per
iteration instead).  Spatially adaptive stopping (blocks that stop once good enough)
would add candidates between those counts — per-block quality thresholds, still ordered by size —
and :func:`select` would not change.

Memory: a quality search decodes as it encodes (:class:`~rnncodec.codec.ProgressiveDecoder`,
the decoder state of every tile at once), so on images larger than one tile it holds more than a
plain encode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

import numpy as np

from .choices import MAX_ITERATIONS
from .formats.errors import UnreachableTargetError
from .imageio import ImageInput, SourceImage, load_image

if TYPE_CHECKING:
    from .codec import Codec

__all__ = ["RateTarget", "Candidate", "RateResult", "RateTargetWarning", "UnreachableTargetError", "prefix_candidates", "select",
           "encode_to_target"]


class RateTargetWarning(UserWarning):
    """A target that is not met: the file returned is the nearest there is (:attr:`RateResult.warning`)."""


@dataclass(frozen=True)
class RateTarget:
    """One of: ``max_bytes`` (file bytes), ``bpp`` (bits per pixel of the whole file) or
    ``quality`` (PSNR in dB, see the module's docstring).

    ``allow_larger``: when even the smallest file is over a size budget, return it (with a
    warning) instead of raising :class:`UnreachableTargetError`.
    """

    max_bytes: Optional[int] = None
    bpp: Optional[float] = None
    quality: Optional[float] = None
    allow_larger: bool = False

    def __post_init__(self) -> None:
        given = [name for name in ("max_bytes", "bpp", "quality") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of max_bytes, bpp and quality, got {', '.join(given) or 'none'}")
        if self.max_bytes is not None and (not isinstance(self.max_bytes, (int, np.integer)) or self.max_bytes < 1):
            raise ValueError(f"max_bytes must be a positive integer, got {self.max_bytes!r}")
        for name in ("bpp", "quality"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")

    @classmethod
    def from_options(cls, max_bytes: Optional[int] = None, bpp: Optional[float] = None,
                     quality: Optional[float] = None, allow_larger: bool = False) -> Optional["RateTarget"]:
        """The target the options name, or ``None`` when they name none (a plain encode)."""
        if max_bytes is None and bpp is None and quality is None:
            if allow_larger:
                raise ValueError("allow_larger goes with max_bytes or bpp")
            return None
        return cls(max_bytes, bpp, quality, allow_larger)

    def budget(self, width: int, height: int) -> Optional[int]:
        """The byte budget for a ``width × height`` image; ``None`` for a quality target."""
        if self.max_bytes is not None:
            return int(self.max_bytes)
        if self.bpp is not None:
            return math.floor(self.bpp * width * height / 8)
        return None


@dataclass(frozen=True)
class Candidate:
    """One encoding of the image: its file and, when measured, its PSNR in dB."""

    iterations: int
    data: bytes
    psnr: Optional[float] = None


@dataclass(frozen=True)
class RateResult:
    """The encoding a target chose.

    Attributes:
        data: the ``.rnc`` file.
        iterations: its iterations.
        psnr: its PSNR in dB (quality targets only).
        budget: the byte budget (size targets only).
        met: whether the file meets the target (false only with a warning).
        warning: why the target is not met (the smallest file is over the budget and
            ``allow_larger`` was given, or the quality is out of reach), else ``None``.
    """

    data: bytes
    iterations: int
    psnr: Optional[float] = None
    budget: Optional[int] = None
    met: bool = True
    warning: Optional[str] = None


def _psnr(decoded: np.ndarray, reference: np.ndarray) -> float:
    mse = np.mean((decoded.astype(np.float64) - reference) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def prefix_candidates(codec: "Codec", source: SourceImage, max_iterations: int = MAX_ITERATIONS, *,
                      coder: str = "auto", metadata: Optional[dict] = None,
                      measure: bool = False) -> Iterator[Candidate]:
    """The files of 1 … ``max_iterations`` iterations of ``source``, made lazily from one encode.

    ``measure``: also decode each one and give its PSNR (see the module's docstring).
    """
    latest: list[np.ndarray] = []  # the code of the file prefix_files gives next

    def codes() -> Iterator[np.ndarray]:
        for bits in codec.iter_codes(source.rgb, max_iterations):
            latest[:] = [bits]
            yield bits

    files = codec.prefix_files(source, codes(), max_iterations, coder=coder, metadata=metadata)
    decoder = reference = None
    for count, data in enumerate(files, 1):
        psnr = None
        if measure:
            if decoder is None:
                decoder = codec.progressive_decoder(codec.header_for(source, max_iterations, coder="raw"))
                reference = source.rgb[..., 0] if source.mode == "L" else source.rgb
            psnr = _psnr(np.asarray(decoder.add(latest[0])), reference)
        yield Candidate(count, data, psnr)


def select(candidates: Iterable[Candidate], target: RateTarget, budget: Optional[int] = None) -> RateResult:
    """The candidate ``target`` picks from ``candidates`` (ordered by strictly increasing size),
    consuming no more of them than needed.

    Args:
        budget: the byte budget of a size target (:meth:`RateTarget.budget` for the image).

    Raises:
        UnreachableTargetError: the smallest candidate is over ``budget`` and the target does not
            allow larger files.
        ValueError: no candidates.
    """
    smallest = last = None
    if target.quality is None:
        if budget is None:
            raise ValueError("a size target needs its budget")
        for candidate in candidates:
            smallest = smallest or candidate
            if len(candidate.data) > budget:
                break
            last = candidate
        if last is not None:
            return RateResult(last.data, last.iterations, last.psnr, budget)
        if smallest is None:
            raise ValueError("no candidate encodings")
        plural = "s" if smallest.iterations > 1 else ""
        message = (f"{budget:,} bytes is below the smallest file, {len(smallest.data):,} bytes "
                   f"({smallest.iterations} iteration{plural})")
        if not target.allow_larger:
            raise UnreachableTargetError(message, smallest=len(smallest.data))
        return RateResult(smallest.data, smallest.iterations, smallest.psnr, budget, met=False,
                          warning=message + "; kept it")
    for candidate in candidates:
        last = candidate
        if candidate.psnr >= target.quality:
            return RateResult(candidate.data, candidate.iterations, candidate.psnr)
    if last is None:
        raise ValueError("no candidate encodings")
    return RateResult(last.data, last.iterations, last.psnr, met=False,
                      warning=f"PSNR {target.quality:g} dB is out of reach: {last.iterations} iterations give "
                              f"{last.psnr:.2f} dB; kept those")


def encode_to_target(codec: "Codec", image: ImageInput, target: RateTarget, max_iterations: int = MAX_ITERATIONS,
                     *, coder: str = "auto", metadata: Optional[dict] = None, alpha: str = "keep",
                     max_pixels: Optional[int] = None) -> RateResult:
    """Encode ``image`` with ``codec`` to the file ``target`` picks among 1 … ``max_iterations``
    iterations (see the module's docstring).

    Raises:
        UnreachableTargetError: a size budget below the 1-iteration file (unless ``allow_larger``).
        UnsupportedImageError, ImageTooLargeError, LimitExceededError, ValueError: as :meth:`Codec.encode`.
    """
    source = load_image(image, alpha=alpha, max_pixels=max_pixels)
    codec.header_for(source, max_iterations, "raw")  # refuse what readers would, before coding
    candidates = prefix_candidates(codec, source, max_iterations, coder=coder, metadata=metadata,
                                   measure=target.quality is not None)
    try:
        return select(candidates, target, target.budget(source.width, source.height))
    finally:
        candidates.close()  # stop the encoder where the search stopped
