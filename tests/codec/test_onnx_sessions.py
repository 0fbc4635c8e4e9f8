"""The onnx backend's sessions: in the shared memory arena, every shipped graph gives the outputs of
a plain ONNX Runtime session bit for bit, and sessions made one after another keep doing so."""

from __future__ import annotations

import numpy as np
import pytest

from rnncodec.backends import state_shapes
from rnncodec.backends.onnx_sessions import PROVIDERS, SessionSettings, make_session
from rnncodec.weights import ONNX_PARTS, RNCWeights, onnx_paths

SHIPPED = RNCWeights["DEFAULT"].value


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


@pytest.mark.parametrize("part", ONNX_PARTS)
def test_a_session_in_the_shared_arena_gives_a_plain_sessions_outputs(part):
    import onnxruntime

    graph = onnx_paths(SHIPPED.path)[part]
    plain = onnxruntime.InferenceSession(str(graph), providers=list(PROVIDERS))
    shared = [make_session(graph, SessionSettings()) for _ in range(2)]  # two in one arena at once
    expected = _outputs(plain, part)
    for session in shared:
        for ours, theirs in zip(_outputs(session, part), expected, strict=True):
            assert np.array_equal(ours, theirs)


def test_settings_reach_the_session():
    session = make_session(onnx_paths(SHIPPED.path)["decoder"], SessionSettings(intra_op_threads=1))
    assert session.get_session_options().intra_op_num_threads == 1
    assert session.get_session_options().get_session_config_entry("session.use_env_allocators") == "1"
