"""Packed weights: a weights file stored losslessly as its difference from another one (``NAME.ptpack``).

    python -m rnncodec.weights_pack weights/gru-s-542a9a98.pt --base weights/gru-s-cc7e79a7.pt

Older shipped weights stay registered so that the files written with them still decode, but the
light install cannot afford 11.4 MB for each.  The wheel ships them as packs instead (each ~2 MB
smaller), and :attr:`rnncodec.weights.Weights.path` unpacks one into the user's cache the first
time it is needed (:func:`materialise`): byte for byte the original ``.pt``, checked against its
SHA-256 — the identity that ``.rnc`` headers name — so both backends load exactly what they
loaded before.

A pack holds the bytes of the ``.pt`` as segments: the tensors' bytes (a ``torch.save`` file is an
uncompressed zip of raw little-endian tensors) as their difference from the base file's tensor of
the same storage name and size, every other byte as it is.  Float32 weights of a network trained
on from another differ in nearly every mantissa bit, so the gain is mostly the sign and exponent
byte: the differences (of the tensors' 32-bit words, modulo 2³², zig-zag so that small negative
ones are small too) are split into byte planes, which zstd compresses apart from one another.

Layout: ``MAGIC``, a little-endian u32 header length, the header (UTF-8 JSON: ``sha256`` and
``size`` of the packed file, ``base_sha256`` and ``base_size`` of the base, ``segments`` — a list
of ``[length, base_offset]``, ``base_offset`` −1 for bytes stored as they are), then one zstd frame:
the stored bytes of every such segment in order, then the four byte planes of the differences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np

from .errors import UnknownWeightsError
from .weights import PACK_SUFFIX, sha256_file

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = ["PACK_SUFFIX", "MAGIC", "CACHE_ENV", "pack", "unpack", "read_pack_header", "tensor_regions",
           "cache_dir", "materialise"]

MAGIC = b"RNCWPACK"
FORMAT_VERSION = 1
#: Where unpacked weights are kept (else ``$XDG_CACHE_HOME/rnncodec``, else ``~/.cache/rnncodec``).
CACHE_ENV = "RNC_CACHE_DIR"
_MAX_HEADER = 1 << 20
_MAX_SIZE = 1 << 30  # the largest weights file a pack may declare
_LEVEL = 19


def tensor_regions(fileobj: BinaryIO) -> dict[str, tuple[int, int]]:
    """Storage name (``data/N``) → (offset, length) of its bytes in a ``torch.save`` zip."""
    regions = {}
    with zipfile.ZipFile(fileobj) as archive:
        for info in archive.infolist():
            if "/data/" not in info.filename or info.compress_type != zipfile.ZIP_STORED:
                continue
            fileobj.seek(info.header_offset + 26)  # the local header's name and extra-field lengths
            name_length, extra_length = struct.unpack("<HH", fileobj.read(4))
            regions[info.filename.split("/", 1)[1]] = (info.header_offset + 30 + name_length + extra_length,
                                                      info.file_size)
    return regions


def _segments(data: bytes, base: bytes) -> list[list[int]]:
    """``[length, base_offset]`` runs covering ``data``: a tensor with a same-named, same-sized one
    in ``base`` (and a whole number of 32-bit words) as a difference, the rest (all of a file that
    is not a ``torch.save`` zip) stored."""
    import io

    ours, theirs = (tensor_regions(io.BytesIO(content)) if zipfile.is_zipfile(io.BytesIO(content)) else {}
                    for content in (data, base))
    deltas = sorted((offset, length, theirs[name][0]) for name, (offset, length) in ours.items()
                    if name in theirs and theirs[name][1] == length and length % 4 == 0)
    segments, position = [], 0
    for offset, length, base_offset in deltas:
        if offset > position:
            segments.append([offset - position, -1])
        segments.append([length, base_offset])
        position = offset + length
    if position < len(data):
        segments.append([len(data) - position, -1])
    return segments


def _zigzag(words: np.ndarray) -> np.ndarray:
    signed = words.view(np.int32)
    return ((signed << 1) ^ (signed >> 31)).view(np.uint32)


def _unzigzag(words: np.ndarray) -> np.ndarray:
    return (words >> 1) ^ (np.uint32(0) - (words & 1))


def _base_words(base: bytes, segments: Sequence[Sequence[int]]) -> np.ndarray:
    array = np.frombuffer(base, np.uint8)
    parts = [array[offset:offset + length] for length, offset in segments if offset >= 0]
    return (np.concatenate(parts) if parts else np.zeros(0, np.uint8)).view("<u4")


def pack(data: bytes, base: bytes, *, level: int = _LEVEL) -> bytes:
    """The pack of the weights file ``data`` against the weights file ``base`` (both whole files)."""
    segments = _segments(data, base)
    ours = np.frombuffer(data, np.uint8)
    stored, words, position = [], [], 0
    for length, base_offset in segments:
        (stored if base_offset < 0 else words).append(ours[position:position + length])
        position += length
    ours_words = (np.concatenate(words) if words else np.zeros(0, np.uint8)).view("<u4")
    planes = _zigzag(ours_words - _base_words(base, segments)).view(np.uint8).reshape(-1, 4).T
    header = json.dumps({"version": FORMAT_VERSION, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                         "base_sha256": hashlib.sha256(base).hexdigest(), "base_size": len(base),
                         "segments": segments}, separators=(",", ":")).encode()
    payload = b"".join([*(part.tobytes() for part in stored), np.ascontiguousarray(planes).tobytes()])
    return MAGIC + struct.pack("<I", len(header)) + header + zstd.compress(payload, level=level)


def read_pack_header(path: Union[str, os.PathLike]) -> dict:
    """The header of the pack at ``path`` (what it unpacks to, and against which base)."""
    with open(path, "rb") as fh:
        return _header(fh.read(len(MAGIC) + 4 + _MAX_HEADER), path)[0]


def _header(data: bytes, where: Union[str, os.PathLike]) -> tuple[dict, int]:
    """The header and the offset of the zstd frame; :class:`UnknownWeightsError` if malformed."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise UnknownWeightsError(f"{where}: not an rnncodec weights pack")
    (length,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    try:
        if length > _MAX_HEADER:
            raise ValueError(f"a header of {length} bytes")
        header = json.loads(data[start:start + length])
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"version {header.get('version')!r}")
        size, base_size = int(header["size"]), int(header["base_size"])
        segments = [(int(n), int(offset)) for n, offset in header["segments"]]
        if not 0 < size <= _MAX_SIZE or sum(n for n, _ in segments) != size or any(
                n <= 0 or (offset >= 0 and (n % 4 or offset + n > base_size)) for n, offset in segments):
            raise ValueError("segments that do not add up")
        header["segments"] = segments
    except (ValueError, KeyError, TypeError) as exc:
        raise UnknownWeightsError(f"{where}: a malformed rnncodec weights pack ({exc})") from None
    return header, start + length


