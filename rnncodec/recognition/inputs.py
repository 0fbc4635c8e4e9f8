"""The one way from a recognition input to an image: ``.rnc`` files (decoded by the codec, whole,
from their first iterations, iteration by iteration, or as their bytes arrive) and plain images.

``rnc classify``/``detect``/``eval`` and both paths of ``rnc serve`` (a request body, a WebSocket
stream) go through :class:`InputDecoder`:

- an input is a ``.rnc`` file when it starts with the signature (:func:`is_rnc`), whatever its name;
- its codec is the decoder's ``codec_weights``, else the shipped weights the file names
  (:meth:`InputDecoder.codec_for`);
- ``bytes_read`` of a decoded ``.rnc`` input is where the last decoded iteration's chunk ends
  (:attr:`Chunk.end <rnncodec.formats.Chunk.end>`) — what a receiver must have before it can show
  that image — so it grows with every iteration; for a plain image it is its size.

Errors are the library's typed errors (:mod:`rnncodec.formats.errors`, :mod:`rnncodec.errors`);
the server turns them into answers (:func:`rnncodec.edge.errors.as_request_error`).
"""

from __future__ import annotations

import io
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Protocol, Union

from ..errors import CancelledError, ImageTooLargeError, UnsupportedImageError
from ..formats import HeaderEvent, Limits, MetadataEvent, RNCFile, StreamReader, metadata_source_size, read, spec
from .results import Sample

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from ..cancel import Cancellation
    from ..codec import Codec, ProgressiveDecoder
    from ..formats import Event, Header, IterationEvent

__all__ = ["Decoded", "InputDecoder", "InputStream", "PixelBudget", "Source", "is_rnc", "bytes_through",
           "iterations_to_decode"]

#: An input: a file, or the bytes of one (a request body).
Source = Union[Path, bytes]


class PixelBudget(Protocol):
    """Pixels a decoder may decode at once (a server's admission control: ``rnncodec.edge.admission``)."""

    def take(self, pixels: int) -> None:
        """Take ``pixels``, or raise (a typed error) when they do not fit now."""

    def give(self, pixels: int) -> None:
        """Give back ``pixels`` taken."""


@dataclass(frozen=True)
class Decoded:
    """A decoded input: the image to recognise and what it took (:class:`Sample`)."""

    sample: Sample
    image: "Image.Image"


def is_rnc(head: bytes) -> bool:
    """Whether data starting with ``head`` is a ``.rnc`` file: it starts with the signature, or is
    shorter than it and starts like it (data cut inside the signature; reading it says so)."""
    head = bytes(head[:len(spec.SIGNATURE)])
    return bool(head) and spec.SIGNATURE.startswith(head)


def bytes_through(rnc: RNCFile, iterations: int) -> int:
    """Bytes of the file up to and including the chunk of iteration ``iterations`` (1-based).

    For 0, the bytes before the first iteration (signature, header, metadata, alpha).
    """
    ends = [chunk.end for chunk in rnc.chunks if chunk.type == spec.CHUNK_ITERATION]
    if iterations:
        return ends[iterations - 1]
    return next((chunk.offset for chunk in rnc.chunks if chunk.type in (spec.CHUNK_ITERATION, spec.CHUNK_END)),
                rnc.file_bytes)


def iterations_to_decode(rnc: RNCFile, iterations: Optional[int]) -> int:
    """How many of ``rnc``'s iterations a request for ``iterations`` (all when ``None``) decodes."""
    return rnc.iterations if iterations is None else min(iterations, rnc.iterations)


def _rnc_sample(name: str, image: "Image.Image", *, iterations: int, iterations_in_file: int, bytes_read: int,
                file_bytes: int, metadata: Optional[dict] = None) -> Sample:
    """The :class:`Sample` of a ``.rnc`` input decoded through its first ``iterations``."""
    return Sample(file=name, kind="rnc", width=image.width, height=image.height, bytes_read=bytes_read,
                  file_bytes=file_bytes, iterations=iterations, iterations_in_file=iterations_in_file,
                  source_size=metadata_source_size(metadata))


