"""A Pillow plugin: ``Image.open`` reads ``.rnc`` files and ``Image.save`` writes them.

``import rnncodec.pillow`` registers the format ``"RNC"`` (extension ``.rnc``, MIME type
``image/x-rnc``), as ``pillow_heif.register_heif_opener()`` does for HEIF::

    >>> import rnncodec.pillow                                      # doctest: +SKIP
    >>> im = Image.open("photo.rnc")          # size and mode from the header, no torch yet
    >>> im.iterations = 1                     # optional: decode only the first iterations
    >>> im.load()                             # decodes (torch and the weights load here)
    >>> im.save("copy.rnc", iterations=4)     # encode

Opening reads the file's chunks (every checksum is checked) but decodes nothing; ``load()``
decodes the first ``im.iterations`` iterations (all the file holds by default; ``info
["iterations"]`` says how many that is) with the shipped weights the file names, or those given
to :func:`register`.  A file cut short raises ``OSError("image file is truncated …")`` on
``load()`` unless ``ImageFile.LOAD_TRUNCATED_IMAGES`` is true; then its complete iterations are
decoded, as Pillow does for other formats.

Saving takes ``iterations`` (default 2), ``weights``, ``coder``, ``tile_size`` and ``alpha``:
the arguments of :func:`rnncodec.encode`.
"""

from __future__ import annotations

import io
import os
from typing import IO, Any, Optional, Union

from PIL import Image, ImageFile

from .formats import info, spec

__all__ = ["RNCImageFile", "register", "FORMAT", "MIME"]

FORMAT = "RNC"
MIME = "image/x-rnc"

#: Weights for decoding and encoding when an image does not say (``None``: the shipped ones).
_weights: Union[None, str, os.PathLike] = None


def _accept(prefix: bytes) -> bool:
    return prefix.startswith(spec.SIGNATURE)


class RNCImageFile(ImageFile.ImageFile):
    """An opened ``.rnc`` file; its pixels are decoded on ``load()``.

    Attributes:
        iterations: how many iterations ``load()`` decodes (default: every complete one).
        weights: the codec weights that decode it (default: those given to :func:`register`,
            else the shipped weights the file names).
    """

    format = FORMAT
    format_description = "rnncodec progressive neural image"

    def _open(self) -> None:
        assert self.fp is not None
        if not _accept(self.fp.read(len(spec.SIGNATURE))):
            raise SyntaxError("not an RNC file")
        self.fp.seek(0)
        summary = info(self.fp)  # reads the whole file leniently: checksums, no payload decoding
        self._size = (summary["width"], summary["height"])
        self._mode = summary["mode"] + ("A" if summary["has_alpha"] else "")
        self.info.update(iterations=summary["iterations"], truncated=summary["truncated"],
                         rnc_metadata=summary["metadata"] or {})
        self.iterations: Optional[int] = None
        self.weights = _weights
        self.tile = [ImageFile._Tile("rnc", (0, 0) + self.size, 0, None)]  # decoded by load()

    def load(self) -> Any:
        if self.tile and self.tile[0].codec_name == "rnc":
            self._decode()
        return super().load()

    def _decode(self) -> None:
        from .codec import decode

        if self.info["truncated"] and not ImageFile.LOAD_TRUNCATED_IMAGES:
            raise OSError(f"image file is truncated ({self.info['iterations']} complete iterations; "
                          "ImageFile.LOAD_TRUNCATED_IMAGES decodes them)")
        assert self.fp is not None
        self.fp.seek(0)
        data = self.fp.read()
        image = decode(data, self.iterations, weights=self.weights, strict=False)
        if self._exclusive_fp:  # Pillow opened the file: close it (it closes the pixels' buffer later)
            self.fp.close()
        self.fp = io.BytesIO(image.tobytes())  # Pillow's raw decoder copies the pixels in
        self.tile = [ImageFile._Tile("raw", (0, 0) + self.size, 0, (image.mode, 0, 1))]


def _save(im: Image.Image, fp: IO[bytes], filename: Union[str, bytes]) -> None:
    from .codec import encode

    options = im.encoderinfo
    kwargs = {key: options[key] for key in ("coder", "tile_size", "alpha") if key in options}
    fp.write(encode(im, options.get("iterations", 2), weights=options.get("weights", _weights), **kwargs))


def register(weights: Union[None, str, os.PathLike] = None) -> None:
    """Register the format with Pillow (importing this module already does, with ``weights=None``).

    Args:
        weights: codec weights for the images opened or saved from now on (a shipped name or a
            weights file); ``None``: the shipped weights each file names, the default to save.
    """
    global _weights
    _weights = weights
    Image.register_open(FORMAT, RNCImageFile, _accept)
    Image.register_save(FORMAT, _save)
    Image.register_extension(FORMAT, ".rnc")
    Image.register_mime(FORMAT, MIME)


register()
