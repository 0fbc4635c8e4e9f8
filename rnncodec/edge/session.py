"""One progressive stream's state: the bytes parsed as they come, the image refined per iteration.

:class:`StreamSession` is synchronous (its methods run in the worker's thread pool, one at a time
per stream).  Nothing is decoded twice: each iteration's codes go through the codec's
:class:`~rnncodec.codec.ProgressiveDecoder`, which keeps the recurrent state.

Memory of one stream is bounded by the server's limits: the parser holds at most one chunk
(``--max-body-bytes`` caps all the bytes a stream may send), the decoder the recurrent state of an
image of at most ``--max-pixels``, and the codes decoded so far (the context coder reads the
previous iterations' codes: ``pixels / 8`` bytes per iteration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional

from ..formats import Header, HeaderEvent, IterationEvent, Limits, StreamReader
from ..recognition import Decoded, Sample
from .errors import BodyTooLargeError

if TYPE_CHECKING:
    import numpy as np

    from ..codec import Codec, ProgressiveDecoder
    from ..formats import Event

__all__ = ["StreamSession"]


class StreamSession:
    """Parse and decode one ``.rnc`` stream.

    Args:
        codec_for: the codec for a header (raises a typed error for unknown weights).
        name: the ``file`` of the records.
        limits: reader limits (``--max-pixels``).
        max_bytes: most bytes the stream may send.
    """

    def __init__(self, codec_for: Callable[[Header], "Codec"], *, name: str, limits: Limits, max_bytes: int) -> None:
        self.codec_for = codec_for
        self.name = name
        self.max_bytes = max_bytes
        self.reader = StreamReader(limits=limits)
        self.decoder: Optional["ProgressiveDecoder"] = None
        self.codes: list["np.ndarray"] = []

    @property
    def header(self) -> Optional[Header]:
        return self.reader.header

    @property
    def received(self) -> int:
        """Bytes received so far."""
        return self.reader.received

    def feed(self, data: bytes) -> list["Event"]:
        """Parse the next bytes; return the events of the chunks they complete.

        The decoder is made when the header arrives, so weights that do not match fail before
        any iteration is sent.

        Raises:
            BodyTooLargeError: the stream goes over ``max_bytes``.
            RNCError: the bytes are not a valid ``.rnc`` file, or its weights are unknown.
        """
        if self.received + len(data) > self.max_bytes:
            raise BodyTooLargeError(f"the stream sent more than the {self.max_bytes:,} bytes this server accepts "
                                    "(--max-body-bytes)")
        events = self.reader.feed(data)
        for event in events:
            if isinstance(event, HeaderEvent):
                self.decoder = self.codec_for(event.header).progressive_decoder(event.header)
        return events

    def refine(self, event: IterationEvent) -> Decoded:
        """Decode one more iteration into the image (the events of :meth:`feed`, in order)."""
        self.codes.append(event.decode(self.codes))
        image = self.decoder.add(self.codes[-1])
        sample = Sample(file=self.name, kind="rnc", width=image.width, height=image.height,
                        bytes_read=event.chunk.offset + event.chunk.size, file_bytes=self.received,
                        iterations=event.index, iterations_in_file=self.header.iterations)
        return Decoded(sample, image)
