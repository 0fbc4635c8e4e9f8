"""The codec API: images in, ``.rnc`` bytes out, and back.

High level::

    >>> import rnncodec
    >>> data = rnncodec.encode("photo.png", iterations=2)          # doctest: +SKIP
    >>> image = rnncodec.decode(data)                               # PIL.Image, 2 iterations
    >>> preview = rnncodec.decode(data, iterations=1)               # any prefix of iterations

Lower level, for streaming and for servers (:class:`Codec`)::

    >>> codec = Codec()                                              # doctest: +SKIP
    >>> with open("photo.rnc", "wb") as f:                          # iteration 1 is on disk (or on
    ...     codec.encode_to(f, "photo.png", iterations=4)           # the wire) before 2 is made
    >>> decoder = codec.progressive_decoder(rnncodec.formats.read_header("photo.rnc"))
    >>> for bits in rnncodec.formats.read("photo.rnc").codes():
    ...     image = decoder.add(bits)                               # refines, no re-decoding

Spatially adaptive iterations: from iteration 2 on a 16×16 block may stop sending — its code is
:data:`STOPPED` there (the adaptive payload coder, formats/SPEC.md) and the network sees 0 for it,
neither +1 nor −1, in the encoder's own reconstruction loop as in every decoder.  Which blocks send
which iterations is a plan (``sends``, :meth:`Codec.iter_codes`); the targets of :func:`encode`
make plans (:mod:`rnncodec.rate`).

Images are padded by edge replication to a multiple of 16 and cropped back.  Images larger than
one tile (``tile_size``, recorded in the header) are coded tile by tile; **tiles are independent**:
each tile's codes are exactly those of the same crop coded alone, and so are its pixels except the
one next to each seam, which the decoder blends across the seam (:mod:`rnncodec.seams`); memory
stays bounded by one tile whatever the image size.

The network runs on a backend (:mod:`rnncodec.backends`): PyTorch, or ONNX Runtime without torch
(``backend=``, ``$RNC_BACKEND``; torch when it is installed).  Every backend reads and writes the
same files; this module holds everything but the network's steps.

Determinism: the same image, weights, backend, machine and thread count give the same bytes, and
the same bytes the same pixels.  The torch backend runs in bfloat16 where the CPU has native
support for it (AVX-512 BF16 / AMX; about twice as fast) and in float32 elsewhere (``precision=``
overrides); the onnx backend in float32.  Thread counts are left as the process has them
(``torch.set_num_threads``, :func:`rnncodec.backends.set_threads`); results can differ between
thread counts, never between runs.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from typing import Any, BinaryIO, Callable, Iterable, Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
from PIL import Image

from .adaptive import ADAPTIVE_CODER, STOPPED, block_mse, check_sends
from .backends import Backend, load_backend, resolve_backend
from .cancel import Cancellation
from .choices import DEFAULT_ITERATIONS, DEFAULT_TILE_SIZE, MAX_ITERATIONS
from .errors import UnknownWeightsError, WeightsMismatchError
from .file_metadata import file_metadata, stripped
from .formats import (DEFAULT_LIMITS, Header, LimitExceededError, Limits, RNCFile, RNCWriter, coder_names,
                      metadata_source_size, read, truncate, write_bytes)
from .formats import spec as format_spec
from .formats.chunks import pack_chunk
from .formats.coders import get_coder
from .imageio import Downscale, ImageInput, SourceImage, load_image, to_pil
from .rate import RateTarget, RateTargetWarning, encode_to_target
from .seams import smooth_seams
from .weights import LoadedWeights, RNCWeights

__all__ = ["encode", "decode", "Codec", "ProgressiveDecoder", "codec_for", "DEFAULT_TILE_SIZE", "MAX_ITERATIONS"]

BLOCK = format_spec.BLOCK_SIZE
#: Smallest tile side: readers refuse smaller ones by default (``Limits.min_tile_size``).
MIN_TILE_SIZE = format_spec.DEFAULT_MIN_TILE_SIZE

WeightsArg = Union[None, str, os.PathLike, RNCWeights, LoadedWeights]
Tile = tuple[int, int, int, int]  # top, left, height, width (padded pixels, multiples of 16)


class EncoderState(NamedTuple):
    """Where a one-tile encode stands after ``iterations`` iterations, each decoded: the reconstruction
    and the encoder's and decoder's recurrent states, in the backend's tensors
    (:meth:`Codec.iter_codes_measured`'s ``states`` and ``resume``)."""

    iterations: int
    reconstruction: Any
    encoder: Any
    decoder: Any


def tiles_of(height: int, width: int, tile_size: int) -> list[Tile]:
    """Tiles covering a padded ``height × width`` image, row-major; one tile when ``tile_size`` is 0."""
    if not tile_size:
        return [(0, 0, height, width)]
    return [(top, left, min(tile_size, height - top), min(tile_size, width - left))
            for top in range(0, height, tile_size) for left in range(0, width, tile_size)]


class Codec:
    """A loaded network and the settings to run it.

    Args:
        weights: shipped weights (a :class:`RNCWeights` member or its name), a weights file path,
            or already-loaded :class:`LoadedWeights`; ``None`` is ``RNCWeights.DEFAULT``.
        tile_size: tile side in pixels for encoding (power of two ≥ :data:`MIN_TILE_SIZE`, or 0 for no tiling).
        precision: ``"auto"``, ``"bf16"`` (torch only) or ``"fp32"``.
        backend: ``"torch"``, ``"onnx"`` or ``"auto"``; ``None`` is ``$RNC_BACKEND``, else ``"auto"``
            (torch when it is installed, else onnx).  Loaded :class:`LoadedWeights` run on torch.
    """

    def __init__(self, weights: WeightsArg = None, *, tile_size: int = DEFAULT_TILE_SIZE, precision: str = "auto",
                 backend: Optional[str] = None):
        if tile_size and (tile_size & (tile_size - 1) or tile_size < MIN_TILE_SIZE):
            raise ValueError(f"tile_size must be 0 or a power of two ≥ {MIN_TILE_SIZE}, got {tile_size}")
        self.tile_size = tile_size
        if isinstance(weights, LoadedWeights) and backend is None:
            backend = "torch"
        self.backend: Backend = load_backend(backend, weights, precision)
        self.weights = self.backend.weights

    @property
    def bits(self) -> int:
        return self.weights.config.bits

    # -- encoding ---------------------------------------------------------------------------

    def header_for(self, source: SourceImage, iterations: int, coder: str) -> Header:
        """The header of ``source`` coded at ``iterations``; :class:`LimitExceededError` if a reader
        with the default limits would refuse it (checked before any coding)."""
        header = Header(width=source.width, height=source.height, mode=source.mode, iterations=iterations,
                        weights_id=self.weights.weights_id, architecture=self.weights.architecture,
                        bits_per_block=self.bits, tile_size=self.tile_size, coder=coder)
        DEFAULT_LIMITS.check(header)
        return header

    def iter_codes(self, rgb: np.ndarray, iterations: int, sends: Optional[np.ndarray] = None) -> Iterator[np.ndarray]:
        """Each iteration's code tensor, ``(bits, H/16, W/16)`` (padded size), in order: ``{0,1}``,
        and :data:`STOPPED` on the blocks that stopped.

        ``sends``: spatially adaptive iterations — how many iterations each block sends,
        ``(H/16, W/16)`` integers ≥ 1 (:func:`rnncodec.adaptive.check_sends`); a block stops after
        its last one, and the network sees 0 there from then on, encoder and decoder alike.
        ``None``: every block sends every iteration.

        A one-tile image yields iteration *t* as soon as it is computed; a tiled image is coded
        tile by tile, each tile converted to floats only when it is coded (memory: the image's
        bytes, its codes and one tile), so its iterations come once every tile is done.
        """
        for bits, _ in self.iter_codes_measured(rgb, iterations, sends):
            yield bits

    def iter_codes_measured(self, rgb: np.ndarray, iterations: int, sends: Optional[np.ndarray] = None, *,
                            measure: Optional[str] = None,
                            block_error: Callable[[np.ndarray, np.ndarray], np.ndarray] = block_mse,
                            states: Optional[list[EncoderState]] = None, resume: Optional[EncoderState] = None,
                            ) -> Iterator[tuple[np.ndarray, Optional[np.ndarray]]]:
        """:meth:`iter_codes` with each iteration's block errors: ``(bits, errors)``, ``errors``
        ``block_error(reconstruction, original)`` of every block's real pixels — by default the mean
        squared error (RGB, 8-bit levels, :func:`rnncodec.adaptive.block_mse`, ``(H/16, W/16)``
        float64; :func:`rnncodec.adaptive.block_errors` adds MS-SSIM's, ``(2, H/16, W/16)``, and
        :class:`rnncodec.adaptive.PlanErrors` what a quality target plans from) — in a reconstruction — with
        ``measure="before"``, the one this iteration's code refines (the encoder's input; mid-grey for
        iteration 1), with ``"after"``, the one this iteration's code gives (one decoder step more
        than encoding alone); ``None`` without ``measure``.  Reconstructions are the tiles' own,
        rounded to 8 bits, before seams are blended.

        Going on from an earlier encode (``measure="after"``): ``states``, a list, gets an
        :class:`EncoderState` after each iteration of a one-tile image (nothing for a tiled one; the
        caller may drop the states it does not need as they come); ``resume=`` one of them starts
        there and yields the iterations after it only — the same codes and errors as coding from the
        start, when every block sent every iteration up to it (two encodes of an image differ only
        from the first iteration that a block of one of them does not send)."""
        _check_iterations(iterations)
        if measure not in (None, "before", "after"):
            raise ValueError(f"measure must be None, 'before' or 'after', got {measure!r}")
        height, width = -(-rgb.shape[0] // BLOCK) * BLOCK, -(-rgb.shape[1] // BLOCK) * BLOCK
        if sends is not None:
            sends = check_sends(sends, (height // BLOCK, width // BLOCK))
        tiles = tiles_of(height, width, self.tile_size)
        if (states is not None or resume is not None) and measure != "after":
            raise ValueError("states and resume need measure='after'")
        if resume is not None and len(tiles) > 1:
            raise ValueError("resume: an encode of one tile goes on, this image has several")
        if resume is not None and not 0 < resume.iterations <= iterations:
            raise ValueError(f"resume after iteration {resume.iterations}: not within 1…{iterations}")

        def coded(top: int, left: int, h: int, w: int) -> Iterator[tuple[np.ndarray, Optional[np.ndarray]]]:
            crop = rgb[top:top + h, left:left + w]
            grid = _block_grid(top, left, h, w)
            steps = self._encode_tile(_pad(crop), iterations, pixels=measure,  # edge tiles: the image's own edge replication
                                      sends=None if sends is None else sends[grid],
                                      states=states if len(tiles) == 1 else None, resume=resume)
            for bits, pixels in steps:
                yield bits, None if measure is None else block_error(pixels, crop)

        if len(tiles) == 1:
            yield from coded(*tiles[0])
            return
        codes = np.zeros((iterations, self.bits, height // BLOCK, width // BLOCK), dtype=np.uint8)
        errors = None
        for top, left, h, w in tiles:
            grid = _block_grid(top, left, h, w)
            for t, (bits, error) in enumerate(coded(top, left, h, w)):
                codes[(t, slice(None), *grid)] = bits
                if error is not None:
                    if errors is None:  # the measure's own leading axes, then the block grid
                        errors = np.zeros((iterations, *error.shape[:-2], height // BLOCK, width // BLOCK))
                    errors[(t, Ellipsis, *grid)] = error
        for t in range(iterations):
            yield codes[t], None if errors is None else errors[t]

    def iter_codes_and_images(self, source: SourceImage, iterations: int,
                              sends: Optional[np.ndarray] = None) -> Iterator[tuple[np.ndarray, Image.Image]]:
        """Each iteration's code tensor (as :meth:`iter_codes`) with the image a decoder makes from
        the codes so far — the encoder's own reconstructions, so an image is decoded while it is
        encoded (one more decoder step than encoding alone, instead of a second decoding pass).
        The images are pixel for pixel what :class:`ProgressiveDecoder` gives for the file (tested).
        Every iteration is coded before the first is yielded (memory: an image per iteration).
        ``sends``: as :meth:`iter_codes`'s."""
        _check_iterations(iterations)
        rgb = source.rgb
        header = self.header_for(source, iterations, "raw")
        if sends is not None:
            sends = check_sends(sends, header.code_shape[1:])
        tiles = tiles_of(-(-rgb.shape[0] // BLOCK) * BLOCK, -(-rgb.shape[1] // BLOCK) * BLOCK, self.tile_size)
        coded = [list(self._encode_tile(
            _pad(rgb[top:top + h, left:left + w]), iterations, pixels="after",
            sends=None if sends is None else sends[_block_grid(top, left, h, w)]))
            for top, left, h, w in tiles]
        for t in range(iterations):
            bits = np.zeros((self.bits, *header.code_shape[1:]), dtype=np.uint8)
            for (top, left, h, w), steps in zip(tiles, coded):
                bits[(slice(None), *_block_grid(top, left, h, w))] = steps[t][0]
            yield bits, to_pil(_stitch(header, tiles, [steps[t][1] for steps in coded]), header.mode, source.alpha)

    def _encode_tile(self, tile: np.ndarray, iterations: int, pixels: Optional[str] = None,
                     sends: Optional[np.ndarray] = None, states: Optional[list[EncoderState]] = None,
                     resume: Optional[EncoderState] = None) -> Iterator[tuple[np.ndarray, Optional[np.ndarray]]]:
        """``(bits, pixels)`` per iteration; ``pixels`` (uint8, the tile's padded size): with
        ``pixels="after"`` the reconstruction after this iteration, with ``"before"`` the one the
        encoder saw (mid-grey at iteration 1), else ``None``.  ``sends``: the iterations each of the
        tile's blocks sends (:meth:`iter_codes`).  ``states``, ``resume`` (``pixels="after"``): as
        :meth:`iter_codes_measured`'s."""
        backend = self.backend
        x = backend.tensor(tile)
        if resume is None:
            reconstruction = backend.tensor(np.zeros_like(tile))
            enc_states, dec_states = backend.initial_states(*tile.shape[-2:])
        else:
            reconstruction, enc_states, dec_states = resume.reconstruction, resume.encoder, resume.decoder
        image = _tile_pixels(backend, reconstruction) if pixels == "before" else None
        for t in range(0 if resume is None else resume.iterations, iterations):
            if t and pixels != "after":  # the reconstruction after the last iteration, made only when the next is asked for
                reconstruction, dec_states = backend.decoder_step(signs, reconstruction, dec_states)
                if pixels == "before":
                    image = _tile_pixels(backend, reconstruction)
            signs, enc_states = backend.encoder_step(x, reconstruction, enc_states)
            bits = (backend.numpy(signs)[0] > 0).astype(np.uint8)
            if sends is not None and t >= sends.min():  # some blocks stopped: the network sees 0 there
                bits[:, sends <= t] = STOPPED
                signs = backend.tensor(code_signs(bits)[None])
            if pixels == "after":
                reconstruction, dec_states = backend.decoder_step(signs, reconstruction, dec_states)
                image = _tile_pixels(backend, reconstruction)
                if states is not None:  # the backends' steps return new tensors: this one stays as it is
                    states.append(EncoderState(t + 1, reconstruction, enc_states, dec_states))
            yield bits, image

    def encode(self, image: ImageInput, iterations: Optional[int] = None, *, coder: str = "auto",
               metadata: Optional[dict] = None, alpha: str = "keep", max_pixels: int = DEFAULT_LIMITS.max_pixels,
               max_bytes: Optional[int] = None, target_bpp: Optional[float] = None, quality: Optional[float] = None,
               allow_larger: bool = False, downscale_to_fit: bool = False, shorter_side: Optional[int] = None,
               longer_side: Optional[int] = None, strip_metadata: bool = False) -> bytes:
        """The ``.rnc`` bytes of ``image`` at ``iterations`` iterations, or meeting a target (see :func:`encode`)."""
        metadata = stripped(metadata) if strip_metadata else metadata
        target = RateTarget.from_options(max_bytes, target_bpp, quality, allow_larger, downscale_to_fit)
        downscale = Downscale.from_options(shorter_side, longer_side)
        if target is not None:
            result = encode_to_target(self, image, target, iterations or MAX_ITERATIONS, coder=coder,
                                      metadata=metadata, alpha=alpha, max_pixels=max_pixels, downscale=downscale)
            if result.warning:
                warnings.warn(result.warning, RateTargetWarning, stacklevel=2)
            return result.data
        iterations = DEFAULT_ITERATIONS if iterations is None else iterations
        source = load_image(image, alpha=alpha, max_pixels=max_pixels, downscale=downscale)
        self.header_for(source, iterations, "raw")  # refuse what readers would, before coding
        codes = list(self.iter_codes(source.rgb, iterations))
        return self.file_bytes(source, codes, coder=coder, metadata=metadata)

    def file_bytes(self, source: Union[SourceImage, ImageInput], codes: Sequence[np.ndarray], *,
                   coder: str = "auto", metadata: Optional[dict] = None, alpha: str = "keep") -> bytes:
        """The ``.rnc`` file holding ``codes`` (the first ``len(codes)`` iterations of ``source``,
        an image as :func:`encode` takes it or a :class:`SourceImage` already loaded).

        ``coder="auto"`` writes the file with every registered coder and keeps the smallest.
        Because the encoder is causal, the codes of a 2-iteration encode are the first two of an
        8-iteration one: benchmarks code once and build the file for each prefix with this.
        """
        if not isinstance(source, SourceImage):
            source = load_image(source, alpha=alpha)
        metadata = file_metadata(source, metadata)
        names = _coders(coder, any(_has_stops(bits) for bits in codes))
        files = [write_bytes(self.header_for(source, len(codes), name), codes, metadata, source.alpha)
                 for name in names]
        return min(files, key=len)

    def prefix_files(self, source: SourceImage, codes: Iterable[np.ndarray], iterations: int, *,
                     coder: str = "auto", metadata: Optional[dict] = None) -> Iterator[bytes]:
        """The file of each prefix of ``codes`` (at most ``iterations``), as each code arrives:
        the k-th is ``file_bytes(source, codes[:k], ...)``, byte for byte, but every iteration is
        coded once per coder (streaming writers), not once per prefix.  Rate control uses it."""
        metadata = file_metadata(source, metadata)

        def writers_for(names: list[str]) -> list[tuple[io.BytesIO, RNCWriter]]:
            return [(buffer, RNCWriter(buffer, self.header_for(source, iterations, name), metadata, source.alpha))
                    for name in names for buffer in [io.BytesIO()]]

        writers, seen, stops = writers_for(_coders(coder, False)), [], False
        for count, bits in enumerate(codes, 1):
            seen.append(bits)
            if not stops and _has_stops(bits):  # from here on only the adaptive coder can write them
                stops = True
                writers = writers_for(_coders(coder, True))
                for earlier in seen[:-1]:
                    for _, writer in writers:
                        writer.write_iteration(earlier)
            for _, writer in writers:
                writer.write_iteration(bits)
            smallest = min((buffer for buffer, _ in writers), key=lambda buffer: buffer.tell())  # the first of equals
            yield truncate(smallest.getvalue(), count, strict=False)  # declares `count`, ends with REND

    def last_iteration(self, source: SourceImage, earlier: Sequence[np.ndarray], *,
                       metadata: Optional[dict] = None) -> "LastIteration":
        """Files of ``earlier`` codes and one more, with the adaptive coder, for trying many versions
        of the last iteration: the earlier ones are coded once (:class:`LastIteration`)."""
        return LastIteration(self, source, earlier, metadata)

    def encode_to(self, fileobj: BinaryIO, image: ImageInput, iterations: int = 2, *, coder: str = "context",
                  metadata: Optional[dict] = None, alpha: str = "keep",
                  max_pixels: int = DEFAULT_LIMITS.max_pixels, shorter_side: Optional[int] = None,
                  longer_side: Optional[int] = None, strip_metadata: bool = False) -> Header:
        """Stream ``image`` into ``fileobj``: each iteration's chunk is written (and flushed) as
        soon as it exists.  Returns the header written.  The options are :func:`encode`'s."""
        source = load_image(image, alpha=alpha, max_pixels=max_pixels,
                            downscale=Downscale.from_options(shorter_side, longer_side))
        header = self.header_for(source, iterations, coder)
        metadata = file_metadata(source, stripped(metadata) if strip_metadata else metadata)
        with RNCWriter(fileobj, header, metadata, source.alpha) as writer:
            for bits in self.iter_codes(source.rgb, iterations):
                writer.write_iteration(bits)
        return header

    # -- decoding ---------------------------------------------------------------------------

    def check_header(self, header: Header) -> None:
        """Raise :class:`WeightsMismatchError` unless ``header`` was made by these weights."""
        if header.weights_id != self.weights.weights_id or header.architecture != self.weights.architecture:
            raise WeightsMismatchError(
                f"file was encoded with weights {header.weights_id.hex()} ({header.architecture}), "
                f"not {self.weights.weights_id.hex()} ({self.weights.name}, {self.weights.architecture})")
        if header.bits_per_block != self.bits:
            raise WeightsMismatchError(f"file has {header.bits_per_block} bits per block, the network {self.bits}")

    def decode_codes(self, header: Header, codes: Sequence[np.ndarray], *,
                     cancel: Optional[Cancellation] = None) -> np.ndarray:
        """``(H, W, 3)`` uint8 pixels from the first ``len(codes)`` iterations (tile by tile);
        ``cancel`` is checked before each tile and iteration (:class:`CancelledError`)."""
        self.check_header(header)
        _, grid_h, grid_w = header.code_shape
        tiles = tiles_of(grid_h * BLOCK, grid_w * BLOCK, header.tile_size)
        if not codes:
            return _stitch(header, tiles, ())
        stacked = np.stack(codes)
        return _stitch(header, tiles, (  # decoded one tile at a time, as they are placed
            self._decode_tile(stacked[(slice(None), slice(None), *_block_grid(top, left, h, w))], cancel)
            for top, left, h, w in tiles))

    def _decode_tile(self, codes: np.ndarray, cancel: Optional[Cancellation]) -> np.ndarray:
        decoder = _TileDecoder(self, codes.shape[-2:])
        for bits in codes:
            _check(cancel)
            decoder.add(bits)
        return decoder.pixels()

    def decode(self, data: Union[bytes, str, os.PathLike, BinaryIO, RNCFile], iterations: Optional[int] = None,
               *, strict: bool = True, limits: Optional[Limits] = None,
               cancel: Optional[Cancellation] = None) -> Image.Image:
        """The image in ``data`` decoded from its first ``iterations`` iterations (all when None);
        ``limits`` bound what a file may ask for (see :func:`decode`), ``cancel`` stops the work."""
        rnc = data if isinstance(data, RNCFile) else read(data, strict=strict, limits=limits)
        self.check_header(rnc.header)
        count = rnc.iterations if iterations is None else min(iterations, rnc.iterations)
        if count < 0:
            raise ValueError(f"iterations must be ≥ 0, got {iterations}")
        codes = []
        for bits in rnc.iter_codes(count):
            _check(cancel)
            codes.append(bits)
        pixels = self.decode_codes(rnc.header, codes, cancel=cancel)
        return to_pil(pixels, rnc.header.mode, rnc.alpha)

    def progressive_decoder(self, header: Header, alpha: Optional[np.ndarray] = None) -> "ProgressiveDecoder":
        return ProgressiveDecoder(self, header, alpha)


class LastIteration:
    """The files that share their first iterations and differ in the last, coded with the adaptive
    coder; :meth:`size` codes just the last payload, :meth:`file` writes the file (once)."""

    def __init__(self, codec: Codec, source: SourceImage, earlier: Sequence[np.ndarray], metadata: Optional[dict]):
        self.iterations = len(earlier) + 1
        self._buffer = io.BytesIO()
        self._writer = RNCWriter(self._buffer, codec.header_for(source, self.iterations, ADAPTIVE_CODER),
                                 file_metadata(source, metadata), source.alpha)
        for bits in earlier:
            self._writer.write_iteration(bits)
        self._coder = get_coder(ADAPTIVE_CODER)
        self._earlier = list(earlier) if self._coder.uses_history else []
        self._framing = self._buffer.tell() + len(pack_chunk(format_spec.CHUNK_END, b""))

    def size(self, bits: np.ndarray) -> int:
        """The bytes of the file whose last iteration is ``bits``."""
        payload = self._coder.encode(bits, self._earlier)
        return self._framing + len(pack_chunk(format_spec.CHUNK_ITERATION, payload, index=self.iterations))

    def file(self, bits: np.ndarray) -> bytes:
        """The file whose last iteration is ``bits`` (this object is then spent)."""
        self._writer.write_iteration(bits)
        self._writer.close()
        return self._buffer.getvalue()


class _TileDecoder:
    """Recurrent decoder state of one tile."""

    def __init__(self, codec: Codec, grid: Sequence[int]):
        self.backend = codec.backend
        height, width = (side * BLOCK for side in grid)
        self.states = self.backend.initial_states(height, width)[1]
        colours = codec.weights.config.colour_channels
        self.reconstruction = self.backend.tensor(np.zeros((1, colours, height, width), np.float32))

    def add(self, bits: np.ndarray) -> None:
        signs = self.backend.tensor(code_signs(bits)[None])
        self.reconstruction, self.states = self.backend.decoder_step(signs, self.reconstruction, self.states)

    def pixels(self) -> np.ndarray:
        return _tile_pixels(self.backend, self.reconstruction)


def code_signs(bits: np.ndarray) -> np.ndarray:
    """What the network sees of a code: float32 +1 / −1 for the bits 1 / 0, and 0 where a block
    :data:`STOPPED` (sent nothing)."""
    signs = bits.astype(np.float32) * 2 - 1
    signs[bits == STOPPED] = 0
    return signs


def _tile_pixels(backend: Backend, reconstruction: Any) -> np.ndarray:
    """A tile's reconstruction (centred floats) as ``(h, w, 3)`` uint8 pixels."""
    rgb = np.rint(np.clip(backend.numpy(reconstruction)[0] + 0.5, 0, 1) * 255).astype(np.uint8)
    return rgb.transpose(1, 2, 0)


class ProgressiveDecoder:
    """Decode one iteration at a time, keeping the recurrent state (no re-decoding from scratch).

    Memory holds every tile's state, so this is meant for images of moderate size (servers);
    :meth:`Codec.decode` decodes a whole file tile by tile instead.
    """

    def __init__(self, codec: Codec, header: Header, alpha: Optional[np.ndarray] = None):
        codec.check_header(header)
        self.codec, self.header, self.alpha = codec, header, alpha
        _, grid_h, grid_w = header.code_shape
        self.tiles = tiles_of(grid_h * BLOCK, grid_w * BLOCK, header.tile_size)
        self.decoders = [_TileDecoder(codec, (h // BLOCK, w // BLOCK)) for _, _, h, w in self.tiles]
        self.iterations = 0

    def add(self, bits: np.ndarray, *, cancel: Optional[Cancellation] = None) -> Image.Image:
        """Add the next iteration's code tensor; returns the refined image.  ``cancel`` is checked
        before each tile (:class:`CancelledError`; the decoder is then unusable)."""
        for (top, left, h, w), decoder in zip(self.tiles, self.decoders):
            _check(cancel)
            decoder.add(bits[(slice(None), *_block_grid(top, left, h, w))])
        self.iterations += 1
        return self.image()

    def image(self) -> Image.Image:
        tile_pixels = (decoder.pixels() for decoder in self.decoders) if self.iterations else ()
        return to_pil(_stitch(self.header, self.tiles, tile_pixels), self.header.mode, self.alpha)


def _stitch(header: Header, tiles: Sequence[Tile], tile_pixels: Iterable[np.ndarray]) -> np.ndarray:
    """The ``(H, W, 3)`` image from its tiles' pixels, seams smoothed, cropped to the header's size.
    Without tile pixels (zero iterations) it is the network's starting point, mid-grey."""
    _, grid_h, grid_w = header.code_shape
    out = np.full((grid_h * BLOCK, grid_w * BLOCK, 3), 128, dtype=np.uint8)
    for (top, left, h, w), pixels in zip(tiles, tile_pixels):
        out[top:top + h, left:left + w] = pixels
    smooth_seams(out, header.tile_size)  # a flat image stays flat
    return out[:header.height, :header.width]


def _has_stops(bits: np.ndarray) -> bool:
    return bool((np.asarray(bits) == STOPPED).any())


def _coders(coder: str, stops: bool) -> list[str]:
    """The coders to try for codes with or without stopped blocks: ``coder`` itself, or for
    ``"auto"`` the adaptive coder when blocks stop (the only one that codes them), every other one
    else (files without stops stay what they were before the adaptive coder existed)."""
    if coder != "auto":
        return [coder]
    return [ADAPTIVE_CODER] if stops else [name for name in coder_names() if name != ADAPTIVE_CODER]


def _check(cancel: Optional[Cancellation]) -> None:
    if cancel is not None:
        cancel.check()


def _check_iterations(iterations: int) -> None:
    if not isinstance(iterations, (int, np.integer)) or not 1 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be an integer in 1…{MAX_ITERATIONS}, got {iterations!r}")


def _block_grid(top: int, left: int, h: int, w: int) -> tuple[slice, slice]:
    """The block-grid rows and columns of the tile at pixel ``(top, left)``, ``h`` × ``w`` (block-aligned)."""
    return slice(top // BLOCK, (top + h) // BLOCK), slice(left // BLOCK, (left + w) // BLOCK)


def _pad(rgb: np.ndarray) -> np.ndarray:
    """``(1, 3, H', W')`` float32 array in [-0.5, 0.5], edge-replicated to multiples of 16."""
    x = np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)[None].astype(np.float32) / np.float32(255) - np.float32(0.5)
    return np.pad(x, ((0, 0), (0, 0), (0, -x.shape[-2] % BLOCK), (0, -x.shape[-1] % BLOCK)), mode="edge")


_CODECS: dict[tuple, Codec] = {}
_CODECS_LOCK = threading.Lock()  # decoding threads share the cache (rnncodec.recognition.workers)


def codec_for(header: Optional[Header] = None, weights: WeightsArg = None,
              tile_size: int = DEFAULT_TILE_SIZE, backend: Optional[str] = None) -> Codec:
    """A cached :class:`Codec` for ``weights``; without weights, for the shipped weights ``header`` names
    (:class:`UnknownWeightsError` if none do), or the default weights when there is no header either.
    ``backend``: as :class:`Codec`'s."""
    if weights is None and header is not None:
        weights = RNCWeights.for_id(header.weights_id)
        if weights is None:
            raise UnknownWeightsError(f"the file was encoded with weights {header.weights_id.hex()} "
                                      f"({header.architecture}), which are not shipped: pass that weights file")
    if weights is None:  # one cache entry per network: the default is also named by its member
        weights = RNCWeights.DEFAULT
    backend = "torch" if isinstance(weights, LoadedWeights) else resolve_backend(backend)
    key = (str(weights) if not isinstance(weights, LoadedWeights) else id(weights), tile_size, backend)
    with _CODECS_LOCK:
        if key not in _CODECS:
            _CODECS[key] = Codec(weights, tile_size=tile_size, backend=backend)
        return _CODECS[key]


def encode(image: ImageInput, iterations: Optional[int] = None, *, weights: WeightsArg = None,
           tile_size: int = DEFAULT_TILE_SIZE, coder: str = "auto", metadata: Optional[dict] = None,
           alpha: str = "keep", backend: Optional[str] = None, max_pixels: int = DEFAULT_LIMITS.max_pixels,
           max_bytes: Optional[int] = None, target_bpp: Optional[float] = None, quality: Optional[float] = None,
           allow_larger: bool = False, downscale_to_fit: bool = False, shorter_side: Optional[int] = None,
           longer_side: Optional[int] = None, strip_metadata: bool = False) -> bytes:
    """Compress ``image`` to ``.rnc`` bytes: at ``iterations`` iterations, or meeting one target.

    Args:
        image: a path, encoded image bytes, a ``PIL.Image`` (any mode; EXIF orientation applied)
            or a numpy array (H×W, H×W×3, H×W×4; uint8, uint16, bool or float in [0, 1]).
        iterations: 1…16 (default 2); each adds 32 bits per 16×16 block (0.125 bpp) before
            entropy coding.  With a target, the most iterations to consider (default 16).
        weights: shipped weights name/member or a weights file (default: ``RNCWeights.DEFAULT``).
        tile_size: tile side for large images (power of two, or 0: whole image at once).
        coder: payload coder, ``"auto"`` (the smallest) or a name from ``formats.coder_names()``.
        metadata: extra JSON-serialisable keys for the file's metadata chunk.
        alpha: ``"keep"`` (lossless, in the file), ``"drop"`` or ``"refuse"``.
        backend: ``"torch"``, ``"onnx"`` or ``"auto"`` (default: ``$RNC_BACKEND``, else auto; see :class:`Codec`).
        max_pixels: largest image accepted (``ImageTooLargeError`` above it, from the file's header,
            before its pixels are decoded); default: what a reader accepts (``Limits.max_pixels``).
        max_bytes: the largest file of at most this many bytes (container included): every block
            sends whole iterations while they fit, then the blocks with the largest error send one
            more, as many as fit (:mod:`rnncodec.rate`); a smaller file where one more iteration
            would make the image no better.
        target_bpp: as ``max_bytes``, a budget of ``floor(target_bpp·W·H/8)`` bytes.
        quality: a per-block target in dB: each 16×16 block sends iterations while each one lowers
            its error by at least the MSE of that PSNR — the error counting the block's MSE and its
            share of MS-SSIM's distortion alike — at most ``iterations``, then stops (spatially
            adaptive iterations, :mod:`rnncodec.adaptive`): the bits go where an iteration buys the
            most.  A higher target never gives a smaller file.  Blocks still gaining that much at
            ``iterations`` get a ``RateTargetWarning``.
        allow_larger: with ``max_bytes``/``target_bpp`` below the 1-iteration file, return that
            file with a ``RateTargetWarning`` instead of raising.
        downscale_to_fit: with ``max_bytes`` below the 1-iteration file, code the image downscaled
            to the largest size whose file fits (every size measured; its size before is kept in the
            metadata, as ``shorter_side`` does) instead of raising.
        shorter_side: code the image downscaled (Lanczos, never enlarged) so that its shorter side
            is at most this many pixels — the size an ImageNet classifier sees is 256 — recording
            the size it had in the metadata (``source_size``); fewer pixels, fewer bytes an iteration.
        longer_side: the same for the longer side (a detector's input: 320–640).
        strip_metadata: leave out the metadata the encoder adds by itself (``tool_version``,
            ``source_name``, ``source_bytes``: 70–130 bytes, 2–5 % of a photo's 1-iteration file),
            keeping ``metadata``'s keys and a downscaled image's ``source_size``
            (:mod:`rnncodec.file_metadata`).

    Only one of ``max_bytes``, ``target_bpp`` and ``quality`` may be given (:mod:`rnncodec.rate`),
    and one of ``shorter_side`` and ``longer_side`` (a size target then counts the downscaled pixels).

    Raises:
        UnreachableTargetError: a size target below the 1-iteration file (``.smallest``: its size).

    Example:
        >>> data = rnncodec.encode("photo.png", iterations=2)       # doctest: +SKIP
        >>> len(data)                                                 # ~ W·H/32 bytes + 58
        >>> data = rnncodec.encode("photo.png", max_bytes=4000)      # doctest: +SKIP
    """
    return codec_for(weights=weights, tile_size=tile_size, backend=backend).encode(
        image, iterations, coder=coder, metadata=metadata, alpha=alpha, max_pixels=max_pixels, max_bytes=max_bytes,
        target_bpp=target_bpp, quality=quality, allow_larger=allow_larger, downscale_to_fit=downscale_to_fit,
        shorter_side=shorter_side, longer_side=longer_side, strip_metadata=strip_metadata)


def decode(data: Union[bytes, str, os.PathLike, BinaryIO, RNCFile], iterations: Optional[int] = None, *,
           weights: WeightsArg = None, strict: bool = True, backend: Optional[str] = None,
           limits: Optional[Limits] = None, cancel: Optional[Cancellation] = None,
           output: str = "pil", at_source_size: bool = False) -> Union[Image.Image, np.ndarray]:
    """Decompress ``.rnc`` data (bytes, path, file object) to a ``PIL.Image`` or a numpy array.

    Args:
        iterations: decode only the first ``iterations`` (default: all in the file).
        weights: default — the shipped weights whose hash the file names.
        strict: ``False`` decodes the complete iterations of a cut file instead of raising.
        backend: as :func:`encode`'s; any backend decodes any file.
        limits: what a file may ask for (:class:`~rnncodec.formats.Limits`: pixels, iterations,
            code bits, tile size); default: ``DEFAULT_LIMITS``.  Lower them for untrusted files.
        cancel: a :class:`~rnncodec.cancel.Cancellation` checked between tiles and iterations.
        output: ``"pil"`` (a ``PIL.Image``) or ``"numpy"`` (``uint8``, ``H×W`` for ``L``, else
            ``H×W×C`` with C = 2, 3 or 4 for ``LA``, ``RGB``, ``RGBA``).
        at_source_size: for a file the encoder downscaled (``encode(shorter_side=…)``), the image
            upscaled (Lanczos) to the size its metadata records the photo had — checked against
            ``limits.max_pixels`` before decoding; other files decode as they are.

    Raises:
        RNCError: a damaged file, a file over ``limits`` (LimitExceededError), weights that do
            not match the file (WeightsMismatchError), or a cancelled decode (CancelledError).
        ValueError: an unknown ``output``.
    """
    if output not in ("pil", "numpy"):
        raise ValueError(f"output must be 'pil' or 'numpy', got {output!r}")
    rnc = data if isinstance(data, RNCFile) else read(data, strict=strict, limits=limits)
    size = metadata_source_size(rnc.metadata) if at_source_size else None
    if size is not None and size[0] * size[1] > (limits or DEFAULT_LIMITS).max_pixels:
        raise LimitExceededError("max_pixels", size[0] * size[1], (limits or DEFAULT_LIMITS).max_pixels,
                                 chunk_type=format_spec.CHUNK_METADATA)
    image = codec_for(rnc.header, weights, backend=backend).decode(rnc, iterations, cancel=cancel)
    if size is not None and size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image) if output == "numpy" else image