class InputDecoder:
    """Decodes ``.rnc`` inputs and opens plain images, keeping one codec per weights.

    Args:
        codec_weights: the codec weights for ``.rnc`` files (a shipped name or a weights file);
            ``None``: the shipped weights each file names.
        lenient: decode the complete iterations of a cut file instead of failing.
        limits: the reader's limits for ``.rnc`` inputs (default: the format's defaults).
        max_pixels: the most pixels a plain image may have, checked before its pixels are decoded
            (``None``: no limit).
        budget: pixels that may be decoded at once; each image's pixels are taken from it, once
            its size is known from its header, while it is decoded (``None``: no budget).
    """

    def __init__(self, codec_weights: Union[None, str, os.PathLike] = None, *, lenient: bool = False,
                 limits: Optional[Limits] = None, max_pixels: Optional[int] = None,
                 budget: Optional[PixelBudget] = None) -> None:
        self.codec_weights = codec_weights
        self.lenient = lenient
        self.limits = limits
        self.max_pixels = max_pixels
        self.budget = budget

    @contextmanager
    def _decoding(self, pixels: int) -> Iterator[None]:
        """Hold ``pixels`` of the budget for the block."""
        if self.budget is None:
            yield
            return
        self.budget.take(pixels)
        try:
            yield
        finally:
            self.budget.give(pixels)

    def codec_for(self, header: "Header") -> "Codec":
        """The codec that decodes files with ``header``: ``codec_weights``, else the shipped weights
        the header names (:class:`~rnncodec.errors.UnknownWeightsError` when none are)."""
        from ..codec import codec_for

        return codec_for(header, self.codec_weights)

    def decode(self, source: Source, iterations: Optional[int] = None, *, name: Optional[str] = None,
               lenient: Optional[bool] = None, cancel: Optional["Cancellation"] = None) -> Decoded:
        """``source`` decoded: a ``.rnc`` file from its first ``iterations`` (all when ``None``),
        or a plain image.  ``name`` is the record's ``file`` (default: the path); ``lenient``
        overrides the decoder's for this input; ``cancel`` stops the decoding between tiles and
        iterations (:class:`~rnncodec.errors.CancelledError`)."""
        name, head, size = _describe(source, name)
        if not is_rnc(head):
            return self._open_image(source, name, size)
        rnc = self._read(source, lenient)
        count = iterations_to_decode(rnc, iterations)
        codec = self.codec_for(rnc.header)
        with self._decoding(rnc.header.width * rnc.header.height):
            image = codec.decode(rnc, count, cancel=cancel)
        return Decoded(self._sample(name, image, rnc, count, size), image)

    def progressive(self, source: Source, iterations: Optional[int] = None, *,
                    name: Optional[str] = None) -> Iterator[Decoded]:
        """``source`` decoded one iteration at a time (the codec's progressive decoder: each image
        refines the previous one, nothing is decoded twice).  A plain image yields itself once."""
        name, head, size = _describe(source, name)
        if not is_rnc(head):
            yield self._open_image(source, name, size)
            return
        rnc = self._read(source, None)
        decoder = self.codec_for(rnc.header).progressive_decoder(rnc.header, rnc.alpha)
        for count, bits in enumerate(rnc.codes(iterations_to_decode(rnc, iterations)), 1):
            image = decoder.add(bits)
            yield Decoded(self._sample(name, image, rnc, count, size), image)

    def stream(self, name: str) -> "InputStream":
        """A ``.rnc`` file to decode as its bytes arrive (:class:`InputStream`)."""
        return InputStream(self, name)

    def _read(self, source: Source, lenient: Optional[bool]) -> RNCFile:
        strict = not (self.lenient if lenient is None else lenient)
        return read(source, strict=strict, limits=self.limits)

    @staticmethod
    def _sample(name: str, image: "Image.Image", rnc: RNCFile, count: int, size: int) -> Sample:
        return _rnc_sample(name, image, iterations=count, iterations_in_file=rnc.iterations,
                           bytes_read=bytes_through(rnc, count), file_bytes=size, metadata=rnc.metadata)

    def _open_image(self, source: Source, name: str, size: int) -> Decoded:
        """A plain image as 8-bit RGB (EXIF orientation applied, alpha dropped), its size checked
        against ``max_pixels`` before its pixels are decoded."""
        from PIL import Image, UnidentifiedImageError

        from ..imageio import load_image

        try:
            with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
                width, height = image.size
        except Image.DecompressionBombError:  # over twice Pillow's own limit
            raise ImageTooLargeError(f"{name}: the image has more than {2 * Image.MAX_IMAGE_PIXELS:,} pixels "
                                     "(Pillow's decompression-bomb limit)") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise UnsupportedImageError(f"{name}: neither a .rnc file (no RNC signature) nor an image "
                                        "Pillow can read") from None
        if self.max_pixels is not None and width * height > self.max_pixels:
            raise ImageTooLargeError(f"{name}: the image has {width}×{height} = {width * height:,} pixels, "
                                     f"more than the {self.max_pixels:,} accepted")
        try:
            with self._decoding(width * height):
                rgb = load_image(source, alpha="drop").rgb
        except OSError as exc:  # a damaged image: Pillow read the size, not the pixels
            raise UnsupportedImageError(f"{name}: the image cannot be decoded: {' '.join(str(exc).split())}") \
                from None
        image = Image.fromarray(rgb, "RGB")
        return Decoded(Sample(file=name, kind="image", width=image.width, height=image.height,
                              bytes_read=size, file_bytes=size), image)


