"""The ONNX graphs of one weights file made from another's: the same network, other tensors.

The graphs ``python -m rnncodec.onnx_export`` writes read every weight from the ``.pt`` beside them
(ONNX external data: ``location``, ``offset``, ``length`` in each initializer), so the graphs of two
weights files of one architecture differ only in those strings — 150–250 bytes of 131,504.  A
packed entry need not ship its own: :func:`relink` rewrites its base's graphs to read the same
storages (``data/N`` of the ``torch.save`` zip) from the unpacked file, and gives the bytes
``onnx_export`` would have written (checked on every shipped entry by
``tests/codec/test_graph_relink.py``).  It edits the protobuf wire format directly — only
``ModelProto.graph`` (7) → ``GraphProto.initializer`` (5) → ``TensorProto.external_data`` (13) →
``StringStringEntryProto`` ``key`` (1) / ``value`` (2), and the ``rnncodec.weights_sha256`` entry of
``ModelProto.metadata_props`` (14) — so it needs neither ``onnx`` nor protobuf.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import math
from typing import Callable, Iterator

from .backends.onnx_backend import SHA256_KEY
from .errors import UnknownWeightsError
from .weights_pack import tensor_regions

__all__ = ["relink"]

_MODEL_GRAPH, _MODEL_METADATA, _GRAPH_INITIALIZER, _TENSOR_EXTERNAL_DATA, _ENTRY_KEY, _ENTRY_VALUE = 7, 14, 5, 13, 1, 2
_LENGTH_DELIMITED = 2


def relink(graph: bytes, base_pt: bytes, target_pt: bytes, target_name: str) -> bytes:
    """``graph`` (an ONNX model reading its weights from the weights file ``base_pt``) reading the
    same storages from ``target_pt``, a weights file named ``target_name`` of the same network.
    :class:`UnknownWeightsError` if ``graph`` reads bytes that are not a storage of ``base_pt`` (or
    one of its equal parts) or ``target_pt`` lacks one of the same name and size."""
    storages = sorted((offset, length, name)
                      for name, (offset, length) in tensor_regions(io.BytesIO(base_pt)).items())
    regions = tensor_regions(io.BytesIO(target_pt))

    def entries(tensor: bytes) -> bytes:
        found = dict(_entry(entry) for entry in _payloads(tensor, _TENSOR_EXTERNAL_DATA))
        if not found:
            return tensor  # an initializer held in the graph itself
        try:
            start, length = int(found["offset"]), int(found["length"])
            base_offset, base_length, name = storages[bisect.bisect_right(storages, (start, math.inf)) - 1]
            # a whole storage, or one of its equal parts (a gate's output channels, rnncodec.onnx_export)
            if not (length > 0 and base_offset <= start and start + length <= base_offset + base_length
                    and (start - base_offset) % length == 0 and base_length % length == 0):
                raise ValueError
            offset, target_length = regions[name]
        except (KeyError, ValueError, IndexError):
            raise UnknownWeightsError(f"{target_name}: the graph reads {found} of another weights file") from None
        if target_length != base_length:
            raise UnknownWeightsError(f"{target_name}: its {name} has {target_length} bytes, the graph's weights "
                                      f"{base_length}")
        offset += start - base_offset
        values = {**found, "location": target_name, "offset": str(offset)}
        return _edit(tensor, _TENSOR_EXTERNAL_DATA, lambda entry: _with_values(entry, values))

    sha256 = {SHA256_KEY: hashlib.sha256(target_pt).hexdigest()}
    relinked = _edit(graph, _MODEL_GRAPH, lambda body: _edit(body, _GRAPH_INITIALIZER, entries))
    return _edit(relinked, _MODEL_METADATA, lambda entry: _with_values(entry, sha256))


def _with_values(entry: bytes, values: dict[str, str]) -> bytes:
    """A ``StringStringEntryProto`` with its value from ``values`` when its key is there."""
    key, value = _entry(entry)
    return _field(_ENTRY_KEY, key.encode()) + _field(_ENTRY_VALUE, values.get(key, value).encode())


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise UnknownWeightsError("a truncated ONNX graph")
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position += 1
        shift += 7
        if byte < 0x80:
            return value, position


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _scan(message: bytes) -> Iterator[tuple[int, int, int, int, int]]:
    """``(field, wire type, start of the field, start of its payload, end)`` of each field; a
    length-delimited payload starts after its length."""
    position = 0
    while position < len(message):
        start = position
        key, position = _varint(message, position)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, end = _varint(message, position)
        elif wire == 1:
            end = position + 8
        elif wire == 5:
            end = position + 4
        elif wire == _LENGTH_DELIMITED:
            length, position = _varint(message, position)
            end = position + length
        else:
            raise UnknownWeightsError(f"an ONNX graph with a field of wire type {wire}")
        if end > len(message):
            raise UnknownWeightsError("a truncated ONNX graph")
        yield field, wire, start, position, end
        position = end


def _payloads(message: bytes, number: int) -> Iterator[bytes]:
    """The payload of each length-delimited field ``number`` of ``message``."""
    for field, wire, _, payload, end in _scan(message):
        if field == number and wire == _LENGTH_DELIMITED:
            yield message[payload:end]


def _edit(message: bytes, number: int, change: Callable[[bytes], bytes]) -> bytes:
    """``message`` with the payload of each length-delimited field ``number`` passed through ``change``."""
    out = bytearray()
    for field, wire, start, payload, end in _scan(message):
        if field == number and wire == _LENGTH_DELIMITED:
            out += _field(number, change(message[payload:end]))
        else:
            out += message[start:end]
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload


def _entry(entry: bytes) -> tuple[str, str]:
    """``(key, value)`` of a ``StringStringEntryProto``."""
    try:
        return next(_payloads(entry, _ENTRY_KEY), b"").decode(), next(_payloads(entry, _ENTRY_VALUE), b"").decode()
    except UnicodeDecodeError:
        raise UnknownWeightsError("a damaged ONNX graph (an entry that is not UTF-8)") from None
