"""Decoded images made once: each photo coded at N iterations, decoded at every k asked for, on disk.

Adapting a recognizer to the codec (``rnc finetune``) and evaluating it (``rnc eval``) need every
photo as the decoder gives it at k iterations; the codec is the expensive part (~0.5 s a photo on
one CPU), so :func:`build_decoded_cache` codes each photo once and keeps the result::

    >>> from rnncodec.recognition.decoded_cache import build_decoded_cache
    >>> photos = build_decoded_cache(paths, Path("cache"), iterations=[1, 2, 3])   # doctest: +SKIP
    >>> photos[0].decoded[2], photos[0].sizes[2]      # a PNG path, the 2-iteration file's bytes

Layout: ``cache/<weights name>-<first 16 hex digits of the weights' SHA-256>/`` holds, per photo,
``<key>.rnc`` (the photo, alpha dropped, coded at ``max(iterations)`` or more) and ``<key>-<k>.png``
(8-bit RGB, what the decoder gives at k iterations), where ``key`` is the first 16 hex digits of the
SHA-256 of the photo file's bytes: a renamed photo is not coded again, an edited one is.  Every file
is written atomically (temporary name, then rename), so an interrupted build leaves only complete
files and the next build codes only what is missing.  A photo whose ``.rnc`` file is there but
short of iterations is coded again; its PNGs stay valid (the encoder is causal: the first k
iterations of a longer encoding are those of a k-iteration one).

The work runs in this process, or on Ray Data (``ray="local"`` or a cluster's address): the same
callable class (:class:`PhotoCoder`) codes the photos in both, loading the codec once per worker,
each with one CPU thread by default, so the cache holds the same bytes either way on one machine
(the codec's results can differ between thread counts, see :mod:`rnncodec.codec`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

from ..atomic import write_atomically
from ..formats.errors import RNCError
from .errors import DatasetError

if TYPE_CHECKING:
    from ..codec import Codec
    from ..imageio import SourceImage

__all__ = ["CachedPhoto", "CodedPhoto", "PhotoCoder", "build_decoded_cache", "code_photo", "photo_key",
           "cache_folder"]


@dataclass(frozen=True)
class CachedPhoto:
    """One photo in the cache."""

    source: Path               #: the original photo file
    key: str                   #: first 16 hex digits of sha256(source file bytes)
    rnc: Path                  #: the .rnc file, coded at max(iterations) or more (alpha dropped)
    decoded: dict[int, Path]   #: k -> 8-bit RGB PNG: what the decoder gives at k iterations
    sizes: dict[int, int]      #: k -> bytes of the .rnc file truncated to k iterations

    def coded(self, iterations: Optional[Iterable[int]] = None) -> "CodedPhoto":
        """The entry read back into memory: the ``.rnc`` file's bytes and the decoded pixels at each
        k of ``iterations`` (default: every k the entry has)."""
        from PIL import Image

        wanted = sorted(self.decoded) if iterations is None else list(iterations)
        decoded = {}
        for k in wanted:
            with Image.open(self.decoded[k]) as image:
                decoded[k] = np.asarray(image.convert("RGB"))
        return CodedPhoto(self.rnc.read_bytes(), decoded, {k: self.sizes[k] for k in wanted})


@dataclass(frozen=True)
class CodedPhoto:
    """One photo coded and decoded in memory (what :func:`code_photo` returns)."""

    data: bytes                       #: the .rnc file at max(iterations) iterations (or the file given)
    decoded: dict[int, np.ndarray]    #: k -> (H, W, 3) uint8 pixels decoded from k iterations
    sizes: dict[int, int]             #: k -> bytes of ``data`` truncated to k iterations


def photo_key(path: Path) -> str:
    """The first 16 hex digits of the SHA-256 of the file's bytes; :class:`DatasetError` if unreadable."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read the photo ({exc.strerror or exc})") from None
    return digest.hexdigest()[:16]


def cache_folder(cache: Path, codec_weights: Optional[str] = None) -> Path:
    """The subfolder of ``cache`` for the codec weights (a registry name or a file; None: the default)."""
    from ..weights import resolve_weights, sha256_file

    path, name = resolve_weights(codec_weights)
    return Path(cache) / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}-{sha256_file(path)[:16]}"


