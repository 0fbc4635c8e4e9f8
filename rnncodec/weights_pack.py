"""Packed weights: a weights file stored as its difference from another one (``NAME.ptpack``).

    python -m rnncodec.weights_pack weights/gru-s-542a9a98.pt --base weights/gru-s-cc7e79a7.pt
    python -m rnncodec.weights_pack weights/gru-s-1a2b3c4d.pt --base weights/gru-s-cc7e79a7.pt --step 0.002

Every shipped entry is a pack in the wheel: older weights stay registered so that the files
written with them still decode, fine-tunes (the default GRU_S_V5, and entries for another purpose)
sit beside them, and the light install cannot afford 11.4 MB for each — nor for GRU_S_V4, the base of
them all, which ships as a pack of the file alone (no base: 9.5 MB, below).  Then
:attr:`rnncodec.weights.Weights.path` unpacks one into the user's cache the first time it is
needed (:func:`materialise`): byte for byte the original ``.pt``, checked against its SHA-256 —
the identity that ``.rnc`` headers name — so both backends load exactly what they loaded before.

A pack holds the bytes of the ``.pt`` as segments: the tensors' bytes (a ``torch.save`` file is an
uncompressed zip of raw little-endian tensors) as their difference from the base file's tensor of
the same storage name and size, every other byte as it is.  Two kinds of difference:

* **lossless** (any weights): float32 weights of a network trained on from another differ in
  nearly every mantissa bit; what is left to gain is in the high bits of the differences.  The
  differences of the tensors' 32-bit words (modulo 2³², zig-zag so that small negative ones are
  small too) are grouped by the exponent of the base's word (the unit of its last bit); in each
  group, the ``k`` low bits (chosen per group for the fewest bits) are stored as they are and the
  rest, ``d >> k``, is rANS-coded (``constriction``) with the group's histogram, values from
  ``ESCAPE`` (256) on as an escape symbol plus the whole value.  8.9–9.4 MB for the older ``gru-s``
  entries (11.4 MB files); format 1's byte planes and zstd took 9.1–9.6.
* **quantised** (weights *defined* as a quantised difference, made by
  :mod:`rnncodec.weights_quantise`): a tensor whose float32 values are exactly
  ``base + q · step`` (:func:`dequantise`: one float32 multiply, one float32 add, each rounded as
  IEEE 754 says, so every machine computes the same bytes) is stored as the integers ``q`` —
  zig-zag, then rANS-coded with the tensor's own histogram.  A few bits a weight: 1.35 MB for run
  m3 (a fine-tune of ``gru-s``) at ``step`` 0.002.  A tensor that is not such a multiple (or has
  no base) falls back to the lossless kind, so packing never changes a byte.
* **alone** (no base; lossless): each word's sign and exponent (its 9 high bits) are rANS-coded
  with one histogram, and the word is then a lossless difference as above from a base made of
  that sign and exponent and the middle of the mantissa (``1 << 22``) — its mantissa, zig-zag
  below 2²³, grouped by its own exponent.  9.53 MB for GRU_S_V4 (11.4 MB); format 2's
  words against zeros took 9.89, their entropy so split is 9.51.  The older entries ship alone
  with every weight rounded to 12 mantissa bits (``--mantissa-bits``,
  :func:`rnncodec.weights_quantise.rounded_file`): 5.6 MB each, since format 4 leaves out the
  low bits that every difference of a group has as zero.

A base may be shipped packed itself — a chain: a run continued from a shipped fine-tune is
quantised from that fine-tune, and its pack holds only how far it moved (0.70 MB for run m5 at
step 195 against GRU_S_MACHINE_V1; 1.39 MB against GRU_S_V4).  ``--base`` takes a pack (or a
shipped entry's name) and :mod:`rnncodec.weights` unpacks a chain base first, a bounded number deep.

Layout (format 4): ``MAGIC``, a little-endian u32 header length, the header (UTF-8 JSON:
``version``, ``sha256`` and ``size`` of the packed file, ``base_sha256`` and ``base_size`` of the
base (``base_sha256`` null: the file alone, against ``base_size`` zero bytes), ``segments`` — a
list of ``[length, base_offset]`` (``base_offset`` −1 for bytes stored as they are) or ``[length,
base_offset, step]`` (quantised) —, ``counts``: the histogram of each quantised segment's zig-zag
integers, ``differences``: ``[exponent, k, histogram]`` of each group
of lossless differences in ascending order of the exponent (format 4: ``[exponent, k, histogram,
z]`` for a group whose differences all end in ``z`` zero bits, 1 ≤ z ≤ 30, coded without them:
the zig-zag value's bits 1…z, copies of its bit 0, are left out before ``k`` is applied),
``zstd_bytes`` and ``low_bytes``, and
for a pack alone ``tops``: the histogram of the tensors' words' 9 high bits, at most 512 symbols),
then one zstd frame of ``zstd_bytes`` (the stored bytes of every stored segment in order, then the
escaped values, u32), then ``low_bytes`` of low bits (each group's from a whole byte, little-endian
bit order), then the rANS stream (little-endian u32 words) of the 9 high bits (alone: every
tensor's words in file order), of the quantised segments' integers and then of the groups' high
parts, in order.  Format 3 is format 4 without ``z`` (written when no group has one, so a pack
of the same file stays the same bytes); format 2 is format 3 without ``tops`` (alone: the words
against zeros);
format 1 (the zstd frame to the end, holding the stored bytes and then the four byte planes of the
differences in file order) still unpacks.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import struct
import sys
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np

from .atomic import write_atomically
from .cache import CACHE_ENV, cache_root
from .errors import UnknownWeightsError
from .weights import PACK_SUFFIX, resolve_weights, sha256_file

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

__all__ = ["PACK_SUFFIX", "MAGIC", "CACHE_ENV", "pack", "unpack", "read_pack_header", "tensor_regions",
           "with_tensor_bytes", "dequantise", "cache_dir", "materialise"]

MAGIC = b"RNCWPACK"
FORMAT_VERSION = 3  # 4 where a group of differences drops low bits (``squeeze``), else 3
_READABLE_VERSIONS = (1, 2, 3, 4)
_MAX_HEADER = 1 << 20
_MAX_SIZE = 1 << 30  # the largest weights file a pack may declare
_MAX_SYMBOLS = 1 << 16  # the most zig-zag integers a quantised segment's histogram may have (|q| < 2¹⁵)
_ESCAPE = 256  # format 2's lossless differences: the symbol of a high part this large or larger
_TOPS = 1 << 9  # format 3's packs of a file alone: the symbols of a word's sign and exponent
_MANTISSA_MIDDLE = 1 << 22
_LEVEL = 19
_HEX = set("0123456789abcdef")


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


def with_tensor_bytes(data: bytes, tensors: dict[str, bytes]) -> bytes:
    """The ``torch.save`` zip ``data`` with the bytes of the storages in ``tensors`` (``data/N`` →
    bytes of the same length) replaced in place and their CRC-32s with them — in the central
    directory, and in the local header or, when the entry has one, its data descriptor after the
    data (where ``torch.save`` puts it): every other byte, and every offset, as it was."""
    import zlib

    out = bytearray(data)
    regions = tensor_regions(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        by_name = {info.filename.split("/", 1)[-1]: info for info in archive.infolist()}
        at = archive.start_dir
        for name, content in tensors.items():
            offset, length = regions[name]
            if len(content) != length:
                raise ValueError(f"{name}: {len(content)} bytes for a storage of {length}")
            out[offset:offset + length] = content
            crc, info = zlib.crc32(content), by_name[name]
            if info.flag_bits & 0x08:  # a data descriptor: [signature,] CRC-32, sizes
                end = offset + length
                struct.pack_into("<I", out, end + (4 if data[end:end + 4] == b"PK\x07\x08" else 0), crc)
            else:
                struct.pack_into("<I", out, info.header_offset + 14, crc)
        for _ in archive.infolist():  # the central directory: CRC-32 at +16, name and field lengths at +28
            if data[at:at + 4] != b"PK\x01\x02":
                raise ValueError("not a zip's central directory where it should be")
            name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, at + 28)
            name = data[at + 46:at + 46 + name_length].decode().split("/", 1)[-1]
            if name in tensors:
                struct.pack_into("<I", out, at + 16, zlib.crc32(tensors[name]))
            at += 46 + name_length + extra_length + comment_length
    return bytes(out)


def dequantise(base: np.ndarray, q: np.ndarray, step: float) -> np.ndarray:
    """``base + q · step`` in float32 — the values of a quantised tensor, the same on every machine:
    ``q`` (integers below 2²⁴, so exact in float32) times ``step`` (a float32) is rounded to float32,
    then added to ``base`` (float32) and rounded again; numpy fuses neither operation."""
    product = np.asarray(q).astype(np.float32) * np.float32(step)
    return np.asarray(base, dtype="<f4") + product


def _segments(data: bytes, base: bytes) -> list[list[int]]:
    """``[length, base_offset]`` runs covering ``data``: a tensor with a same-named, same-sized one
    in ``base`` (and a whole number of 32-bit words) as a difference, the rest (all of a file that
    is not a ``torch.save`` zip) stored."""
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


def _words(content: bytes, offset: int, length: int) -> np.ndarray:
    return np.frombuffer(content, "<u4", count=length // 4, offset=offset)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, "<u4")


def _exponent_order(base_words: np.ndarray) -> np.ndarray:
    """Format 2's order of the lossless differences: by the base word's exponent, stable."""
    return np.argsort((base_words >> 23) & 0xFF, kind="stable")


def _multiples(words: np.ndarray, base_words: np.ndarray, step: float) -> Optional[np.ndarray]:
    """The integers ``q`` with ``dequantise(base, q, step)`` exactly ``words``, or ``None``."""
    values, base_values = words.view("<f4"), base_words.view("<f4")
    with np.errstate(all="ignore"):
        q = np.rint((values.astype(np.float64) - base_values) / step)
    if not np.all(np.abs(q) < _MAX_SYMBOLS // 2):  # NaN and infinity fail too
        return None
    q = q.astype(np.int32)
    return q if np.array_equal(dequantise(base_values, q, step).view("<u4"), words) else None


def _categorical(counts: Sequence[int]):
    """constriction's model of a histogram (the "fast" quantisation: exact, the same everywhere); a
    histogram of one symbol gets a second, empty one (constriction's least probability)."""
    import constriction

    return constriction.stream.model.Categorical(np.asarray([*counts, 0][:max(len(counts), 2)], dtype=np.float64),
                                                 perfect=False)


def _float32_step(step: float) -> float:
    value = float(np.float32(step))
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"a quantisation step must be a positive float32, not {step!r}")
    return value


