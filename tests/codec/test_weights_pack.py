"""Packed weights (``NAME.ptpack``): exact, checked, unpacked into the cache, and what the older
shipped entries are stored as in the wheel — a file made with one decodes as before on both backends.
Weights made as a quantised difference (``rnncodec.weights_quantise``) pack as their integers; a
file alone as its words' signs and exponents, then their mantissas; packs of formats 1 and 2 still
unpack."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from rnncodec import weights as weights_module
from rnncodec.codec import Codec
from rnncodec.errors import UnknownWeightsError
from rnncodec.weights import PACK_SUFFIX, RNCWeights, load_weights, onnx_paths, sha256_file, shipped_dir
from rnncodec.weights_pack import MAGIC, cache_dir, main, pack, read_pack_header, tensor_regions, unpack
from rnncodec.weights_quantise import quantise, rounded_file

SHIPPED_PACKS = sorted(shipped_dir().glob(f"*{PACK_SUFFIX}"))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_pack_gives_the_file_back_byte_for_byte(weights_file, other_weights_file):
    data, base = weights_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, base, level=3)
    assert packed != data and unpack(packed, base) == data
    assert unpack(pack(data, data, level=3), data) == data  # against itself: all differences zero


def test_pack_of_an_unrelated_file_stores_it_whole():
    data, base = os.urandom(1001), os.urandom(4000)
    assert unpack(pack(data, base, level=1), base) == data


def test_wrong_base_damaged_or_foreign_packs_are_refused(weights_file, other_weights_file):
    data, base = weights_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, base, level=3)
    with pytest.raises(UnknownWeightsError, match="its base is weights"):
        unpack(packed, data)
    damaged = bytearray(packed)
    damaged[-200] ^= 0x40
    with pytest.raises(UnknownWeightsError, match="damaged|other bytes"):
        unpack(bytes(damaged), base)
    with pytest.raises(UnknownWeightsError, match="not an rnncodec weights pack"):
        unpack(data, base)
    header_end = packed.index(b"}") + 1
    with pytest.raises(UnknownWeightsError, match="malformed"):
        unpack(packed[:header_end - 1], base)


@pytest.fixture(scope="module")
def quantised_file(weights_file, other_weights_file, tmp_path_factory):
    """``weights_file`` quantised as a difference from ``other_weights_file`` with step 0.01."""
    return quantise(weights_file, other_weights_file, tmp_path_factory.mktemp("quantised") / "q.pt", step=0.01)


def _header_of(packed: bytes) -> dict:
    return json.loads(packed[len(MAGIC) + 4:len(MAGIC) + 4 + struct.unpack_from("<I", packed, len(MAGIC))[0]])


def _with_header(packed: bytes, **changes) -> bytes:
    """``packed`` with its header's fields changed (the header's length rewritten)."""
    length = struct.unpack_from("<I", packed, len(MAGIC))[0]
    header = json.dumps({**_header_of(packed), **changes}, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<I", len(header)) + header + packed[len(MAGIC) + 4 + length:]


def test_a_file_packs_alone_smaller_than_it_is(weights_file, other_weights_file):
    """No base (how the entry every chain ends at ships): its tensors against zeros, the file back
    byte for byte; given a base anyway, or a based pack given none, it says so; the zeros it
    allocates are capped."""
    data, base = weights_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, None, level=3)
    assert len(packed) < len(data) and unpack(packed, None) == data
    assert _header_of(packed)["base_sha256"] is None and _header_of(packed)["base_size"] == len(data)
    with pytest.raises(UnknownWeightsError, match="alone, against no base"):
        unpack(packed, base)
    with pytest.raises(UnknownWeightsError, match="none was given"):
        unpack(pack(data, base, level=3), None)
    for bad in ({"base_size": 1 << 40}, {"base_sha256": 123}, {"base_sha256": "ab"}):
        with pytest.raises(UnknownWeightsError, match="malformed"):
            unpack(_with_header(packed, **bad), None)
    assert unpack(_with_header(packed), None) == data  # the helper itself changes nothing else


def _quantised_segments(packed: bytes) -> list:
    return [segment for segment in _header_of(packed)["segments"] if len(segment) == 3]


def test_quantised_weights_pack_as_their_integers(quantised_file, other_weights_file):
    """Every tensor of weights made by quantise is stored as integers, the pack is a fraction of
    the lossless one, and it unpacks to the same bytes (SHA-256 checked) — the weights files name."""
    data, base = quantised_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, base, step=0.01, level=3)
    tensors = len(tensor_regions(io.BytesIO(data)))
    assert len(_quantised_segments(packed)) == tensors > 0
    assert len(packed) < len(pack(data, base, level=3)) / 2
    assert unpack(packed, base) == data and _sha(unpack(packed, base)) == sha256_file(quantised_file)


def test_tensors_that_are_not_multiples_of_the_step_stay_lossless(weights_file, other_weights_file):
    data, base = weights_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, base, step=0.01, level=3)
    assert _quantised_segments(packed) == [] and unpack(packed, base) == data
    with pytest.raises(ValueError, match="positive"):
        pack(data, base, step=0.0)


def test_damaged_or_truncated_quantised_packs_are_refused(quantised_file, other_weights_file):
    data, base = quantised_file.read_bytes(), other_weights_file.read_bytes()
    packed = pack(data, base, step=0.01, level=3)
    for position in (-5, -len(packed) // 3):  # in the rANS stream, in the zstd frame
        damaged = bytearray(packed)
        damaged[position] ^= 0x24
        with pytest.raises(UnknownWeightsError, match="damaged|other bytes"):
            unpack(bytes(damaged), base)
    for cut in (len(packed) - 4, len(packed) - 3, len(packed) // 2):
        with pytest.raises(UnknownWeightsError, match="damaged|other bytes"):
            unpack(packed[:cut], base)
    histogram = packed.index(b'"counts":[[') + len(b'"counts":[[')
    with pytest.raises(UnknownWeightsError, match="malformed"):  # a histogram that does not add up
        unpack(packed[:histogram] + b"9" + packed[histogram:], base)


def test_the_registry_page_says_an_entry_is_quantised(quantised_file, other_weights_file, tmp_path, monkeypatch):
    folder = tmp_path / "installed"
    folder.mkdir()
    entry = RNCWeights.GRU_S_MACHINE_V1.value
    (folder / entry.file).with_suffix(PACK_SUFFIX).write_bytes(
        pack(quantised_file.read_bytes(), other_weights_file.read_bytes(), step=0.01, level=3))
    monkeypatch.setattr(weights_module, "shipped_dir", lambda: folder)
    packed = weights_module._packed(entry)["packed"]
    assert packed["step"] == float(np.float32(0.01))
    assert "plus whole multiples of 0.01 per weight" in weights_module._packed_line(packed)


def _format_1_pack(data: bytes, base: bytes) -> bytes:
    """A pack as format 1 wrote them (the older shipped packs): differences in file order, no
    quantised segments, the zstd frame to the end."""
    from rnncodec.weights_pack import _segments, _zigzag, zstd

    segments = _segments(data, base)
    stored, ours, theirs, position = [], [], [], 0
    for length, base_offset in segments:
        if base_offset < 0:
            stored.append(data[position:position + length])
        else:
            ours.append(np.frombuffer(data[position:position + length], "<u4"))
            theirs.append(np.frombuffer(base[base_offset:base_offset + length], "<u4"))
        position += length
    planes = _zigzag(np.concatenate(ours) - np.concatenate(theirs)).view(np.uint8).reshape(-1, 4).T
    header = json.dumps({"version": 1, "sha256": _sha(data), "size": len(data), "base_sha256": _sha(base),
                         "base_size": len(base), "segments": segments}).encode()
    frame = zstd.compress(b"".join([*stored, np.ascontiguousarray(planes).tobytes()]), level=3)
    return MAGIC + struct.pack("<I", len(header)) + header + frame


def test_format_1_packs_still_unpack(weights_file, other_weights_file):
    data, base = weights_file.read_bytes(), other_weights_file.read_bytes()
    old = _format_1_pack(data, base)
    assert _header_of(old)["version"] == 1 and unpack(old, base) == data
    with pytest.raises(UnknownWeightsError, match="damaged|other bytes"):
        unpack(old[:-7], base)


def _format_2_alone_pack(data: bytes) -> bytes:
    """A pack of a file alone as format 2 wrote them (the default's until format 3): its tensors'
    words as differences from zeros, in one group."""
    import constriction

    from rnncodec.weights_pack import _categorical, _code_differences, _segments, _zigzag, zstd

    segments = _segments(data, data)
    starts = np.cumsum([0, *(n for n, _ in segments)])
    stored = [data[start:start + n] for start, (n, offset) in zip(starts, segments) if offset < 0]
    words = np.concatenate([np.frombuffer(data, "<u4", n // 4, offset) for n, offset in segments if offset >= 0])
    groups, symbols, low_bits, escapes = _code_differences(_zigzag(words), np.zeros(len(words), np.uint32))
    frame = zstd.compress(b"".join([*stored, escapes.astype("<u4").tobytes()]), level=3)
    coder = constriction.stream.stack.AnsCoder()
    for group_symbols, (_, _, histogram) in reversed(list(zip(symbols, groups))):
        coder.encode_reverse(group_symbols, _categorical(histogram))
    header = json.dumps({"version": 2, "sha256": _sha(data), "size": len(data), "base_sha256": None,
                         "base_size": len(data), "segments": segments, "zstd_bytes": len(frame),
                         "low_bytes": len(low_bits), "counts": [], "differences": groups}).encode()
    return (MAGIC + struct.pack("<I", len(header)) + header + frame + low_bits
            + coder.get_compressed().astype("<u4").tobytes())


def test_a_file_alone_codes_its_signs_and_exponents_first(weights_file, other_weights_file):
    """Format 3: a pack of a file alone codes its words' signs and exponents (one histogram), then
    their mantissas grouped by exponent — smaller than format 2's words against zeros, which still
    unpack; a histogram that does not fit the pack is refused; alone means lossless."""
    data = weights_file.read_bytes()
    packed, old = pack(data, None, level=3), _format_2_alone_pack(data)
    header = _header_of(packed)
    words = sum(n // 4 for n, offset in header["segments"] if offset >= 0)
    assert header["version"] == 3 and len(header["tops"]) <= 512 and sum(header["tops"]) == words
    assert _header_of(old)["version"] == 2 and unpack(old, None) == data
    assert len(packed) < len(old) and unpack(packed, None) == data
    based = pack(data, other_weights_file.read_bytes(), level=3)
    for bad, base in ((_with_header(packed, tops=None), None), (_with_header(packed, tops=[words - 1, 1, 0]), None),
                      (_with_header(packed, tops=[1] * 513), None), (_with_header(old, tops=[words]), None),
                      (_with_header(based, tops=[words]), other_weights_file.read_bytes())):
        with pytest.raises(UnknownWeightsError, match="malformed|damaged"):
            unpack(bad, base)
    with pytest.raises(ValueError, match="lossless"):
        pack(data, None, step=0.01)
    with pytest.raises(SystemExit) as exited:
        main([str(weights_file), "--step", "0.01"])
    assert exited.value.code == 2


def test_pack_command_writes_beside_the_file(weights_file, other_weights_file, tmp_path, capsys):
    target = Path(tmp_path / weights_file.name)
    target.write_bytes(weights_file.read_bytes())
    assert main([str(target), "--base", str(other_weights_file)]) == 0
    packed = target.with_suffix(PACK_SUFFIX)
    assert str(packed) in capsys.readouterr().out
    assert read_pack_header(packed)["sha256"] == sha256_file(weights_file)
    assert unpack(packed.read_bytes(), other_weights_file.read_bytes()) == weights_file.read_bytes()


REPOSITORY_WEIGHTS = Path(__file__).resolve().parents[2] / "weights"


@pytest.mark.parametrize("packed", SHIPPED_PACKS, ids=lambda path: path.name)
def test_shipped_packs_hold_their_registry_entry(packed):
    """Each shipped pack unpacks to exactly the weights its registry entry names (their SHA-256 is
    the weights_id of every file written with them), against a shipped base — or, for an older
    entry shipped rounded, to exactly its file rounded as the registry says."""
    header = read_pack_header(packed)
    member = next(m for m in RNCWeights if m.value.file == packed.with_suffix(".pt").name)
    base = None if header["base_sha256"] is None else next(
        m for m in RNCWeights if m.value.sha256 == header["base_sha256"]).value.path.read_bytes()
    rounded = member.value.rounded
    expected = member.value.sha256 if rounded is None else rounded.sha256
    assert header["sha256"] == expected
    data = unpack(packed.read_bytes(), base)
    assert _sha(data) == expected
    exact = REPOSITORY_WEIGHTS / member.value.file
    if rounded is not None and exact.is_file():
        assert header["base_sha256"] is None and header["version"] == 4
        assert _sha(rounded_file(exact, rounded.mantissa_bits)) == expected
    assert all(path.is_file() for path in onnx_paths(member.value.path).values())  # shipped, or made from the base's


def test_every_entry_is_packed_one_alone(packed_alone):
    """One entry is packed alone byte for byte, the others against a base — but the older ones
    shipped rounded, alone too."""
    packed = {path.with_suffix(".pt").name: read_pack_header(path)["base_sha256"] for path in SHIPPED_PACKS}
    assert set(packed) == {m.value.file for m in RNCWeights}
    rounded = {m.value.file for m in RNCWeights if m.value.rounded is not None}
    assert [file for file, base in packed.items() if base is None and file not in rounded] == [packed_alone.value.file]
    assert all(packed[file] is None for file in rounded)
    member, chain = RNCWeights.DEFAULT, []  # the default's chain of packs ends there
    while packed[member.value.file] is not None and len(chain) < len(packed):
        chain.append(member.name)
        member = RNCWeights.for_id(bytes.fromhex(packed[member.value.file]))
    assert member == packed_alone, chain


@pytest.fixture
def packed_install(tmp_path, monkeypatch, packs_alone):
    """A weights folder as the wheel installs it (links to the shipped files): every entry as its
    pack, the graphs of those packed alone; the cache in ``tmp_path/cache``.  Gives GRU_S_V5,
    packed against the one packed alone."""
    folder = tmp_path / "installed"
    folder.mkdir()
    graphs = (graph for member in packs_alone for graph in onnx_paths(shipped_dir() / member.value.file).values())
    for source in (*SHIPPED_PACKS, *graphs):
        (folder / source.name).symlink_to(source)
    monkeypatch.setattr(weights_module, "shipped_dir", lambda: folder)
    monkeypatch.setenv("RNC_CACHE_DIR", str(tmp_path / "cache"))
    return RNCWeights.GRU_S_V5


def test_a_packed_entry_unpacks_into_the_cache_once(packed_install, packed_alone, tmp_path):
    value = packed_install.value
    path = value.path
    assert path.parent == cache_dir() == tmp_path / "cache" / "weights"
    assert sha256_file(path) == value.sha256 and path.stat().st_size == value.meta["file_bytes"]
    graphs = onnx_paths(path).values()  # made from their base's: what onnx_export writes for these weights
    assert all(graph.is_file() for graph in graphs)
    repository = Path(__file__).resolve().parents[2] / "weights"
    if (repository / path.name).is_file():
        assert all(graph.read_bytes() == (repository / graph.name).read_bytes() for graph in graphs)
    root = packed_alone.value.path  # unpacked first, as the chain's end
    assert root.parent == cache_dir() and sha256_file(root) == packed_alone.value.sha256
    assert all(graph.is_file() for graph in onnx_paths(root).values())  # shipped: copied beside it
    written = path.stat().st_mtime_ns
    assert value.path == path and path.stat().st_mtime_ns == written  # found, not written again
    path.write_bytes(b"tampered")  # a damaged cache entry is replaced
    assert sha256_file(value.path) == value.sha256


def test_an_unwritable_cache_falls_back_to_a_private_folder(packed_install, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("RNC_CACHE_DIR", str(blocker))
    path = packed_install.value.path
    assert not path.is_relative_to(blocker) and sha256_file(path) == packed_install.value.sha256


def test_a_file_of_a_packed_entry_decodes_alike_on_both_backends(packed_install):
    """The unpacked entry runs on each backend (its bytes are the original's, so it decodes old
    files as before); a file either encodes decodes on both."""
    from skimage import data

    photo = np.ascontiguousarray(data.coffee()[:64, :96])
    codecs = {name: Codec(packed_install, precision="fp32", backend=name) for name in ("torch", "onnx")}
    assert {codec.weights.weights_id for codec in codecs.values()} == {packed_install.value.weights_id}
    assert load_weights(packed_install).sha256 == packed_install.value.sha256
    for encoder in codecs.values():
        rnc = encoder.encode(photo, 2)
        decoded = [np.asarray(codec.decode(rnc), dtype=np.int16) for codec in codecs.values()]
        assert decoded[0].shape == photo.shape
        assert np.mean(np.abs(decoded[0] - decoded[1])) < 0.5


def _crcs_agree(data: bytes) -> bool:
    """Whether every entry of the zip ``data`` keeps, in its local header or in the data descriptor
    after its data, the CRC-32 that the central directory gives it, and that of its bytes."""
    import zipfile
    import zlib

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            name_length, extra_length = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + name_length + extra_length
            end = start + info.compress_size
            if info.flag_bits & 0x08:
                kept = struct.unpack_from("<I", data, end + (4 if data[end:end + 4] == b"PK\x07\x08" else 0))[0]
            else:
                kept = struct.unpack_from("<I", data, info.header_offset + 14)[0]
            if not kept == info.CRC == zlib.crc32(data[start:end]):
                return False
    return True


def test_weights_rounded_to_fewer_mantissa_bits_pack_alone_to_those_bits(weights_file, other_weights_file, tmp_path,
                                                                         capsys):
    """rounded_file changes the tensors' bytes only (same offsets: the ONNX graphs still read the
    file), within half a unit of the last kept bit; format 4 then drops the zero bits from the pack
    alone, which gives the rounded file back byte for byte; malformed squeezes are refused."""
    import zipfile

    import torch

    rounded = tmp_path / "rounded.pt"
    rounded.write_bytes(rounded_file(weights_file, 10))
    exact_data, data = weights_file.read_bytes(), rounded.read_bytes()
    assert tensor_regions(io.BytesIO(data)) == tensor_regions(io.BytesIO(exact_data)) and data != exact_data
    assert zipfile.ZipFile(rounded).testzip() is None and _crcs_agree(data)  # CRC-32s rewritten, all of them
    exact, ours = (torch.load(path, weights_only=True)["state_dict"] for path in (weights_file, rounded))
    error = max(float(((exact[k] - ours[k]).abs() / exact[k].abs().clamp_min(1e-30)).max()) for k in exact)
    assert 0 < error <= 2 ** -11
    packed = pack(data, None, level=3)
    assert _header_of(packed)["version"] == 4 and len(packed) < 0.75 * len(pack(exact_data, None, level=3))
    assert unpack(packed, None) == data
    groups = _header_of(packed)["differences"]
    at = next(i for i, group in enumerate(groups) if len(group) == 4)
    for squeeze in (0, 31):
        bad = [*groups[:at], [*groups[at][:3], squeeze], *groups[at + 1:]]
        with pytest.raises(UnknownWeightsError, match="malformed"):
            unpack(_with_header(packed, differences=bad), None)
    with pytest.raises(UnknownWeightsError, match="malformed"):  # a squeeze in a format that has none
        unpack(_with_header(packed, version=3), None)
    with pytest.raises(ValueError, match="1…23"):
        rounded_file(weights_file, 0)
    with pytest.raises(SystemExit) as exited:
        main([str(weights_file), "--mantissa-bits", "12", "--base", str(other_weights_file)])
    assert exited.value.code == 2
    target = tmp_path / "cli" / weights_file.name
    target.parent.mkdir()
    target.write_bytes(exact_data)
    assert main([str(target), "--mantissa-bits", "10"]) == 0
    assert f"rounded to 10 mantissa bits: sha256 {_sha(data)}" in capsys.readouterr().out
    assert unpack(target.with_suffix(PACK_SUFFIX).read_bytes(), None) == data


def test_an_entry_shipped_rounded_decodes_what_its_exact_weights_encoded(packed_install):
    """GRU_S_V1 as the wheel ships it — rounded to 12 mantissa bits, packed alone with its own graphs
    — unpacks to its rounded file, keeps its identity (files name the exact weights) on both
    backends, and decodes a file that its exact weights wrote within a level or two of what the
    exact weights decode."""
    from skimage import data

    member = RNCWeights.GRU_S_V1
    value = member.value
    path = value.path
    assert path.parent == cache_dir() and sha256_file(path) == value.rounded.sha256
    assert all(graph.is_file() for graph in onnx_paths(path).values())
    assert load_weights(member).sha256 == value.sha256
    exact_file = REPOSITORY_WEIGHTS / value.file
    if not exact_file.is_file():
        pytest.skip("the repository's exact GRU_S_V1 file is not here")
    photo = np.ascontiguousarray(data.coffee()[:64, :96])
    exact = Codec(str(exact_file), precision="fp32", backend="torch")
    rnc = exact.encode(photo, 3)
    reference = np.asarray(exact.decode(rnc), dtype=np.int16)
    for backend in ("torch", "onnx"):
        codec = Codec(member, precision="fp32", backend=backend)
        assert codec.weights.weights_id == value.weights_id
        decoded = np.asarray(codec.decode(rnc), dtype=np.int16)
        limit = 2 if backend == "torch" else 4  # the onnx backend adds its own float differences
        assert np.abs(decoded - reference).max() <= limit and np.mean(np.abs(decoded - reference)) < 0.1, backend
