"""The onnx backend's sessions: a cached optimised graph gives the uncached session's outputs bit for
bit (the shipped weights); the cache is keyed (another CPU, ONNX Runtime, graph, weights or option
never reads a file made for this one); a damaged file is made again; an unwritable cache is no error."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import rnncodec.backends.onnx_sessions as sessions
from rnncodec.backends import onnx_backend, state_shapes
from rnncodec.backends.onnx_sessions import MAGIC, SessionSettings, cache_folder, cache_key, make_session
from rnncodec.codec import Codec
from rnncodec.weights import ONNX_PARTS, RNCWeights, onnx_paths

SHIPPED = RNCWeights["DEFAULT"].value


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder of this test; the backend's graphs made again for it."""
    monkeypatch.setenv("RNC_CACHE_DIR", str(tmp_path / "cache"))
    onnx_backend._load.cache_clear()
    yield tmp_path / "cache" / "onnx"
    onnx_backend._load.cache_clear()


def _feeds(part: str, height: int = 32, width: int = 48) -> dict[str, np.ndarray]:
    """Random inputs of the graph ``part`` for a ``height × width`` tile (the same at every call)."""
    rng = np.random.default_rng(7)
    encoder, decoder = state_shapes(SHIPPED.config, height, width)
    role = part.split("-")[0]
    feed = {"x": rng.uniform(-0.5, 0.5, (1, 3, height, width)),
            "signs": rng.choice([-1.0, 1.0], (1, SHIPPED.config.bits, height // 16, width // 16)),
            "reconstruction": rng.uniform(-0.5, 0.5, (1, 3, height, width)),
            **{f"state_{i}": rng.normal(0, 0.5, shape) for i, shape in enumerate(encoder if role == "encoder" else decoder)}}
    return {name: value.astype(np.float32) for name, value in feed.items()}


def _outputs(session, part: str) -> list[np.ndarray]:
    feeds = _feeds(part)
    return session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})


def _cached_files(folder):
    return sorted(folder.glob("*.ort"))


@pytest.mark.parametrize("part", ONNX_PARTS)
def test_a_cached_optimised_graph_gives_the_same_outputs_bit_for_bit(cache, part, monkeypatch):
    graph = onnx_paths(SHIPPED.path)[part]
    settings = SessionSettings()
    uncached = make_session(graph, SHIPPED.sha256, settings)  # optimised here, and saved
    assert len(_cached_files(cache)) == 1

    def no_optimising(*args):
        raise AssertionError("the cached graph was not used")

    monkeypatch.setattr(sessions, "_optimise_and_cache", no_optimising)
    cached = make_session(graph, SHIPPED.sha256, settings)
    for ours, theirs in zip(_outputs(cached, part), _outputs(uncached, part), strict=True):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
    assert cached.get_modelmeta().custom_metadata_map == uncached.get_modelmeta().custom_metadata_map


def test_files_and_pixels_are_the_same_with_the_cache(cache):
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[200:264, 180:276])  # 64×96
    first = Codec(backend="onnx")  # an empty cache: every graph optimised here
    files = [first.encode(image, 3)]
    pixels = [np.asarray(first.decode(files[0]))]
    assert len(_cached_files(cache)) == len(ONNX_PARTS)
    onnx_backend._load.cache_clear()
    again = Codec(backend="onnx")  # every session from the cache
    files.append(again.encode(image, 3))
    pixels.append(np.asarray(again.decode(files[1])))
    assert files[0] == files[1] and np.array_equal(*pixels)