def pack(data: bytes, base: Optional[bytes], *, step: Optional[float] = None, level: int = _LEVEL) -> bytes:
    """The pack of the weights file ``data`` against the weights file ``base`` (both whole files).

    With ``step``, each tensor that is exactly ``dequantise(base tensor, q, step)`` is stored as
    ``q`` (see :mod:`rnncodec.weights_quantise`); every other tensor losslessly.  ``base=None``: a
    pack of the file alone (GRU_S_V4's, which have no base), lossless: its tensors' words'
    signs and exponents, then their mantissas (:func:`_tops_base`); no ``step``."""
    step = None if step is None else _float32_step(step)
    alone = base is None
    if alone and step is not None:
        raise ValueError("a pack of the file alone is lossless: it takes no step")
    segments = _segments(data, data if alone else base)  # alone: each tensor against its own place…
    tops = []
    if alone:  # …in a base of each word's own sign and exponent, coded first
        tops = [_concat([_words(data, offset, n) for n, offset in segments if offset >= 0]) >> 23]
        base = _tops_base(len(data), segments, tops[0])
    stored, ours, theirs, symbols, counts, position = [], [], [], [], [], 0
    for segment in segments:
        length, base_offset = segment
        if base_offset < 0:
            stored.append(data[position:position + length])
        else:
            words, base_words = _words(data, position, length), _words(base, base_offset, length)
            q = None if step is None else _multiples(words, base_words, step)
            if q is None:
                ours.append(words)
                theirs.append(base_words)
            else:
                segment.append(step)
                symbols.append(_zigzag(q.view(np.uint32)).astype(np.int32))
                counts.append(np.bincount(symbols[-1]).tolist())
        position += length
    base_words = _concat(theirs)
    order = _exponent_order(base_words)
    groups, group_symbols, low_bits, escapes = _code_differences(
        _zigzag(_concat(ours) - base_words)[order], ((base_words >> 23) & 0xFF)[order])
    frame = zstd.compress(b"".join([*stored, escapes.astype("<u4").tobytes()]), level=level)
    tops_histograms = [np.bincount(top).tolist() for top in tops]
    histograms = [*tops_histograms, *counts, *(group[2] for group in groups)]
    stream = b""
    if histograms:
        import constriction

        coder = constriction.stream.stack.AnsCoder()
        for segment_symbols, histogram in reversed(list(zip([*tops, *symbols, *group_symbols], histograms))):
            if len(segment_symbols):  # none (a file alone with no tensors) take no bits
                coder.encode_reverse(segment_symbols.astype(np.int32), _categorical(histogram))
        stream = coder.get_compressed().astype("<u4").tobytes()
    version = 4 if any(len(group) > 3 for group in groups) else FORMAT_VERSION
    header = json.dumps({"version": version, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                         "base_sha256": None if alone else hashlib.sha256(base).hexdigest(), "base_size": len(base),
                         "segments": segments, "zstd_bytes": len(frame), "low_bytes": len(low_bits),
                         **({"tops": tops_histograms[0]} if alone else {}),
                         "counts": counts, "differences": groups}, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + frame + low_bits + stream


def _tops_base(size: int, segments: Sequence, tops: np.ndarray) -> bytes:
    """Format 3's base for a pack of the file alone: zeros, but at each tensor (in ``segments``, each
    against its own place) its words' own sign and exponent (``tops``, the words' 9 high bits, in
    file order) and the middle of their mantissas, so that a difference is the mantissa from its
    middle — zig-zag, below 2²³ — grouped by its own exponent."""
    base, at = bytearray(size), 0
    for n, offset, *_ in segments:
        if offset >= 0:
            words = (tops[at:at + n // 4].astype(np.uint32) << np.uint32(23)) | np.uint32(_MANTISSA_MIDDLE)
            base[offset:offset + n] = words.astype("<u4").tobytes()
            at += n // 4
    return bytes(base)


def _code_differences(differences: np.ndarray, contexts: np.ndarray):
    """Format 2's code of the lossless differences (zig-zag words, sorted by ``contexts``, the base
    words' exponents): per context, ``[context, k, histogram]`` of the symbols ``min(d >> k, ESCAPE)``
    (``k`` chosen for the fewest bits), those symbols, the low ``k`` bits of every difference
    (packed, each context from a whole byte) and ``d >> k`` of each escaped one.  Format 4: a group
    whose differences all end in ``z`` > 0 zeros before zig-zag (weights rounded to fewer mantissa
    bits) is ``[context, k, histogram, z]`` and codes them squeezed (:func:`_squeeze`), where that
    saves more than 64 bits."""
    groups, symbols, low_bits, escapes = [], [], [], []
    for context, start, end in _runs(contexts):
        group = differences[start:end]
        squeeze = _common_squeeze(group)
        squeeze = squeeze if squeeze * len(group) > 64 else 0  # worth more than its bytes in the header
        group = _squeeze(group, squeeze)
        k = min(range(32), key=lambda shift: _cost(group >> shift, shift))
        high = group >> k
        group_symbols = np.minimum(high, _ESCAPE).astype(np.int32)
        histogram = np.bincount(group_symbols).tolist()
        groups.append([int(context), k, histogram, *([squeeze] if squeeze else [])])
        symbols.append(group_symbols)
        low_bits.append(_pack_bits(group, k))
        escapes.append(high[group_symbols == _ESCAPE])
    return groups, symbols, b"".join(low_bits), _concat(escapes)


_MAX_SQUEEZE = 30


def _common_squeeze(values: np.ndarray) -> int:
    """The most low bits above bit 0 that equal bit 0 in every zig-zag value of ``values`` (those of
    a difference ending in that many zeros: zig-zag makes them copies of its sign), at most 30."""
    if not len(values):
        return 0
    runs = np.where(values & 1, ~values, values)  # the bits equal to bit 0 are now zeros
    lowest = np.bitwise_or.reduce(runs & (np.uint32(0) - runs))  # each value's lowest set bit, or 0 if none
    lowest = int(lowest)
    return min((lowest & -lowest).bit_length() - 2, _MAX_SQUEEZE) if lowest else _MAX_SQUEEZE


def _squeeze(values: np.ndarray, squeeze: int) -> np.ndarray:
    """``values`` without their bits 1 … ``squeeze`` (each a copy of bit 0, :func:`_common_squeeze`)."""
    if not squeeze:
        return values
    return ((values >> np.uint32(squeeze + 1)) << np.uint32(1)) | (values & np.uint32(1))


def _unsqueeze(values: np.ndarray, squeeze: int) -> np.ndarray:
    """:func:`_squeeze` undone: bits 1 … ``squeeze`` put back as copies of bit 0."""
    if not squeeze:
        return values
    sign = values & np.uint32(1)
    return ((values >> np.uint32(1)) << np.uint32(squeeze + 1)) | (sign * np.uint32((1 << (squeeze + 1)) - 1))


def _runs(contexts: np.ndarray) -> list[tuple[int, int, int]]:
    """``(value, start, end)`` of each run of equal values of the sorted ``contexts``."""
    values, starts = np.unique(contexts, return_index=True)
    ends = [*starts[1:], len(contexts)]
    return [(int(value), int(start), int(end)) for value, start, end in zip(values, starts, ends)]


def _cost(high: np.ndarray, shift: int) -> float:
    """Bits of a group coded with ``shift`` low bits: the symbols' entropy, the low bits, 32 a
    escape, and ~16 a histogram entry."""
    counts = np.bincount(np.minimum(high, _ESCAPE).astype(np.int64))
    used = counts[counts > 0]
    entropy = float(-(used * np.log2(used / len(high))).sum())
    return entropy + shift * len(high) + 32 * float(counts[_ESCAPE] if len(counts) > _ESCAPE else 0) + 16 * len(counts)


def _pack_bits(values: np.ndarray, k: int) -> bytes:
    """The low ``k`` bits of each value, packed (little-endian bit order), padded to a whole byte."""
    bits = np.unpackbits(values.astype("<u4").view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
    return np.packbits(bits[:, :k].reshape(-1), bitorder="little").tobytes()


def _unpack_bits(data: bytes, n: int, k: int) -> np.ndarray:
    bits = np.zeros((n, 32), np.uint8)
    bits[:, :k] = np.unpackbits(np.frombuffer(data, np.uint8), count=n * k, bitorder="little").reshape(n, k)
    return np.packbits(bits, axis=1, bitorder="little").view("<u4").reshape(-1)


def read_pack_header(path: Union[str, os.PathLike]) -> dict:
    """The header of the pack at ``path`` (what it unpacks to, and against which base)."""
    with open(path, "rb") as fh:
        prefix = fh.read(len(MAGIC) + 4)  # then the header alone, not the pack (GRU_S_V4's: every process)
        length = struct.unpack_from("<I", prefix, len(MAGIC))[0] if len(prefix) == len(MAGIC) + 4 else 0
        return _header(prefix + fh.read(min(length, _MAX_HEADER)), path)[0]


def _header(data: bytes, where: Union[str, os.PathLike]) -> tuple[dict, int]:
    """The header (``segments`` as ``(length, base_offset, step or None)``) and the offset of the
    zstd frame; :class:`UnknownWeightsError` if malformed."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise UnknownWeightsError(f"{where}: not an rnncodec weights pack")
    (length,) = struct.unpack_from("<I", data, len(MAGIC))
    start = len(MAGIC) + 4
    try:
        if length > _MAX_HEADER:
            raise ValueError(f"a header of {length} bytes")
        header = json.loads(data[start:start + length])
        version = header.get("version")
        if version not in _READABLE_VERSIONS:
            raise ValueError(f"version {version!r}")
        size, base_size = int(header["size"]), int(header["base_size"])
        base_sha256 = header["base_sha256"]
        if base_sha256 is None:
            if not 0 <= base_size <= _MAX_SIZE:  # a base of zeros is allocated
                raise ValueError(f"a base of {base_size} zero bytes")
        elif not (isinstance(base_sha256, str) and len(base_sha256) == 64 and set(base_sha256) <= _HEX):
            raise ValueError(f"a base SHA-256 {base_sha256!r}")
        segments = [_segment(entry, version) for entry in header["segments"]]
        if not 0 < size <= _MAX_SIZE or sum(n for n, _, _ in segments) != size or any(
                n <= 0 or (offset >= 0 and (n % 4 or offset + n > base_size)) or (offset < 0 and step is not None)
                for n, offset, step in segments):
            raise ValueError("segments that do not add up")
        counts = [_histogram(histogram, _MAX_SYMBOLS) for histogram in header.get("counts", [])]
        quantised = [n // 4 for n, _, step in segments if step is not None]
        if len(counts) != len(quantised) or any(sum(histogram) != words for histogram, words in zip(counts, quantised)):
            raise ValueError("histograms that do not match the quantised segments")
        groups = [_group(entry, version) for entry in header.get("differences", [])]
        if any(not 0 <= k < 32 for _, k, _, _ in groups) or [context for context, *_ in groups] != sorted(
                {context for context, *_ in groups}):
            raise ValueError("groups of differences out of order")
        tops = header.get("tops")
        if (tops is not None) != (version >= 3 and base_sha256 is None):
            raise ValueError("a histogram of signs and exponents where none belongs, or none where one does")
        if tops is not None:
            tops = _histogram(tops, _TOPS)
            if sum(tops) != sum(n // 4 for n, offset, step in segments if offset >= 0) or any(
                    step is not None for _, _, step in segments):
                raise ValueError("a histogram of signs and exponents that does not match the tensors")
        header.update(segments=segments, counts=counts, differences=groups, zstd_bytes=int(header.get("zstd_bytes", -1)),
                      low_bytes=int(header.get("low_bytes", 0)), tops=tops)
    except (ValueError, KeyError, TypeError) as exc:
        raise UnknownWeightsError(f"{where}: a malformed rnncodec weights pack ({exc})") from None
    return header, start + length


def _histogram(entry: Sequence, limit: int) -> list[int]:
    histogram = [int(count) for count in entry]
    if not 0 < len(histogram) <= limit or min(histogram) < 0:
        raise ValueError(f"a histogram of {len(histogram)} symbols")
    return histogram


def _group(entry: Sequence, version: int) -> tuple[int, int, list[int], int]:
    """One header group of differences as ``(context, k, histogram, squeeze)``."""
    if not (len(entry) == 3 or (len(entry) == 4 and version >= 4 and 0 < int(entry[3]) <= _MAX_SQUEEZE)):
        raise ValueError(f"a group of differences {entry!r:.80}")
    return int(entry[0]), int(entry[1]), _histogram(entry[2], _ESCAPE + 1), int(entry[3]) if len(entry) == 4 else 0


def _segment(entry: Sequence, version: int) -> tuple[int, int, Optional[float]]:
    """One header segment as ``(length, base_offset, step or None)``."""
    if len(entry) == 2:
        return int(entry[0]), int(entry[1]), None
    if len(entry) != 3 or version < 2 or not isinstance(entry[2], float) or _float32_step(entry[2]) != entry[2]:
        raise ValueError(f"a segment {entry!r}")
    return int(entry[0]), int(entry[1]), entry[2]


def _damaged(where: Union[str, os.PathLike], why: object) -> UnknownWeightsError:
    return UnknownWeightsError(f"{where}: a damaged rnncodec weights pack ({why})")


def _decompress(frame: bytes, expected: int, where: Union[str, os.PathLike]) -> bytes:
    """The zstd ``frame``'s bytes, which must be exactly ``expected`` many (no more are made)."""
    decompressor = zstd.ZstdDecompressor()
    try:
        payload = decompressor.decompress(frame, max_length=expected + 1)
    except (zstd.ZstdError, EOFError) as exc:
        raise _damaged(where, exc) from None
    if len(payload) != expected or not decompressor.eof:
        raise _damaged(where, f"its zstd frame does not hold the {expected} bytes it should")
    return payload


def _decode_symbols(stream: bytes, histograms: list[list[int]], where: Union[str, os.PathLike]) -> list[np.ndarray]:
    """The symbols of each histogram in turn (as many as it counts), from the rANS ``stream``."""
    if not histograms:
        return []
    import constriction

    if len(stream) % 4:  # empty is fine: symbols that are certain take no bits
        raise _damaged(where, f"a rANS stream of {len(stream)} bytes")
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(stream, "<u4").astype(np.uint32))
        return [np.asarray(coder.decode(_categorical(histogram), sum(histogram)) if sum(histogram) else []).astype(
            np.uint32) for histogram in histograms]
    except (ValueError, RuntimeError, OverflowError) as exc:
        raise _damaged(where, exc) from None


def _decode_differences(groups: list, base_words: np.ndarray, symbols: list[np.ndarray], low_bits: bytes,
                        escapes: np.ndarray, where: Union[str, os.PathLike]) -> np.ndarray:
    """Format 2's lossless differences (zig-zag words, in file order) from their code."""
    order = _exponent_order(base_words)
    runs = _runs(((base_words >> 23) & 0xFF)[order])
    if [(context, end - start) for context, start, end in runs] != [
            (context, sum(histogram)) for context, _, histogram, _ in groups]:
        raise _damaged(where, "its groups of differences do not match the base's exponents")
    sorted_differences, low_at, escape_at = np.empty(len(base_words), np.uint32), 0, 0
    for (start, end), (_, k, _, squeeze), high in zip(((start, end) for _, start, end in runs), groups, symbols):
        n = end - start
        escaped = np.flatnonzero(high == _ESCAPE)
        if escape_at + len(escaped) > len(escapes):
            raise _damaged(where, "more escaped differences than it holds")
        high[escaped] = escapes[escape_at:escape_at + len(escaped)]
        escape_at += len(escaped)
        low = _unpack_bits(low_bits[low_at:low_at + (n * k + 7) // 8], n, k)
        low_at += (n * k + 7) // 8
        sorted_differences[start:end] = _unsqueeze((high << np.uint32(k)) | low, squeeze)
    differences = np.empty_like(sorted_differences)
    differences[order] = sorted_differences
    return differences


def _lossless_base_words(base: bytes, lossless: list[tuple[int, int]]) -> np.ndarray:
    """The base's words under the lossless segments (``(length, base_offset)``), in order."""
    return _concat([_words(base, offset, n) for n, offset in lossless])


def unpack(data: bytes, base: Optional[bytes], *, where: Union[str, os.PathLike] = "weights pack") -> bytes:
    """The weights file a pack holds, given its base's bytes (``None`` for a pack of the file
    alone, :func:`pack`'s ``base=None``); checked against its SHA-256."""
    header, start = _header(data, where)
    if header["base_sha256"] is None:
        if base is not None:
            raise UnknownWeightsError(f"{where}: holds its weights alone, against no base")
        base = bytes(header["base_size"])  # format 3: replaced by its words' signs and exponents, below
    elif base is None:
        raise UnknownWeightsError(f"{where}: its base is weights {header['base_sha256'][:16]}…, and none was given")
    elif len(base) != header["base_size"] or hashlib.sha256(base).hexdigest() != header["base_sha256"]:
        raise UnknownWeightsError(f"{where}: its base is weights {header['base_sha256'][:16]}…, not these")
    segments = header["segments"]
    lossless = [(n, offset) for n, offset, step in segments if offset >= 0 and step is None]
    lossless_words = sum(n // 4 for n, _ in lossless)
    stored_size = sum(n for n, offset, _ in segments if offset < 0)
    if header["version"] == 1:
        base_words = _lossless_base_words(base, lossless)
        payload = _decompress(data[start:], stored_size + 4 * lossless_words, where)
        planes = np.frombuffer(payload, np.uint8, offset=stored_size).reshape(4, -1)
        differences, integers = np.ascontiguousarray(planes.T).view("<u4").reshape(-1), iter(())
    else:
        frame_end = start + header["zstd_bytes"]
        low_end = frame_end + header["low_bytes"]
        if not start < frame_end <= low_end <= len(data):
            raise _damaged(where, f"a zstd frame of {header['zstd_bytes']} bytes and {header['low_bytes']} bytes of "
                                  f"low bits in {len(data) - start}")
        groups = header["differences"]
        escape_count = sum(histogram[_ESCAPE] for _, _, histogram, _ in groups if len(histogram) > _ESCAPE)
        if sum(sum(histogram) for _, _, histogram, _ in groups) != lossless_words or header["low_bytes"] != sum(
                (sum(histogram) * k + 7) // 8 for _, k, histogram, _ in groups):
            raise UnknownWeightsError(f"{where}: a malformed rnncodec weights pack (differences that do not add up)")
        payload = _decompress(data[start:frame_end], stored_size + 4 * escape_count, where)
        tops = [] if header["tops"] is None else [header["tops"]]
        symbols = _decode_symbols(data[low_end:], [*tops, *header["counts"], *(h for _, _, h, _ in groups)], where)
        if tops:
            base = _tops_base(len(base), segments, symbols.pop(0))
        base_words = _lossless_base_words(base, lossless)
        quantised, symbols = symbols[:len(header["counts"])], symbols[len(header["counts"]):]
        escapes = np.frombuffer(payload, "<u4", offset=stored_size)
        differences = _decode_differences(groups, base_words, symbols, data[frame_end:low_end], escapes, where)
        integers = iter(_unzigzag(values).view(np.int32) for values in quantised)
    words_bytes = (_unzigzag(differences) + base_words).view(np.uint8)
    out, stored_at, word_at = bytearray(), 0, 0
    for length, base_offset, step in segments:
        if base_offset < 0:
            out += payload[stored_at:stored_at + length]
            stored_at += length
        elif step is None:
            out += words_bytes[word_at:word_at + length].tobytes()
            word_at += length
        else:
            out += dequantise(_words(base, base_offset, length).view("<f4"), next(integers), step).tobytes()
    if hashlib.sha256(out).hexdigest() != header["sha256"]:
        raise UnknownWeightsError(f"{where}: unpacks to other bytes than weights {header['sha256'][:16]}…")
    return bytes(out)


def cache_dir() -> Path:
    """Where :func:`materialise` keeps unpacked weights: the user's cache folder
    (:func:`rnncodec.cache.cache_root`: ``$RNC_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnncodec``, else
    ``~/.cache/rnncodec``) + ``/weights``."""
    return cache_root() / "weights"


def materialise(pack_path: Path, file: str, sha256: str, base_path: Optional[Path], graphs: Sequence[Path]) -> Path:
    """The weights file ``file`` (SHA-256 ``sha256``) unpacked from ``pack_path`` into the cache,
    with its ONNX ``graphs`` beside it (they read its tensors from there): copies of those shipped,
    the others made from the base's graphs (:func:`rnncodec.graph_relink.relink`; the wheel leaves
    a packed entry's graphs out).  ``base_path``: ``None`` for a pack of the file alone (whose
    graphs are shipped).

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


def _materialise_in(folder: Path, pack_path: Path, file: str, sha256: str, base_path: Optional[Path],
                    graphs: Sequence[Path]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file
    if not (target.is_file() and _verified(str(target), target.stat().st_mtime_ns) == sha256):
        data = unpack(pack_path.read_bytes(), None if base_path is None else base_path.read_bytes(), where=pack_path)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise UnknownWeightsError(f"{pack_path}: holds other weights than {file}")
        write_atomically(target, data)
    for graph in graphs:
        content = graph.read_bytes() if graph.is_file() else _relinked(graph.name, file, target, base_path)
        copy = folder / graph.name
        if content is not None and (not copy.is_file() or copy.read_bytes() != content):
            write_atomically(copy, content)  # a graph neither shipped nor made: the onnx backend says so
    return target


def _relinked(graph_name: str, file: str, target: Path, base_path: Optional[Path]) -> Optional[bytes]:
    """The graph ``graph_name`` of the weights ``target`` (named ``file``) made from the same graph
    of its base beside ``base_path``, or ``None`` if the base has none (or there is no base)."""
    from .graph_relink import relink

    if base_path is None:
        return None
    base_graph = base_path.with_name(base_path.stem + graph_name[len(Path(file).stem):])
    if not base_graph.is_file():
        return None
    return relink(base_graph.read_bytes(), base_path.read_bytes(), target.read_bytes(), file)


@lru_cache(maxsize=16)
def _verified(path: str, mtime_ns: int) -> str:
    return sha256_file(path)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnncodec.weights_pack", description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path, nargs="+", help="weights files to pack (NAME.pt → NAME.ptpack beside it)")
    parser.add_argument("--base",
                        help="the weights they are stored against: a file, a shipped entry's name, or a pack "
                             "(unpacked through its own base: a chain); without it, each file alone (its tensors "
                             "against zeros: how GRU_S_V4 ships)")
    parser.add_argument("--step", type=float,
                        help="store the tensors that are the base's plus whole multiples of STEP as those integers "
                             "(weights made by python -m rnncodec.weights_quantise; the step is in their meta)")
    parser.add_argument("--mantissa-bits", type=int, metavar="K",
                        help="pack each file alone with every weight rounded to K of its 23 mantissa bits (how "
                             "older entries ship; the SHA-256 of the rounded file is printed for the registry)")
    args = parser.parse_args(argv)
    if args.step is not None and args.base is None:
        parser.error("--step needs --base: a file alone is packed losslessly")
    if args.mantissa_bits is not None and args.base is not None:
        parser.error("--mantissa-bits packs each file alone: it takes no --base")
    if args.mantissa_bits is not None and not 1 <= args.mantissa_bits <= 23:
        parser.error(f"--mantissa-bits: 1…23, not {args.mantissa_bits}")
    base, base_name = None, ""
    try:
        if args.base is not None:
            base_path, base_name = resolve_weights(args.base)
            base = base_path.read_bytes()
    except (UnknownWeightsError, OSError) as exc:
        print(f"error: --base: {exc}", file=sys.stderr)
        return 1
    for path in args.weights:
        try:
            if args.mantissa_bits is None:
                data = path.read_bytes()
            else:
                from .weights_quantise import rounded_file  # needs torch, as only this option does

                data = rounded_file(path, args.mantissa_bits)
        except (UnknownWeightsError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        packed = pack(data, base, step=args.step)
        if unpack(packed, base, where=path) != data:  # pragma: no cover - unpack checks the SHA-256 itself
            raise SystemExit(f"{path}: the pack does not give the file back")
        target = path.with_suffix(PACK_SUFFIX)
        write_atomically(target, packed)
        rounded = "" if args.mantissa_bits is None else (
            f", rounded to {args.mantissa_bits} mantissa bits: sha256 {hashlib.sha256(data).hexdigest()}")
        print(f"{path} ({len(data):,} bytes) → {target} ({len(packed):,} bytes, "
              f"{'alone' if base is None else 'against ' + base_name}"
              f"{_quantised_note(read_pack_header(target))}{rounded})")
    return 0


def _quantised_note(header: dict) -> str:
    tensors = [step for _, offset, step in header["segments"] if offset >= 0]
    quantised = sum(step is not None for step in tensors)
    return f"; {quantised} of {len(tensors)} tensors quantised" if quantised else ""


if __name__ == "__main__":
    sys.exit(main())
