"""Turning recognition inputs into images: ``.rnc`` files (decoded by the codec) and plain images.

A ``.rnc`` input is recognised by its signature, whatever its name.  ``bytes_read`` of a decoded
``.rnc`` file counts the container bytes up to and including the last decoded iteration's chunk —
what a receiver must have before it can show that image — so it grows with every iteration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

from ..formats import RNCFile, read, spec
from .results import Sample

if TYPE_CHECKING:
    from PIL import Image

    from ..codec import Codec

__all__ = ["Decoded", "InputDecoder", "is_rnc", "bytes_through"]


@dataclass(frozen=True)
class Decoded:
    """A decoded input: the image to recognise and what it took (:class:`Sample`)."""

    sample: Sample
    image: "Image.Image"


def is_rnc(path: Union[str, os.PathLike]) -> bool:
    """Whether the file starts with the ``.rnc`` signature."""
    with open(path, "rb") as fileobj:
        return fileobj.read(len(spec.SIGNATURE)) == spec.SIGNATURE


def bytes_through(rnc: RNCFile, iterations: int) -> int:
    """Bytes of the file up to and including the chunk of iteration ``iterations`` (1-based).

    For 0, the bytes before the first iteration (signature, header, metadata, alpha).
    """
    ends = [chunk.offset + chunk.size for chunk in rnc.chunks if chunk.type == spec.CHUNK_ITERATION]
    if iterations:
        return ends[iterations - 1]
    return next((chunk.offset for chunk in rnc.chunks if chunk.type in (spec.CHUNK_ITERATION, spec.CHUNK_END)),
                rnc.file_bytes)


class InputDecoder:
    """Decodes ``.rnc`` files and opens plain images, keeping one codec per weights.

    Args:
        codec_weights: the codec weights for ``.rnc`` files (a shipped name or a weights file);
            ``None``: the shipped weights each file names.
        lenient: decode the complete iterations of a cut file instead of failing.
    """

    def __init__(self, codec_weights: Union[None, str, os.PathLike] = None, *, lenient: bool = False) -> None:
        self.codec_weights = codec_weights
        self.lenient = lenient

    def codec_for(self, rnc: RNCFile) -> "Codec":
        """The codec that decodes ``rnc``: ``codec_weights``, else the shipped weights the file names."""
        from ..codec import codec_for

        return codec_for(rnc.header, self.codec_weights)

    def decode(self, path: Path, iterations: Optional[int] = None) -> Decoded:
        """``path`` decoded: a ``.rnc`` file from its first ``iterations`` (all when ``None``)."""
        if not is_rnc(path):
            return self._open_image(path)
        rnc = read(path, strict=not self.lenient)
        count = iterations_to_decode(rnc, iterations)
        image = self.codec_for(rnc).decode(rnc, count)
        return Decoded(self._sample(path, rnc, count, image), image)

    def progressive(self, path: Path, iterations: Optional[int] = None) -> Iterator[Decoded]:
        """``path`` decoded one iteration at a time (the codec's progressive decoder: each image
        refines the previous one, nothing is decoded twice).  A plain image yields itself once."""
        if not is_rnc(path):
            yield self._open_image(path)
            return
        rnc = read(path, strict=not self.lenient)
        decoder = self.codec_for(rnc).progressive_decoder(rnc.header, rnc.alpha)
        for count, bits in enumerate(rnc.codes(iterations_to_decode(rnc, iterations)), 1):
            image = decoder.add(bits)
            yield Decoded(self._sample(path, rnc, count, image), image)

    @staticmethod
    def _sample(path: Path, rnc: RNCFile, count: int, image: "Image.Image") -> Sample:
        return Sample(file=str(path), kind="rnc", width=image.width, height=image.height,
                      bytes_read=bytes_through(rnc, count), file_bytes=path.stat().st_size,
                      iterations=count, iterations_in_file=rnc.iterations)

    @staticmethod
    def _open_image(path: Path) -> Decoded:
        from PIL import Image

        from ..imageio import load_image

        source = load_image(path, alpha="drop")  # EXIF orientation applied, any mode → 8-bit RGB
        image = Image.fromarray(source.rgb, "RGB")
        size = path.stat().st_size
        return Decoded(Sample(file=str(path), kind="image", width=image.width, height=image.height,
                              bytes_read=size, file_bytes=size), image)


def iterations_to_decode(rnc: RNCFile, iterations: Optional[int]) -> int:
    """How many of ``rnc``'s iterations a request for ``iterations`` (all when ``None``) decodes."""
    return rnc.iterations if iterations is None else min(iterations, rnc.iterations)