def code_photo(codec: "Codec", photo: Union[Path, "SourceImage"], iterations: Sequence[int],
               data: Optional[bytes] = None) -> CodedPhoto:
    """``photo`` (a file, or its pixels as :func:`~rnncodec.imageio.load_image` gives them) coded at
    ``max(iterations)`` with its alpha dropped, and decoded at every k in ``iterations`` while it is
    coded (:meth:`Codec.iter_codes_and_images`); with ``data`` (a ``.rnc`` file of the photo with at
    least that many iterations), only decoded.  The file's bytes depend on the pixels alone (its
    metadata names no source file), so a photo gives the same file whatever its name."""
    from ..formats import read
    from ..imageio import SourceImage, load_image

    wanted = _check_iterations(iterations)
    if data is None:
        source = photo if isinstance(photo, SourceImage) else load_image(photo, alpha="drop")
        source = SourceImage(source.rgb, source.mode)
        codes_and_images = list(codec.iter_codes_and_images(source, max(wanted)))
        data = codec.file_bytes(source, [bits for bits, _ in codes_and_images])
        images = [image for _, image in codes_and_images]
    else:
        rnc = read(data)
        decoder = codec.progressive_decoder(rnc.header)
        images = [decoder.add(bits) for bits in rnc.iter_codes(max(wanted))]
    decoded = {k: np.asarray(images[k - 1].convert("RGB")) for k in wanted}
    return CodedPhoto(data, decoded, _sizes(data, wanted))


class PhotoCoder:
    """Codes batches of photos: the callable that :func:`build_decoded_cache` maps over the photos,
    in this process or on each Ray worker (``map_batches``; the codec is loaded once per instance).

    A batch is a dict of columns: ``index``, ``source`` (photo paths) and ``cached`` (the path of a
    ``.rnc`` file with enough iterations to decode from, or ``""``).  The result has ``index``,
    ``error`` (``""``, or the photo's error, raised again by the caller), ``rnc`` (the file's bytes)
    and ``png_<k>`` (each decoded image as PNG bytes) for k in iterations.
    """

    def __init__(self, codec_weights: Optional[str], iterations: Sequence[int], threads: Optional[int] = 1):
        from ..backends import set_threads
        from ..codec import Codec

        set_threads(threads)  # None: as the process has them
        self.codec = Codec(codec_weights)
        self.iterations = sorted(set(iterations))

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, list] = {"index": [], "error": [], "rnc": [], **{f"png_{k}": [] for k in self.iterations}}
        for index, source, cached in zip(batch["index"], batch["source"], batch["cached"]):
            out["index"].append(int(index))
            try:
                coded = code_photo(self.codec, Path(str(source)), self.iterations,
                                   Path(str(cached)).read_bytes() if cached else None)
            except (RNCError, OSError) as exc:  # returned, not raised: Ray would not pass the error on as it is
                out["error"].append(_describe(exc))
                coded = CodedPhoto(b"", {k: None for k in self.iterations}, {})
            else:
                out["error"].append("")
            out["rnc"].append(coded.data)
            for k, pixels in coded.decoded.items():
                out[f"png_{k}"].append(b"" if pixels is None else _png(pixels))
        return {name: np.array(values, dtype=np.int64 if name == "index" else object) for name, values in out.items()}


def build_decoded_cache(photos: Sequence[Path], cache: Path, iterations: Sequence[int], *,
                        codec_weights: Optional[str] = None, ray: Optional[str] = None, progress: bool = True,
                        workers: Optional[int] = None, batch_size: int = 4,
                        threads: Optional[int] = 1) -> list[CachedPhoto]:
    """Encode each photo once at max(iterations), decode it at every k in iterations, write the .rnc file
    and the PNGs under ``cache`` (a subfolder per codec weights identity, so two weights never mix), atomically;
    photos already in the cache are not coded again (resumable: an interrupted build continues).
    Returns one CachedPhoto per photo, in order.  Typed errors (rnncodec errors / DatasetError) — never exits.

    Args:
        photos: image files (any format :func:`rnncodec.imageio.load_image` reads).
        cache: the cache's root folder (made if missing).
        iterations: the k to decode at, each in 1…16.
        codec_weights: a shipped weights name or a weights file; None: the default weights.
        ray: None codes in this process; ``"local"`` starts a local Ray instance; any other value is
            the address of a running Ray cluster (``"ray://host:10001"``, ``"host:6379"``, ``"auto"``);
            photos must then be readable at the same paths on every worker (a shared file system).
        progress: a tqdm bar on stderr (when it is a terminal).
        workers: with Ray, how many workers code at once (default: Ray's, one per CPU).
        batch_size: with Ray, photos per batch sent to a worker.
        threads: CPU threads of the codec, in this process and in each Ray worker alike (None: as the
            process has them).  The codec's results can differ between thread counts, so the default,
            one, makes the same bytes in this process and on Ray; Ray runs a worker per CPU.
    """
    wanted = _check_iterations(iterations)
    photos = [Path(photo) for photo in photos]
    folder = cache_folder(cache, codec_weights)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot create the cache folder ({exc.strerror or exc})") from None
    entries = [_entry(folder, photo, photo_key(photo), wanted) for photo in photos]
    todo: dict[str, dict[str, Any]] = {}  # one job per key: the same photo twice is coded once
    for index, (entry, cached) in enumerate(entries):
        if cached is not True and entry.key not in todo:
            todo[entry.key] = {"index": index, "source": os.path.abspath(entry.source),  # workers' cwd differs
                               "cached": os.path.abspath(cached) if cached else ""}
    jobs = list(todo.values())
    if jobs:
        results = (_on_ray(jobs, ray, codec_weights, wanted, workers=workers, batch_size=batch_size, threads=threads)
                   if ray is not None else _in_process(jobs, codec_weights, wanted, threads))
        _store(results, entries, len(jobs), progress)
    return [entry for entry, _ in entries]


