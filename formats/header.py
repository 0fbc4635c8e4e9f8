"""The RHDR chunk: what the image is and how its iterations were coded.

RHDR data, version 1 (all multi-byte integers unsigned)::

    version u8 | width varint | height varint | mode u8 | bits_per_block u8 | tile_log2 u8
    | coder u8 | iterations u8 | weights_id 16 bytes | architecture (rest, 1–16 ASCII bytes)

Varints are LEB128 (7 bits a byte, least significant group first), minimal, at most 5 bytes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from . import spec
from .coders import coder_by_id, get_coder, packed_size
from .errors import CorruptChunkError, UnsupportedCoderError, UnsupportedVersionError
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Header", "encode_varint", "decode_varint"]

_MODE_NAMES = {mode_id: name for name, mode_id in spec.MODE_IDS.items()}
_ARCH_CHARS = frozenset(spec.ARCHITECTURE_ALPHABET)
# after the varints: mode, bits_per_block, tile_log2, coder, iterations, weights_id, 1+ arch bytes
_MIN_TAIL_BYTES = 5 + spec.WEIGHTS_ID_BYTES + 1


def encode_varint(value: int) -> bytes:
    """Minimal unsigned LEB128 of ``0 <= value <= MAX_DIMENSION``."""
    if not 0 <= value <= spec.MAX_DIMENSION:
        raise ValueError(f"varint value {value} out of range")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(data: bytes, pos: int) -> tuple[int, int]:
    """``(value, next position)`` of the varint at ``data[pos]``; :class:`ValueError` if invalid.

    Refused: more than ``VARINT_MAX_BYTES`` bytes, running past the end of ``data``, a value over
    ``MAX_DIMENSION``, and non-minimal encodings (a final ``0x00`` byte after the first).
    """
    value = 0
    for i in range(spec.VARINT_MAX_BYTES):
        if pos + i >= len(data):
            raise ValueError("varint runs past the end of the chunk")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and not byte:
                raise ValueError("varint is not minimal")
            if value > spec.MAX_DIMENSION:
                raise ValueError(f"varint value {value} is 2^32 or more")
            return value, pos + i + 1
    raise ValueError(f"varint is longer than {spec.VARINT_MAX_BYTES} bytes")


@dataclass(frozen=True, kw_only=True)
class Header:
    """The fields of an RHDR chunk (keyword-only; validated on construction).

    Args:
        width, height: image size in pixels, 1 … 2^32 − 1.
        mode: ``"L"`` (one coded channel) or ``"RGB"``.
        iterations: number of RITR chunks in the file, 0 … 255.
        weights_id: identifier of the weights; the 32-byte SHA-256 of the weights file or its
            first 16 bytes (only those are stored).
        architecture: network name, 1–16 characters of ``[a-z0-9._-]``.
        bits_per_block: bits per 16×16 block per iteration, 1 … 255 (version 1 writers use 32).
        tile_size: the encoder's tile side in pixels (a power of two, 16 … 32768), or 0 for the
            whole image at once.
        coder: name of the payload coder (``"raw"``, ``"zstd"``).

    Raises:
        ValueError: a field out of range.
    """

    width: int
    height: int
    mode: str
    iterations: int
    weights_id: bytes
    architecture: str
    bits_per_block: int = spec.DEFAULT_BITS_PER_BLOCK
    tile_size: int = 0
    coder: str = "zstd"

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 1 <= value <= spec.MAX_DIMENSION:
                raise ValueError(f"{name} {value} outside 1 … {spec.MAX_DIMENSION}")
        if self.mode not in spec.MODE_IDS:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(spec.MODE_IDS)}")
        if not 0 <= self.iterations <= 255:
            raise ValueError(f"iterations {self.iterations} outside 0 … 255")
        if not 1 <= self.bits_per_block <= 255:
            raise ValueError(f"bits_per_block {self.bits_per_block} outside 1 … 255")
        if self.tile_size and not (
            self.tile_size & (self.tile_size - 1) == 0
            and spec.TILE_LOG2_MIN <= self.tile_size.bit_length() - 1 <= spec.TILE_LOG2_MAX
        ):
            raise ValueError(
                f"tile_size {self.tile_size} is not 0 or a power of two from "
                f"{2 ** spec.TILE_LOG2_MIN} to {2 ** spec.TILE_LOG2_MAX}"
            )
        get_coder(self.coder)
        arch = self.architecture
        if not (1 <= len(arch) <= spec.ARCHITECTURE_MAX_BYTES and set(arch) <= _ARCH_CHARS):
            raise ValueError(
                f"architecture {arch!r} is not 1–{spec.ARCHITECTURE_MAX_BYTES} characters of "
                "[a-z0-9._-]"
            )
        weights_id = bytes(self.weights_id)
        if len(weights_id) not in (spec.WEIGHTS_ID_BYTES, 32):
            raise ValueError(f"weights_id has {len(weights_id)} bytes, expected 16 or 32")
        object.__setattr__(self, "weights_id", weights_id[: spec.WEIGHTS_ID_BYTES])

    @property
    def channels(self) -> int:
        """Coded colour channels: 1 for L, 3 for RGB."""
        return spec.MODE_IDS[self.mode]

    @property
    def code_shape(self) -> tuple[int, int, int]:
        """Shape of one iteration's code tensor: ``(bits_per_block, grid_h, grid_w)``."""
        block = spec.BLOCK_SIZE
        return (self.bits_per_block, -(-self.height // block), -(-self.width // block))

    @property
    def padding(self) -> tuple[int, int]:
        """``(bottom, right)`` pixels of edge replication that make each side a multiple of 16."""
        _, grid_h, grid_w = self.code_shape
        return (grid_h * spec.BLOCK_SIZE - self.height, grid_w * spec.BLOCK_SIZE - self.width)

    @property
    def code_bits(self) -> int:
        """Code bits of all the declared iterations: the work a decoder is asked for."""
        bits, rows, cols = self.code_shape
        return bits * rows * cols * self.iterations

    @property
    def payload_bytes(self) -> int:
        """Bytes of one iteration's code packed 8 bits a byte (the raw coder's payload size)."""
        return packed_size(self.code_shape)

    def replace(self, **changes) -> Header:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_bytes(self) -> bytes:
        """The RHDR chunk data."""
        tile_log2 = self.tile_size.bit_length() - 1 if self.tile_size else 0
        return b"".join(
            (
                bytes([spec.FORMAT_VERSION]),
                encode_varint(self.width),
                encode_varint(self.height),
                bytes(
                    [
                        spec.MODE_IDS[self.mode],
                        self.bits_per_block,
                        tile_log2,
                        get_coder(self.coder).id,
                        self.iterations,
                    ]
                ),
                self.weights_id,
                self.architecture.encode("ascii"),
            )
        )

    @classmethod
    def parse(cls, data: bytes, *, offset: int, limits: Limits = DEFAULT_LIMITS) -> Header:
        """The header in RHDR chunk ``data``; ``offset`` is the chunk's position, for errors.

        Raises:
            UnsupportedVersionError: a version other than ``FORMAT_VERSION``.
            LimitExceededError: width, height, pixels, iterations or code bits over ``limits``, or
                tiles under ``limits.min_tile_size``.
            UnsupportedCoderError: a coder id with no registered coder.
            CorruptChunkError: any other invalid field.
        """

        def corrupt(detail: str) -> CorruptChunkError:
            return CorruptChunkError(detail, chunk_type=spec.CHUNK_HEADER, offset=offset)

        if not data:
            raise corrupt("empty header")
        if data[0] != spec.FORMAT_VERSION:
            raise UnsupportedVersionError(data[0], spec.FORMAT_VERSION, offset)
        try:
            width, pos = decode_varint(data, 1)
            height, pos = decode_varint(data, pos)
        except ValueError as exc:
            raise corrupt(str(exc)) from None
        if len(data) - pos < _MIN_TAIL_BYTES:
            raise corrupt(f"header has {len(data)} bytes, too short")
        mode_id, bits_per_block, tile_log2, coder_id, iterations = data[pos : pos + 5]
        pos += 5
        coder = coder_by_id(coder_id)
        if coder is None:
            raise UnsupportedCoderError(coder_id, offset)
        if mode_id not in _MODE_NAMES:
            raise corrupt(f"mode {mode_id} is not 1 (L) or 3 (RGB)")
        if tile_log2 and not spec.TILE_LOG2_MIN <= tile_log2 <= spec.TILE_LOG2_MAX:
            raise corrupt(f"tile_log2 {tile_log2} is not 0 or {spec.TILE_LOG2_MIN}…{spec.TILE_LOG2_MAX}")
        weights_id = data[pos : pos + spec.WEIGHTS_ID_BYTES]
        try:
            header = cls(
                width=width,
                height=height,
                mode=_MODE_NAMES[mode_id],
                iterations=iterations,
                weights_id=weights_id,
                architecture=data[pos + spec.WEIGHTS_ID_BYTES :].decode("ascii", "backslashreplace"),
                bits_per_block=bits_per_block,
                tile_size=1 << tile_log2 if tile_log2 else 0,
                coder=coder.name,
            )
        except ValueError as exc:  # the remaining checks live in __post_init__
            raise corrupt(str(exc)) from None
        limits.check(header, offset=offset)
        return header
