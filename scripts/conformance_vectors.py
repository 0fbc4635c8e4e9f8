"""Conformance vectors: small ``.rnc`` files, valid and broken, with their expected outcomes.

``python scripts/conformance_vectors.py DIR`` writes the files and ``manifest.json`` to DIR; the
output is deterministic, and the committed copy lives in ``formats/vectors/``.  Each manifest
entry gives the outcome of reading the file *completely* — parsing every chunk, then decoding
every iteration and the alpha plane — in strict and in lenient mode: either
``{"error": "<ErrorName>"}`` (a class of :mod:`rnncodec.formats.errors`) or the file's
properties, where ``codes_sha256`` is the SHA-256 of the iterations' codes packed as the raw
coder packs them, concatenated (so another implementation can check its decoder too) — for
coder 3 (``adaptive``), whose codes hold ``STOPPED`` too, of the codes' bytes (a byte a value).

The expected outcomes are written here by hand and the codes' hashes are taken from the codes
that were encoded, not from reading the files back, so the vectors test the reader.
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnncodec.formats import spec
from rnncodec.formats.chunks import pack_chunk
from rnncodec.formats.coders import get_coder
from rnncodec.formats.coders.context.coder import ans_payload
from rnncodec.formats.header import Header, encode_varint
from rnncodec.formats.writer import write_bytes

__all__ = ["Vector", "build_vectors", "write_vectors", "random_codes", "correlated_codes", "stopped_codes",
           "flat_payload", "codes_sha256"]

WEIGHTS = hashlib.sha256(b"rnncodec conformance weights").digest()


def random_codes(header: Header, seed: int = 0, count: int | None = None) -> list[np.ndarray]:
    """``count`` (default ``header.iterations``) reproducible random code tensors for ``header``."""
    rng = np.random.default_rng(seed)
    count = header.iterations if count is None else count
    return [rng.integers(0, 2, header.code_shape, dtype=np.uint8) for _ in range(count)]


def correlated_codes(shape: tuple[int, int, int], iterations: int, seed: int = 0,
                     keep: float = 0.8) -> list[np.ndarray]:
    """Reproducible codes with a network's structure (for coder 2): smooth planes, channels that
    copy or invert others, and iterations that keep a fraction ``keep`` of the previous bits."""
    rng = np.random.default_rng(seed)
    codes: list[np.ndarray] = []
    for _ in range(iterations):
        smooth = rng.normal(size=shape).cumsum(axis=1).cumsum(axis=2)
        bits = (smooth > 0).astype(np.uint8)
        bits[1::2] = bits[0] ^ bits[2 % len(bits)]  # odd channels: an earlier channel, or its inverse
        if codes:
            bits = np.where(rng.random(shape) < keep, codes[-1], bits).astype(np.uint8)
        codes.append(bits)
    return codes


def stopped_codes(codes: list[np.ndarray], seed: int = 0, rate: float = 0.25,
                  smooth: bool = True) -> list[np.ndarray]:
    """``codes`` with blocks that stop (coder 3, SPEC.md §7.3): each block gets a level in [0, 1)
    (a smooth field's ranks, as a quality threshold over an image gives, or independent ones) and
    stops at the first iteration t ≥ 2 with ``level < rate·(t − 1)``."""
    if not codes:
        return []
    rng = np.random.default_rng(seed)
    grid = codes[0].shape[1:]
    field = rng.normal(size=grid)
    if smooth:
        field = field.cumsum(axis=0).cumsum(axis=1) + rng.normal(size=grid)
    level = np.argsort(np.argsort(field, axis=None)).reshape(grid) / field.size
    out = []
    for t, bits in enumerate(codes, start=1):
        bits = bits.copy()
        bits[:, level < rate * (t - 1)] = spec.STOPPED
        out.append(bits)
    return out


def flat_payload(symbols: list[int]) -> bytes:
    """A coder 2 payload of ``symbols`` each coded with probability ½ (SPEC.md §7.2 "flat")."""
    return ans_payload(np.array(symbols, dtype=np.int32), np.full(len(symbols), 0.5))


def codes_sha256(codes: list[np.ndarray], coder: str = "raw") -> str:
    """SHA-256 (hex) of the codes packed 8 bits a byte (``np.packbits``), concatenated; for the
    coder ``adaptive``, whose codes hold ``STOPPED`` too, of their bytes (one a value, C order)."""
    digest = hashlib.sha256()
    for code in codes:
        digest.update(code.tobytes() if coder == "adaptive" else np.packbits(code, axis=None).tobytes())
    return digest.hexdigest()


@dataclass
class Vector:
    """One conformance file and what a reader must make of it."""

    name: str
    description: str
    data: bytes
    strict: dict[str, Any]
    lenient: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lenient = self.lenient or self.strict

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "description": self.description,
            "bytes": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "strict": self.strict,
            "lenient": self.lenient,
        }


def _header(**fields: Any) -> Header:
    base = dict(width=32, height=32, mode="RGB", iterations=2, weights_id=WEIGHTS,
                architecture="conf1", coder="raw")
    return Header(**{**base, **fields})


def _valid(header: Header, codes: list[np.ndarray], metadata=None, alpha=None, *,
           truncated: bool = False) -> dict[str, Any]:
    return {
        "width": header.width,
        "height": header.height,
        "mode": header.mode,
        "coder": header.coder,
        "architecture": header.architecture,
        "iterations": len(codes),
        "iterations_declared": header.iterations,
        "truncated": truncated,
        "metadata": metadata,
        "codes_sha256": codes_sha256(codes, header.coder),
        "alpha_sha256": None if alpha is None else hashlib.sha256(alpha.tobytes()).hexdigest(),
    }


def _error(name: str) -> dict[str, str]:
    return {"error": name}


def _rhdr(*, version=1, width=b"\x20", height=b"\x20", mode=3, bits=32, tile_log2=0, coder=0,
          iterations=2, weights=WEIGHTS[:16], arch=b"conf1") -> bytes:
    """An RHDR chunk built field by field, bypassing :class:`Header`'s checks (varints as bytes)."""
    data = bytes([version]) + width + height + bytes([mode, bits, tile_log2, coder, iterations])
    return pack_chunk(spec.CHUNK_HEADER, data + weights + arch)


def _zstd_frame(declared: int | None, blocks: bytes) -> bytes:
    """A zstd frame with a hand-made header: single segment, 8-byte content size if declared."""
    if declared is None:  # window descriptor instead of a content size: 2^17 bytes
        return spec.ZSTD_MAGIC + b"\x00\x38" + blocks
    return spec.ZSTD_MAGIC + b"\xe0" + struct.pack("<Q", declared) + blocks


def _rle_blocks(total: int) -> bytes:
    """zstd RLE blocks (3-byte header + 1 byte each) expanding to ``total`` zero bytes."""
    out, block = bytearray(), 1 << 17  # 128 KiB, zstd's largest block
    while total:
        size = min(block, total)
        total -= size
        out += ((size << 3) | (1 << 1) | (0 if total else 1)).to_bytes(3, "little") + b"\x00"
    return bytes(out)


def _chunks_of(data: bytes) -> list[bytes]:
    """The framed chunks of a file (signature dropped)."""
    out, pos = [], len(spec.SIGNATURE)
    while pos < len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        out.append(data[pos : pos + length + spec.CHUNK_FRAMING_BYTES])
        pos += length + spec.CHUNK_FRAMING_BYTES
    return out


def build_vectors() -> list[Vector]:
    """Every conformance vector, in manifest order."""
    vectors: list[Vector] = []

    def add(name: str, description: str, data: bytes, strict: dict, lenient: dict | None = None):
        vectors.append(Vector(f"{name}.rnc", description, data, strict, lenient or {}))

    def valid(name: str, description: str, header: Header, seed: int, metadata=None, alpha=None):
        codes = (correlated_codes(header.code_shape, header.iterations, seed) if header.coder in ("context", "adaptive")
                 else random_codes(header, seed))
        if header.coder == "adaptive":
            codes = stopped_codes(codes, seed)
        add(name, description, write_bytes(header, codes, metadata, alpha),
            _valid(header, codes, metadata, alpha))
        return header, codes

    # --- valid files ------------------------------------------------------------------------
    valid("valid-1x1-L-raw-1it", "smallest image, one iteration, raw coder",
          _header(width=1, height=1, mode="L", iterations=1), 1)
    valid("valid-17x33-RGB-zstd-2it-meta", "odd size, zstd, metadata",
          _header(width=17, height=33, coder="zstd"), 2,
          metadata={"source_name": "odd.png", "source_bytes": 1234, "tool_version": "0.1.0"})
    h16, codes16 = valid("valid-48x32-RGB-zstd-16it", "sixteen iterations, zstd",
                         _header(width=48, height=32, iterations=16, coder="zstd"), 3)
    valid("valid-20x20-RGB-raw-16it", "sixteen iterations, raw", _header(width=20, height=20, iterations=16), 4)
    alpha = np.arange(15 * 9, dtype=np.uint8).reshape(9, 15)
    valid("valid-15x9-RGB-raw-2it-meta-alpha", "alpha plane and metadata",
          _header(width=15, height=9), 5, metadata={"source_name": "a.png"}, alpha=alpha)
    valid("valid-0it", "no iterations at all", _header(iterations=0), 6)
    valid("valid-tiled-bpb8", "256 px tiles, 8 bits per block",
          _header(width=300, height=70, bits_per_block=8, tile_size=256, mode="L"), 7)
    valid("valid-70x45-RGB-context-4it", "coder 2 (context) on codes too small for a model: flat bits",
          _header(width=70, height=45, iterations=4, coder="context"), 9)
    h_ctx, codes_ctx = valid("valid-192x128-RGB-context-3it", "coder 2 with its model: weights, window 6, then 0",
                             _header(width=192, height=128, iterations=3, coder="context"), 12)
    valid("valid-1x1-L-context-2it", "coder 2 on the smallest code (32 bits)",
          _header(width=1, height=1, mode="L", coder="context"), 10)
    valid("valid-33x17-RGB-context-3it-bpb5", "coder 2, odd grid, 5 bits per block",
          _header(width=33, height=17, iterations=3, bits_per_block=5, coder="context"), 11)

    base_header, base_codes = _header(), random_codes(_header(), 8)
    base = write_bytes(base_header, base_codes)
    sig, rhdr, ritr1, ritr2, rend = base[:8], *_chunks_of(base)
    xtra = pack_chunk(b"xTRa", b"an unknown ancillary chunk")
    add("valid-unknown-ancillary", "an unknown ancillary chunk between iterations is skipped",
        sig + rhdr + ritr1 + xtra + ritr2 + rend, _valid(base_header, base_codes))

    # --- cut files ---------------------------------------------------------------------------
    add("cut-inside-iteration", "file cut in the middle of the second RITR chunk",
        base[: len(base) - len(rend) - 5], _error("TruncatedFileError"),
        _valid(base_header, base_codes[:1], truncated=True))
    add("cut-before-end", "every iteration present, REND missing",
        base[: len(base) - len(rend)], _error("TruncatedFileError"),
        _valid(base_header, base_codes, truncated=True))
    add("cut-inside-header", "file cut inside the RHDR chunk", base[:20], _error("TruncatedFileError"))
    add("empty", "no bytes at all", b"", _error("TruncatedFileError"))
    add("trailing-garbage", "bytes after REND (refused when strict, ignored when lenient)",
        base + b"garbage", _error("CorruptChunkError"), _valid(base_header, base_codes))

    # --- broken files -----------------------------------------------------------------------
    corrupt = _error("CorruptChunkError")
    add("bad-signature", "PNG signature instead of the RNC one", b"\x89PNG" + base[4:], _error("NotRNCError"))
    flipped = bytearray(base)
    flipped[8 + 8 + 3] ^= 0x01  # a height bit inside RHDR data
    add("bad-header-crc", "one bit flipped inside RHDR", bytes(flipped), corrupt)
    flipped = bytearray(base)
    flipped[len(sig + rhdr) + 8] ^= 0x80
    add("bad-iteration-crc", "one bit flipped inside the first RITR payload", bytes(flipped), corrupt)
    add("iterations-out-of-order", "RITR chunks 1 and 2 swapped",
        sig + rhdr + ritr2 + ritr1 + rend, corrupt)
    add("iteration-missing", "REND after one of the two declared iterations", sig + rhdr + ritr1 + rend, corrupt)
    add("iteration-extra", "a third RITR chunk when two are declared",
        sig + rhdr + ritr1 + ritr2 + pack_chunk(spec.CHUNK_ITERATION, ritr1[8:-4], index=3) + rend, corrupt)
    add("unknown-critical-chunk", "a critical chunk type no reader knows",
        sig + rhdr + pack_chunk(b"XTRA", b"must understand") + ritr1 + ritr2 + rend,
        _error("UnknownCriticalChunkError"))
    add("header-not-first", "an ancillary chunk before RHDR", sig + xtra + rhdr + ritr1 + ritr2 + rend, corrupt)
    add("header-twice", "a second RHDR", sig + rhdr + rhdr + ritr1 + ritr2 + rend, corrupt)
    add("absurd-dimensions", "2^31 x 2^31 pixels declared",
        sig + _rhdr(width=encode_varint(2**31), height=encode_varint(2**31)) + ritr1 + ritr2 + rend,
        _error("LimitExceededError"))
    add("too-many-iterations", "200 iterations declared (limit 64)",
        sig + _rhdr(iterations=200) + ritr1 + ritr2 + rend, _error("LimitExceededError"))
    add("unsupported-version", "RHDR version 2", sig + _rhdr(version=2) + ritr1 + ritr2 + rend,
        _error("UnsupportedVersionError"))
    add("unsupported-coder", "coder 255 (no coder has that id)",
        sig + _rhdr(coder=255) + ritr1 + ritr2 + rend, _error("UnsupportedCoderError"))
    add("non-minimal-varint", "width 32 written as two varint bytes",
        sig + _rhdr(width=b"\xa0\x00") + ritr1 + ritr2 + rend, corrupt)
    add("zero-width", "width 0", sig + _rhdr(width=b"\x00") + ritr1 + ritr2 + rend, corrupt)
    add("bad-mode", "mode byte 2", sig + _rhdr(mode=2) + ritr1 + ritr2 + rend, corrupt)
    add("bad-architecture", "architecture with upper-case letters",
        sig + _rhdr(arch=b"Conf1") + ritr1 + ritr2 + rend, corrupt)
    add("huge-chunk-length", "a RITR length of 2^31 - 1 (refused before reading)",
        sig + rhdr + struct.pack(">I", spec.MAX_CHUNK_LENGTH) + spec.CHUNK_ITERATION + b"\0" * 16, corrupt)
    add("raw-payload-short", "a raw payload one byte short",
        sig + rhdr + pack_chunk(spec.CHUNK_ITERATION, ritr1[8:-5], index=1) + ritr2 + rend, corrupt)

    zstd_header = _header(coder="zstd")
    zstd_rhdr = pack_chunk(spec.CHUNK_HEADER, zstd_header.to_bytes())
    size = zstd_header.payload_bytes

    def zstd_file(payload: bytes) -> bytes:
        return (sig + zstd_rhdr + pack_chunk(spec.CHUNK_ITERATION, payload, index=1)
                + pack_chunk(spec.CHUNK_ITERATION, payload, index=2) + rend)

    add("zstd-bomb-declared-size", "zstd frame declaring 2^40 bytes of content",
        zstd_file(_zstd_frame(2**40, _rle_blocks(size))), corrupt)
    blocks = (size + spec.ITERATION_PAYLOAD_SLACK - 6) // 4  # as many as the length cap allows
    add("zstd-bomb-no-size", f"zstd frame with no content size expanding to {blocks // 8} MiB",
        zstd_file(_zstd_frame(None, _rle_blocks(blocks << 17))), corrupt)
    add("zstd-size-lies", "zstd frame declaring the right size but holding more",
        zstd_file(_zstd_frame(size, _rle_blocks(size + 1))), corrupt)

    meta = pack_chunk(spec.CHUNK_METADATA, b"[1, 2, 3]")
    add("metadata-not-object", "mETa holding a JSON array", sig + rhdr + meta + ritr1 + ritr2 + rend, corrupt)
    alpha_chunk = pack_chunk(spec.CHUNK_ALPHA, bytes([spec.ALPHA_METHOD_ZLIB]) + zlib.compress(bytes(32 * 32)))
    add("alpha-after-iteration", "aLPh after the first RITR",
        sig + rhdr + ritr1 + alpha_chunk + ritr2 + rend, corrupt)
    alpha_bomb = pack_chunk(spec.CHUNK_ALPHA, bytes([spec.ALPHA_METHOD_ZLIB]) + zlib.compress(bytes(2**16)))
    add("alpha-bomb", "aLPh within its length cap but inflating to 64 KiB, not 32 x 32 bytes",
        sig + rhdr + alpha_bomb + ritr1 + ritr2 + rend, corrupt)

    ctx_file = write_bytes(h_ctx, codes_ctx)
    ctx_rhdr, ctx_first, *ctx_rest = _chunks_of(ctx_file)

    def context_file(first_payload: bytes) -> bytes:
        return (ctx_file[:8] + ctx_rhdr + pack_chunk(spec.CHUNK_ITERATION, first_payload, index=1)
                + b"".join(ctx_rest))

    first = ctx_first[8:-4]
    add("context-zero-last-word", "coder 2 payload ending in a zero word", context_file(first + bytes(4)), corrupt)
    add("context-data-left-over", "coder 2 payload with a first word that is never read",
        context_file(b"\x01\x00\x00\x00" + first), corrupt)
    add("context-not-whole-words", "coder 2 payload one byte short of whole 32-bit words",
        context_file(first[:-1]), corrupt)
    add("context-window-over-32", "coder 2 payload whose window is 33 channels (at most 32)",
        context_file(flat_payload([1, 1, 0, 0, 0, 0, 1])), corrupt)

    h_ad, codes_ad = valid("valid-192x128-RGB-adaptive-5it", "coder 3: blocks stop from iteration 2 (a quarter "
                           "more each iteration), the model over the active blocks",
                           _header(width=192, height=128, iterations=5, coder="adaptive"), 13)
    valid("valid-33x17-RGB-adaptive-4it-bpb5", "coder 3, odd grid, 5 bits per block, flat bits",
          _header(width=33, height=17, iterations=4, bits_per_block=5, coder="adaptive"), 14)
    valid("valid-1x1-L-adaptive-3it", "coder 3 on one block, which stops at iteration 2",
          _header(width=1, height=1, mode="L", iterations=3, coder="adaptive"), 15)
    ad_file = write_bytes(h_ad, codes_ad)
    ad_rhdr, *ad_ritr, ad_rend = _chunks_of(ad_file)

    def adaptive_file(index: int, payload: bytes) -> bytes:
        """The coder 3 vector with iteration ``index``'s payload replaced."""
        ritr = list(ad_ritr)
        ritr[index - 1] = pack_chunk(spec.CHUNK_ITERATION, payload, index=index)
        return ad_file[:8] + ad_rhdr + b"".join(ritr) + ad_rend

    second = ad_ritr[1][8:-4]
    add("adaptive-cut-after-3", "the coder 3 vector cut inside its fourth iteration",
        ad_file[: len(ad_file) - len(ad_rend) - len(ad_ritr[4]) - 7], _error("TruncatedFileError"),
        _valid(h_ad, codes_ad[:3], truncated=True))
    add("adaptive-zero-last-word", "coder 3 payload (iteration 2) ending in a zero word",
        adaptive_file(2, second + bytes(4)), corrupt)
    add("adaptive-data-left-over", "coder 3 payload (iteration 2) with a first word never read",
        adaptive_file(2, b"\x01\x00\x00\x00" + second), corrupt)
    add("adaptive-not-whole-words", "coder 3 payload (iteration 2) one byte short of whole words",
        adaptive_file(2, second[:-1]), corrupt)
    add("adaptive-over-cap", "coder 3 payload one word over its length cap (refused from the chunk head)",
        adaptive_file(3, b"\x01\x00\x00\x00" * (get_coder("adaptive").max_payload_bytes(h_ad.code_shape) // 4 + 1)),
        corrupt)
    add("adaptive-wrong-iteration-payload", "coder 3: iteration 3's payload (coded for other stops) in place 2, "
        "with a valid CRC",
        adaptive_file(2, ad_ritr[2][8:-4]), corrupt)

    h2 = h16.replace(iterations=2)
    add("truncated-16-to-2", "the 16-iteration vector cut to 2 iterations (what truncate gives)",
        write_bytes(h2, codes16[:2]), _valid(h2, codes16[:2]))
    return vectors


def write_vectors(directory: str | Path) -> list[Vector]:
    """Write every vector and ``manifest.json`` to ``directory`` (created if missing)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    vectors = build_vectors()
    for vector in vectors:
        (directory / vector.name).write_bytes(vector.data)
    manifest = {
        "format_version": spec.FORMAT_VERSION,
        "generator": "python scripts/conformance_vectors.py formats/vectors",
        "outcome": "reading the whole file: every chunk parsed, every iteration and the alpha "
                   "plane decoded; strict and lenient mode",
        "vectors": [vector.manifest_entry() for vector in vectors],
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return vectors


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/conformance_vectors.py DIR")
    write_vectors(sys.argv[1])