def test_the_key_names_runtime_cpu_graph_weights_and_options(monkeypatch):
    import onnxruntime

    graph = onnx_paths(SHIPPED.path)["encoder"].read_bytes()
    key = cache_key(graph, SHIPPED.sha256, SessionSettings())
    assert key == cache_key(graph, SHIPPED.sha256, SessionSettings())  # the same in every process
    others = {cache_key(graph + b" ", SHIPPED.sha256, SessionSettings()),
              cache_key(graph, "0" * 64, SessionSettings()),
              cache_key(graph, SHIPPED.sha256, SessionSettings(intra_op_threads=3)),
              cache_key(graph, SHIPPED.sha256, SessionSettings(config=(("session.intra_op.allow_spinning", "1"),)))}
    monkeypatch.setattr(sessions, "cpu_identity", lambda: "linux\nx86_64\nflags=sse2")
    others.add(cache_key(graph, SHIPPED.sha256, SessionSettings()))
    monkeypatch.undo()
    monkeypatch.setattr(onnxruntime, "__version__", "0.0.1")
    others.add(cache_key(graph, SHIPPED.sha256, SessionSettings()))
    assert key not in others and len(others) == 6


def test_the_cpu_identity_names_the_machine():
    import platform

    assert platform.machine() in sessions.cpu_identity()


def test_another_machines_cache_is_never_read(cache, monkeypatch):
    graph = onnx_paths(SHIPPED.path)["decoder-first"]
    make_session(graph, SHIPPED.sha256, SessionSettings())
    monkeypatch.setattr(sessions, "cpu_identity", lambda: "linux\nx86_64\nmodel name=another CPU")
    make_session(graph, SHIPPED.sha256, SessionSettings())  # its own file, not the other's
    assert len(_cached_files(cache)) == 2


@pytest.mark.parametrize("damage", ["truncated", "flipped", "not a graph", "empty"])
def test_a_damaged_cache_file_is_made_again(cache, damage):
    graph = onnx_paths(SHIPPED.path)["encoder-first"]
    expected = _outputs(make_session(graph, SHIPPED.sha256, SessionSettings()), "encoder-first")
    [path] = _cached_files(cache)
    good = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(good[:len(good) // 2])
    elif damage == "flipped":  # one bit of a weight: the digest catches it
        path.write_bytes(good[:-100] + bytes([good[-100] ^ 1]) + good[-99:])
    elif damage == "not a graph":  # a right digest of bytes ONNX Runtime refuses
        path.write_bytes(MAGIC + hashlib.sha256(b"junk").digest() + b"junk")
    else:
        path.write_bytes(b"")
    session = make_session(graph, SHIPPED.sha256, SessionSettings())
    for ours, theirs in zip(_outputs(session, "encoder-first"), expected, strict=True):
        assert np.array_equal(ours, theirs)
    rewritten = path.read_bytes()  # written again (ONNX Runtime need not save the same bytes twice)
    assert rewritten[:len(MAGIC)] == MAGIC and len(rewritten) > len(good) // 2
    assert hashlib.sha256(rewritten[len(MAGIC) + 32:]).digest() == rewritten[len(MAGIC):len(MAGIC) + 32]
    assert not list(cache.glob("*.tmp"))


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    monkeypatch.setenv("RNC_CACHE_DIR", str(blocker))
    graph = onnx_paths(SHIPPED.path)["decoder"]
    session = make_session(graph, SHIPPED.sha256, SessionSettings())
    assert len(_outputs(session, "decoder")) == 5  # the reconstruction and four states
    assert blocker.read_bytes() == b"" and cache_folder() == blocker / "onnx"


def test_an_unwritable_cache_encodes_alike(tmp_path, monkeypatch, cache):
    from skimage import data

    image = np.ascontiguousarray(data.camera()[:48, :64])
    expected = Codec(backend="onnx").encode(image, 2)
    onnx_backend._load.cache_clear()
    blocker = tmp_path / "blocked"
    blocker.write_bytes(b"")
    monkeypatch.setenv("RNC_CACHE_DIR", str(blocker))
    assert Codec(backend="onnx").encode(image, 2) == expected


def test_an_older_onnx_runtime_makes_sessions_without_the_cache(cache, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "__version__", "1.17.3")
    session = make_session(onnx_paths(SHIPPED.path)["decoder"], SHIPPED.sha256, SessionSettings())
    assert len(_outputs(session, "decoder")) == 5 and not cache.exists()
