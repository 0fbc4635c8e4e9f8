"""Turning whatever a caller passes into the pixels the codec codes, and back.

The network codes 8-bit RGB.  Inputs are normalised here: EXIF orientation applied, palette,
CMYK, 16-bit, float and bilevel images converted, alpha split off (kept losslessly by the
container, or dropped only when the caller says so), and grayscale remembered so that it is
decoded as grayscale.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .choices import ALPHA_POLICIES, DOWNSCALE_SIDES
from .errors import ImageTooLargeError, MultiFrameWarning, UnsupportedImageError

__all__ = ["ImageInput", "SourceImage", "Downscale", "load_image", "downscaled", "check_pixels", "to_pil"]

ImageInput = Union[str, os.PathLike, bytes, bytearray, memoryview, Image.Image, np.ndarray]

_GRAY_MODES = {"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


@dataclass
class SourceImage:
    """Pixels ready to code.

    Attributes:
        rgb: ``(H, W, 3)`` uint8 array (grayscale replicated into three channels).
        mode: ``"L"`` or ``"RGB"``, what the decoder gives back (before alpha).
        alpha: ``(H, W)`` uint8 alpha plane, or ``None``.
        name: file name of the source, when it came from a file.
        source_bytes: size of the source file, when known.
        source_size: ``(width, height)`` of the image before it was downscaled (:class:`Downscale`;
            EXIF orientation applied), or ``None`` when it was not.
    """

    rgb: np.ndarray
    mode: str
    alpha: Optional[np.ndarray] = None
    name: Optional[str] = None
    source_bytes: Optional[int] = None
    source_size: Optional[tuple[int, int]] = None

    @property
    def height(self) -> int:
        return self.rgb.shape[0]

    @property
    def width(self) -> int:
        return self.rgb.shape[1]


@dataclass(frozen=True)
class Downscale:
    """Downscale an image before coding, never enlarging it: its ``side`` (``"shorter"`` or
    ``"longer"``) to at most ``pixels``, keeping the aspect ratio.

    The bytes of an iteration grow with the pixels, so a smaller image reaches a smaller budget.
    (For a recognizer it is not a free way to more iterations: at equal bytes the full size with
    fewer iterations measured better — docs/recognition.md.)
    """

    side: str
    pixels: int

    def __post_init__(self) -> None:
        if self.side not in DOWNSCALE_SIDES:
            raise ValueError(f"downscale side must be one of {DOWNSCALE_SIDES}, got {self.side!r}")
        if isinstance(self.pixels, bool) or not isinstance(self.pixels, int) or self.pixels < 1:
            raise ValueError(f"downscale to a whole number of pixels ≥ 1, got {self.pixels!r}")

    @classmethod
    def from_options(cls, shorter_side: Optional[int] = None,
                     longer_side: Optional[int] = None) -> Optional["Downscale"]:
        """The downscale ``encode(shorter_side=…, longer_side=…)`` asks for (at most one), or ``None``."""
        if shorter_side is not None and longer_side is not None:
            raise ValueError("give shorter_side or longer_side, not both")
        if shorter_side is not None:
            return cls("shorter", shorter_side)
        return None if longer_side is None else cls("longer", longer_side)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """The ``(width, height)`` an image of that size is coded at (its own when it is small enough)."""
        side = min(width, height) if self.side == "shorter" else max(width, height)
        if side <= self.pixels:
            return width, height
        if width == side:
            return self.pixels, max(1, round(height * self.pixels / side))
        return max(1, round(width * self.pixels / side)), self.pixels


def _open(source: ImageInput, max_pixels: Optional[int],
          downscale: Optional[Downscale] = None) -> tuple[Image.Image, Optional[str], Optional[int], tuple[int, int]]:
    """The image, its file name and size in bytes (when known), and its size in pixels as stored —
    a JPEG file with a ``downscale`` is decoded at a size between that and the final one (DCT
    scaling, as Pillow's ``thumbnail`` does): faster, and a fraction of the memory."""
    if isinstance(source, Image.Image):
        filename = getattr(source, "filename", None)
        return source, Path(filename).name if filename else None, None, source.size
    if isinstance(source, np.ndarray):
        image = _from_array(source)
        return image, None, None, image.size
    is_data = isinstance(source, (bytes, bytearray, memoryview))
    what = "data" if is_data else str(source)
    try:
        if is_data:
            data = bytes(source)
            image, name, size = Image.open(io.BytesIO(data)), None, len(data)
        else:
            path = Path(source)
            image, name, size = Image.open(path), path.name, path.stat().st_size
        check_pixels(image.size, max_pixels, what)  # from the header, before the pixels are decoded
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            warnings.warn(f"{name or what}: {frames} frames; only the first is encoded", MultiFrameWarning,
                          stacklevel=4)
        stored = image.size
        if downscale is not None and downscale.size(*stored) != stored:
            image.draft(image.mode, downscale.size(*stored))
        image.load()
        return image, name, size, stored
    except UnidentifiedImageError:
        raise UnsupportedImageError(f"{what}: not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{what}: {exc}") from None


def check_pixels(size: tuple[int, int], max_pixels: Optional[int], what: str = "image") -> None:
    """:class:`ImageTooLargeError` if an image of ``size`` (width, height) is over ``max_pixels``."""
    width, height = size
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLargeError(f"{what}: {width}×{height} = {width * height:,} pixels, more than "
                                 f"max_pixels = {max_pixels:,}")


def _from_array(array: np.ndarray) -> Image.Image:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise UnsupportedImageError(f"array of shape {array.shape}: expected H×W, H×W×1, H×W×3 or H×W×4")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        array = (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
    elif array.dtype == np.uint16:
        array = (array.astype(np.uint32) * 255 + 32767) // 65535
        array = array.astype(np.uint8)
    elif array.dtype != np.uint8:
        raise UnsupportedImageError(f"array of dtype {array.dtype}: expected uint8, uint16, bool or float in [0, 1]")
    mode = "L" if array.ndim == 2 else ("RGB" if array.shape[2] == 3 else "RGBA")
    return Image.fromarray(np.ascontiguousarray(array), mode)


def _to_8bit_gray(image: Image.Image) -> Image.Image:
    if image.mode in ("1", "L"):
        return image.convert("L")
    # 16/32-bit integer and float images: scale to 8 bits from their nominal range.
    array = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(array, 0, 255)
    else:
        maximum = 65535 if image.mode.startswith("I;16") or array.max(initial=0) > 255 else 255
        scaled = np.clip(array.astype(np.float64) * (255 / maximum), 0, 255)
    return Image.fromarray((scaled + 0.5).astype(np.uint8), "L")


def load_image(source: ImageInput, alpha: str = "keep", max_pixels: Optional[int] = None,
               downscale: Optional[Downscale] = None) -> SourceImage:
    """Normalise ``source`` (path, encoded bytes, PIL image or array) for coding.

    Args:
        alpha: what to do with an alpha channel — ``"keep"`` (stored losslessly beside the codes),
            ``"drop"`` (composite nothing, just discard it) or ``"refuse"`` (raise).
        max_pixels: largest ``width × height`` accepted (``None``: any), checked from an image
            file's header before its pixels are decoded (the size before any downscale).
        downscale: a smaller size to code the image at (Lanczos, alpha premultiplied; never enlarged).

    Raises:
        UnsupportedImageError: unreadable input, or alpha with ``alpha="refuse"``.
        ImageTooLargeError: over ``max_pixels`` or Pillow's decompression-bomb limit.

    Warns:
        MultiFrameWarning: an animated or multi-page image (its first frame is used).
    """
    if alpha not in ALPHA_POLICIES:
        raise ValueError(f"alpha must be one of {ALPHA_POLICIES}, got {alpha!r}")
    image, name, size, stored = _open(source, max_pixels, downscale)
    check_pixels(stored, max_pixels, name or "image")
    loaded = image.size
    image = ImageOps.exif_transpose(image)
    if (image.size[0] > image.size[1]) != (loaded[0] > loaded[1]):  # turned by its EXIF orientation
        stored = stored[::-1]
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode == "PA":
        image = image.convert("RGBA")
    has_alpha = image.mode in ("LA", "La", "RGBA", "RGBa")
    alpha_plane = None
    if has_alpha:
        if alpha == "refuse":
            raise UnsupportedImageError(f"{name or 'image'}: has an alpha channel (pass alpha='keep' to store it "
                                        "losslessly, or alpha='drop')")
        if image.mode in ("La", "RGBa"):
            image = image.convert("LA" if image.mode == "La" else "RGBA")
        if alpha == "keep":
            alpha_plane = np.array(image.getchannel("A"), dtype=np.uint8)
        image = image.convert("L" if image.mode == "LA" else "RGB")
    if image.mode in _GRAY_MODES:
        gray = _pixels(_to_8bit_gray(image))
        rgb = np.repeat(gray[:, :, None], 3, axis=2)
        mode = "L"
    else:
        rgb = _pixels(image if image.mode == "RGB" else image.convert("RGB"))
        mode = "RGB"
    source_image = SourceImage(rgb, mode, alpha_plane, name, size)
    if downscale is None or downscale.size(*stored) == stored:
        return source_image
    return downscaled(source_image, downscale.size(*stored), stored)


def downscaled(source: SourceImage, size: tuple[int, int],
               source_size: Optional[tuple[int, int]] = None) -> SourceImage:
    """``source`` resized to ``size`` (Lanczos; with alpha, premultiplied, so that transparent pixels
    lend no colour to their neighbours), remembering the size it had first: ``source_size``, else
    ``source``'s own ``source_size``, else its size."""
    stored = source_size or source.source_size or (source.width, source.height)
    gray = source.mode == "L"
    planes = [source.rgb[:, :, :1] if gray else source.rgb]
    if source.alpha is not None:
        planes.append(source.alpha[:, :, None])
    pixels = np.concatenate(planes, axis=2) if len(planes) > 1 else planes[0]
    mode = {(True, False): "L", (True, True): "LA", (False, False): "RGB", (False, True): "RGBA"}[
        gray, source.alpha is not None]
    image = Image.fromarray(np.ascontiguousarray(pixels if pixels.shape[2] > 1 else pixels[:, :, 0]), mode)
    resized = np.asarray(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    if resized.ndim == 2:
        resized = resized[:, :, None]
    colour = resized[:, :, :1 if gray else 3]
    rgb = np.ascontiguousarray(np.repeat(colour, 3, axis=2) if gray else colour)
    alpha = np.ascontiguousarray(resized[:, :, -1]) if source.alpha is not None else None
    return SourceImage(rgb, source.mode, alpha, source.name, source.source_bytes, stored)


#: Bytes of pixels :func:`_pixels` copies at a time.
_STRIP_BYTES = 1 << 24


def _pixels(image: Image.Image) -> np.ndarray:
    """A new uint8 array of an ``L`` or ``RGB`` image's pixels, copied a strip of rows at a time.

    ``np.asarray(image)`` goes through ``Image.tobytes()``, which holds the encoded chunks and their
    join at once: twice the array beside the image (a 169-megapixel RGB image peaked at 1.8 GB above
    the image's own 0.7 GB).  Strips keep the extra memory to the array and one strip.
    """
    width, height = image.size
    channels = len(image.getbands())
    out = np.empty((height, width, channels) if channels > 1 else (height, width), dtype=np.uint8)
    rows = max(1, _STRIP_BYTES // max(1, width * channels))
    for top in range(0, height, rows):
        out[top:top + rows] = np.asarray(image.crop((0, top, width, min(top + rows, height))))
    return out


def to_pil(rgb: np.ndarray, mode: str, alpha: Optional[np.ndarray] = None) -> Image.Image:
    """The decoded image: ``L`` or ``RGB`` (``LA``/``RGBA`` with alpha)."""
    if mode == "L":
        # BT.601 luma of the decoded RGB, like PIL's convert("L").
        image = Image.fromarray(rgb, "RGB").convert("L")
    else:
        image = Image.fromarray(rgb, "RGB")
    if alpha is not None:
        image = image.copy()
        image.putalpha(Image.fromarray(alpha, "L"))
    return image