def _check_iterations(iterations: Iterable[int]) -> list[int]:
    from ..codec import MAX_ITERATIONS

    wanted = sorted(set(iterations))
    if not wanted or any(not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_ITERATIONS for k in wanted):
        raise ValueError(f"iterations must be integers in 1…{MAX_ITERATIONS}, at least one; got {list(iterations)!r}")
    return [int(k) for k in wanted]


def _entry(folder: Path, photo: Path, key: str, wanted: list[int]) -> tuple[CachedPhoto, object]:
    """The photo's cache entry, and what is there: True (complete), a .rnc path to decode from, or None."""
    from ..formats import read_header
    from ..formats.errors import RNCError

    rnc = folder / f"{key}.rnc"
    entry = CachedPhoto(photo, key, rnc, {k: folder / f"{key}-{k}.png" for k in wanted}, {})
    try:
        enough = read_header(rnc).iterations >= max(wanted)
    except (OSError, RNCError):  # not there yet (or damaged by hand): coded again
        return entry, None
    if not enough:
        return entry, None
    if not all(path.is_file() for path in entry.decoded.values()):
        return entry, str(rnc)
    entry.sizes.update(_sizes(rnc.read_bytes(), wanted))
    return entry, True


def _sizes(data: bytes, wanted: list[int]) -> dict[int, int]:
    from ..formats import truncate

    return {k: len(truncate(data, iterations=k)) for k in wanted}


def _in_process(jobs: list[dict], codec_weights: Optional[str], wanted: list[int],
                threads: Optional[int]) -> Iterator[dict[str, Any]]:
    from .. import backends

    try:  # the count to restore: torch's own when torch is there (the codec and recognizers share it)
        import torch
    except ImportError:
        torch = None
    before = torch.get_num_threads() if torch is not None else backends.threads()
    try:
        coder = PhotoCoder(codec_weights, wanted, threads)
        for job in jobs:
            yield from _rows(coder({name: [value] for name, value in job.items()}))
    finally:  # the process's thread count as it was (the recognizer runs after the cache is built)
        backends.set_threads(before)


def _on_ray(jobs: list[dict], address: str, codec_weights: Optional[str], wanted: list[int], *,
            workers: Optional[int], batch_size: int, threads: Optional[int]) -> Iterator[dict[str, Any]]:
    from .ray_runner import map_photos

    return map_photos(jobs, PhotoCoder, (codec_weights, wanted, threads), address=address, workers=workers,
                      batch_size=batch_size)


def _rows(batch: dict[str, Any]) -> Iterator[dict[str, Any]]:
    names = list(batch)
    for values in zip(*(batch[name] for name in names)):
        yield dict(zip(names, values))


def _store(results: Iterable[dict[str, Any]], entries: list[tuple[CachedPhoto, object]], count: int,
           progress: bool) -> None:
    """Write each coded photo's files as it arrives (PNGs first, the .rnc file last), fill in the sizes."""
    from tqdm import tqdm

    by_key: dict[str, list[CachedPhoto]] = {}
    for entry, _ in entries:
        by_key.setdefault(entry.key, []).append(entry)
    with tqdm(total=count, desc="decoding", unit="photo", leave=False, disable=True if not progress else None) as bar:
        for row in results:
            entry = entries[int(row["index"])][0]
            if row["error"]:
                raise _error(str(row["error"]), entry.source)
            for k, path in entry.decoded.items():
                _write_atomic(path, bytes(row[f"png_{k}"]))
            data = bytes(row["rnc"])
            if not entry.rnc.is_file() or entry.rnc.read_bytes() != data:
                _write_atomic(entry.rnc, data)
            for same in by_key[entry.key]:
                same.sizes.update(_sizes(data, sorted(entry.decoded)))
            bar.update()


def _describe(exc: BaseException) -> str:
    """``module:class:message`` of a worker's error, for :func:`_error` to raise again on the driver."""
    return f"{type(exc).__module__}:{type(exc).__qualname__}:{exc}"


def _error(described: str, source: Path) -> Exception:
    """The error :func:`_describe` describes: its own class when it is one of the project's errors
    that takes a message, else a :class:`DatasetError` naming the photo."""
    import importlib

    module, name, message = described.split(":", 2)
    try:
        kind = getattr(importlib.import_module(module), name)
        if issubclass(kind, RNCError):
            return kind(message)
    except Exception:  # an error class that cannot be rebuilt from its message
        pass
    return DatasetError(f"{source}: {message}")


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot write to the cache ({exc.strerror or exc})") from None