def unpack(data: bytes, base: bytes, *, where: Union[str, os.PathLike] = "weights pack") -> bytes:
    """The weights file a pack holds, given its base's bytes; checked against its SHA-256."""
    header, start = _header(data, where)
    if len(base) != header["base_size"] or hashlib.sha256(base).hexdigest() != header["base_sha256"]:
        raise UnknownWeightsError(f"{where}: its base is weights {header['base_sha256'][:16]}…, not these")
    segments = header["segments"]
    stored_size = sum(n for n, offset in segments if offset < 0)
    try:
        payload = zstd.decompress(data[start:])
    except zstd.ZstdError as exc:
        raise UnknownWeightsError(f"{where}: a damaged rnncodec weights pack ({exc})") from None
    if len(payload) != header["size"]:
        raise UnknownWeightsError(f"{where}: a damaged rnncodec weights pack (it holds {len(payload)} bytes, "
                                  f"not {header['size']})")
    planes = np.frombuffer(payload, np.uint8, offset=stored_size).reshape(4, -1)
    words = _unzigzag(np.ascontiguousarray(planes.T).view("<u4").reshape(-1)) + _base_words(base, segments)
    words_bytes = words.view(np.uint8)
    out, stored_at, word_at = bytearray(), 0, 0
    for length, base_offset in segments:
        if base_offset < 0:
            out += payload[stored_at:stored_at + length]
            stored_at += length
        else:
            out += words_bytes[word_at:word_at + length].tobytes()
            word_at += length
    if hashlib.sha256(out).hexdigest() != header["sha256"]:
        raise UnknownWeightsError(f"{where}: unpacks to other bytes than weights {header['sha256'][:16]}…")
    return bytes(out)


def cache_dir() -> Path:
    """Where :func:`materialise` keeps unpacked weights: ``$RNC_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/rnncodec``, else ``~/.cache/rnncodec`` (each + ``/weights``)."""
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rnncodec"
    return Path(root) / "weights"


def materialise(pack_path: Path, file: str, sha256: str, base_path: Path, graphs: Sequence[Path]) -> Path:
    """The weights file ``file`` (SHA-256 ``sha256``) unpacked from ``pack_path`` into the cache,
    with copies of its ONNX ``graphs`` beside it (they read its tensors from there).

    A file already in the cache is used when its SHA-256 is right (checked once per process);
    otherwise it is written again, atomically.  A cache that cannot be written falls back to a
    private temporary folder for this process."""
    try:
        return _materialise_in(cache_dir(), pack_path, file, sha256, base_path, graphs)
    except OSError:
        return _materialise_in(_private_dir(), pack_path, file, sha256, base_path, graphs)


@lru_cache(maxsize=1)
def _private_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="rnncodec-weights-"))


def _materialise_in(folder: Path, pack_path: Path, file: str, sha256: str, base_path: Path,
                    graphs: Sequence[Path]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file
    if not (target.is_file() and _verified(str(target), target.stat().st_mtime_ns) == sha256):
        data = unpack(pack_path.read_bytes(), base_path.read_bytes(), where=pack_path)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise UnknownWeightsError(f"{pack_path}: holds other weights than {file}")
        _write_atomically(target, data)
    for graph in (graph for graph in graphs if graph.is_file()):  # missing ones: the onnx backend says so
        copy = folder / graph.name
        content = graph.read_bytes()
        if not copy.is_file() or copy.read_bytes() != content:
            _write_atomically(copy, content)
    return target


@lru_cache(maxsize=16)
def _verified(path: str, mtime_ns: int) -> str:
    return sha256_file(path)


def _write_atomically(path: Path, data: bytes) -> None:
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnncodec.weights_pack", description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path, nargs="+", help="weights files to pack (NAME.pt → NAME.ptpack beside it)")
    parser.add_argument("--base", type=Path, required=True, help="the weights file they are stored against")
    args = parser.parse_args(argv)
    base = args.base.read_bytes()
    for path in args.weights:
        data = path.read_bytes()
        packed = pack(data, base)
        if unpack(packed, base, where=path) != data:  # pragma: no cover - unpack checks the SHA-256 itself
            raise SystemExit(f"{path}: the pack does not give the file back")
        target = path.with_suffix(PACK_SUFFIX)
        _write_atomically(target, packed)
        print(f"{path} ({len(data):,} bytes) → {target} ({len(packed):,} bytes, against {args.base.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