def _describe(source: Source, name: Optional[str]) -> tuple[str, bytes, int]:
    """The record name of ``source``, its first bytes and its size."""
    if isinstance(source, bytes):
        return name or "-", source[:len(spec.SIGNATURE)], len(source)
    with open(source, "rb") as fileobj:
        return name or str(source), fileobj.read(len(spec.SIGNATURE)), os.fstat(fileobj.fileno()).st_size


class InputStream:
    """A ``.rnc`` file decoded as its bytes arrive: :meth:`feed` parses them (push parser, at most
    one chunk held), :meth:`refine` decodes one more iteration into the image.  Nothing is decoded
    twice: each iteration goes through the codec's progressive decoder, made when the header
    arrives, so weights that do not match fail before any iteration is sent.

    Memory is bounded by the reader's limits: the parser holds at most one chunk, the decoder the
    recurrent state of one image, and the codes decoded so far (the context coder reads the
    previous iteration's: ``pixels / 8`` bytes an iteration).  The image's pixels are taken from the
    decoder's ``budget`` when the header arrives and given back by :meth:`close`, which also drops
    the decoder and the codes — call it however the stream ends.
    """

    def __init__(self, inputs: InputDecoder, name: str) -> None:
        self.inputs = inputs
        self.name = name
        self.reader = StreamReader(limits=inputs.limits)
        self.decoder: Optional["ProgressiveDecoder"] = None
        self.codes: list["np.ndarray"] = []
        self.metadata: Optional[dict] = None
        self._held = 0  # pixels taken from the budget
        self._closed = False
        self._lock = threading.Lock()  # close() may run while feed() runs in another thread

    @property
    def header(self) -> Optional["Header"]:
        return self.reader.header

    @property
    def received(self) -> int:
        """Bytes received so far."""
        return self.reader.received

    def feed(self, data: bytes) -> list["Event"]:
        """Parse the next bytes; return the events of the chunks they complete.

        Raises:
            RNCError: the bytes are not a valid ``.rnc`` file, or its weights are unknown; the
                budget's error when the image does not fit it now.
        """
        events = self.reader.feed(data)
        for event in events:
            if isinstance(event, HeaderEvent):
                codec = self.inputs.codec_for(event.header)
                self._take(event.header.width * event.header.height)
                self.decoder = codec.progressive_decoder(event.header)
            elif isinstance(event, MetadataEvent):
                self.metadata = event.metadata
        return events

    def refine(self, event: "IterationEvent", cancel: Optional["Cancellation"] = None) -> Decoded:
        """Decode one more iteration into the image (the events of :meth:`feed`, in order);
        ``cancel`` stops it between tiles."""
        self.codes.append(event.decode(self.codes))
        image = self.decoder.add(self.codes[-1], cancel=cancel)
        return Decoded(_rnc_sample(self.name, image, iterations=event.index,
                                   iterations_in_file=self.header.iterations, bytes_read=event.chunk.end,
                                   file_bytes=self.received, metadata=self.metadata), image)

    def close(self) -> None:
        """Give the image's pixels back to the budget and drop the decoder and codes (idempotent)."""
        with self._lock:
            self._closed = True
            held, self._held = self._held, 0
        if held:
            self.inputs.budget.give(held)
        self.decoder = None
        self.codes = []

    def _take(self, pixels: int) -> None:
        with self._lock:
            if self._closed:
                raise CancelledError("the stream ended")
            if self.inputs.budget is not None:
                self.inputs.budget.take(pixels)
                self._held = pixels
