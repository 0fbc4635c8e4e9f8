"""Constants of the ``.rnc`` container, version 1 — the only place the code defines them.

Each name here appears in the "Constants" table of ``formats/SPEC.md`` with the same value; a test
checks that the two agree.  Everything else in :mod:`rnncodec.formats` imports from this module.
"""

from __future__ import annotations

# --- File -----------------------------------------------------------------------------------
#: The first eight bytes of every file: a high-bit byte, "RNC", CR LF, ^Z, LF (as PNG).
SIGNATURE = b"\x89RNC\r\n\x1a\n"
#: The RHDR ``version`` byte this implementation writes and reads.
FORMAT_VERSION = 1

# --- Chunks ---------------------------------------------------------------------------------
#: Bytes of framing around a chunk's data: u32 length, 4-byte type, u32 CRC.
CHUNK_FRAMING_BYTES = 12
#: Largest value a chunk length field may hold (as PNG: 2^31 - 1).
MAX_CHUNK_LENGTH = 2**31 - 1
#: Header chunk: critical, first after the signature.
CHUNK_HEADER = b"RHDR"
#: One chunk per iteration: critical, in order, after any aLPh.
CHUNK_ITERATION = b"RITR"
#: End chunk: critical, last, empty.
CHUNK_END = b"REND"
#: Metadata chunk: ancillary, a UTF-8 JSON object.
CHUNK_METADATA = b"mETa"
#: Alpha plane chunk: ancillary, before the first RITR.
CHUNK_ALPHA = b"aLPh"
#: Bytes of the 1-based iteration index covered by (but not stored in) a RITR chunk's CRC.
ITERATION_INDEX_BYTES = 2

# --- RHDR -----------------------------------------------------------------------------------
#: Most bytes an unsigned LEB128 varint (width, height) may take.
VARINT_MAX_BYTES = 5
#: Largest width or height the format can express (the varint must stay below 2^32).
MAX_DIMENSION = 2**32 - 1
#: Colour mode byte: the number of coded channels.
MODE_IDS = {"L": 1, "RGB": 3}
#: Side of the square pixel block that one code vector describes (fixed in version 1).
BLOCK_SIZE = 16
#: Bits per block per iteration that version 1 writers use.
DEFAULT_BITS_PER_BLOCK = 32
#: tile_log2 = 0 means the whole image was coded at once; otherwise 2^tile_log2 px tiles.
TILE_LOG2_MIN = 4
TILE_LOG2_MAX = 15
#: Bytes of the weights identifier (a prefix of the weights file's SHA-256).
WEIGHTS_ID_BYTES = 16
#: Architecture names: 1 to 16 characters from this alphabet.
ARCHITECTURE_MAX_BYTES = 16
ARCHITECTURE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789._-"
#: Largest RHDR data length a reader accepts (version 1 headers are at most 48 bytes).
MAX_HEADER_BYTES = 64

# --- Coders (RHDR ``coder`` byte) ------------------------------------------------------------
CODER_RAW = 0
CODER_ZSTD = 1
#: Context-adaptive binary entropy coder (rANS), formats/coders/context/, SPEC.md §7.2.
CODER_CONTEXT = 2
#: Coder 2: probabilities are multiples of 2^-CONTEXT_PRECISION (constriction's default).
CONTEXT_PRECISION = 24
#: Coder 2: each weight of the logistic model is sent in this many bits (offset binary).
CONTEXT_WEIGHT_BITS = 6
#: Coder 2: a channel's logit reads (at most) this many channels before it.
CONTEXT_CROSS_CHANNELS = 32
#: Coder 2: logits (quarter bits of log-odds) are clamped to ±CONTEXT_LOGIT_LIMIT.
CONTEXT_LOGIT_LIMIT = 64
#: Context-adaptive coder with stopped blocks (spatially adaptive iterations), SPEC.md §7.3.
CODER_ADAPTIVE = 3
#: A code value (besides 0 and 1) for "no bits here": the block stopped (coder 3 only, SPEC.md §7.3).
STOPPED = 2
#: A RITR payload may exceed the raw packed size by at most this many bytes (coder framing).
ITERATION_PAYLOAD_SLACK = 1024
#: zstd frame magic number, as it appears in the payload (little-endian 0xFD2FB528).
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# --- aLPh -----------------------------------------------------------------------------------
#: aLPh coding method byte: zlib stream of the H x W u8 plane, row-major.
ALPHA_METHOD_ZLIB = 0

# --- Default reader limits (see :class:`rnncodec.formats.limits.Limits`) -----------------------
DEFAULT_MAX_WIDTH = 65535
DEFAULT_MAX_HEIGHT = 65535
DEFAULT_MAX_PIXELS = 2**28
DEFAULT_MAX_ITERATIONS = 64
DEFAULT_MAX_METADATA_BYTES = 65536
DEFAULT_MAX_UNKNOWN_CHUNK_BYTES = 2**20
DEFAULT_MAX_ANCILLARY_CHUNKS = 64
#: The work budget: code bits a file declares, ``bits_per_block · grid_h · grid_w · iterations``.
DEFAULT_MAX_CODE_BITS = 2**28
#: Smallest tile side a reader accepts (smaller tiles cost a decoder far more per pixel).
DEFAULT_MIN_TILE_SIZE = 128
