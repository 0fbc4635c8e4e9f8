"""The ONNX Runtime backend: the shipped ONNX graphs of a weights entry, float32, on the CPU; no torch.

Each weights file ``NAME.pt`` has four graphs beside it (:func:`rnncodec.weights.onnx_paths`), made
by :mod:`rnncodec.onnx_export`: one step of the encoder (``x``, ``reconstruction``, states →
``signs``, states) and one of the decoder (``signs``, [``reconstruction``], states →
``reconstruction``, states), and each one's first step, which takes no states: the cells'
``state=None`` start, as the torch codec runs it (run while the states are
:meth:`OnnxBackend.initial_states`; a session is fed the inputs its graph has).
Their metadata names the weights they were made from (``rnncodec.weights_sha256``) and the
architecture (``rnncodec.config``); a graph made from other weights than the ``.pt`` beside it is
refused.  The graphs read the weights' tensors from that ``.pt`` (ONNX external data, see
:mod:`rnncodec.onnx_export`), without torch.  A graph's session is made when it first runs (a cold
``rnc decode`` never makes the encoder's), the first decoder step's at once: it checks the weights.
Sessions come from :mod:`rnncodec.backends.onnx_sessions`: one memory arena shared by all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..configs import ArchConfig
from ..weights import (ONNX_PARTS, LoadedWeights, RNCWeights, identity_sha256, onnx_paths, resolve_weights,
                       sha256_file, weights_id_of)
from . import Backend, BackendUnavailableError, state_shapes, threads
from .onnx_sessions import SessionSettings, make_session

__all__ = ["OnnxBackend", "OnnxWeights", "SHA256_KEY", "CONFIG_KEY"]

SHA256_KEY = "rnncodec.weights_sha256"
CONFIG_KEY = "rnncodec.config"


@dataclass(frozen=True)
class OnnxWeights:
    """The identity of the weights the graphs were made from (what ``.rnc`` headers name)."""

    sha256: str
    name: str
    config: ArchConfig
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def architecture(self) -> str:
        return self.config.name

    @property
    def weights_id(self) -> bytes:
        return weights_id_of(self.sha256)


class OnnxBackend(Backend):
    """``weights``: a registry member or name, or a ``.pt`` file with its ONNX graphs beside it."""

    name = "onnx"
    precision = "fp32"

    def __init__(self, weights: Any = None, *, precision: str = "auto"):
        if precision == "bf16":
            raise ValueError("the onnx backend runs float32 only (precision 'auto' or 'fp32')")
        if isinstance(weights, LoadedWeights):
            raise ValueError("loaded torch weights run on the torch backend; pass the weights' name or file")
        path, name = resolve_weights(weights)
        member = weights if isinstance(weights, RNCWeights) else RNCWeights.__members__.get(str(name))
        sha256 = member.value.sha256 if member is not None else None
        self._graphs = _load(str(path.resolve()), name, path.stat().st_mtime_ns, sha256, threads())
        self.weights = self._graphs.weights

    def tensor(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=np.float32)

    def numpy(self, tensor: np.ndarray) -> np.ndarray:
        return tensor

    def initial_states(self, height: int, width: int) -> tuple[list, list]:
        encoder, decoder = state_shapes(self.weights.config, height, width)
        return (_ZeroStates(np.zeros(s, np.float32) for s in encoder),
                _ZeroStates(np.zeros(s, np.float32) for s in decoder))

    def _run(self, role: str, first: str, tensor: np.ndarray, reconstruction: np.ndarray, states: list):
        session, inputs = self._graphs.session(f"{role}-first" if isinstance(states, _ZeroStates) else role)
        feed = {first: tensor, "reconstruction": reconstruction, **{f"state_{i}": s for i, s in enumerate(states)}}
        outputs = session.run(None, {name: feed[name] for name in inputs})
        return outputs[0], outputs[1:]

    def encoder_step(self, x, reconstruction, states):
        return self._run("encoder", "x", x, reconstruction, states)

    def decoder_step(self, signs, reconstruction, states):
        return self._run("decoder", "signs", signs, reconstruction, states)


class _ZeroStates(list):
    """States before the first iteration (zeros): what the first-step graphs run on."""


class _Graphs:
    """The sessions of one weights file's graphs, each made when first asked for."""

    def __init__(self, path: str, name: str, sha256: str | None, thread_count: int | None):
        self.path, self.name, self.thread_count = path, name, thread_count
        self.files = onnx_paths(path)
        missing = [self.files[part].name for part in ONNX_PARTS if not self.files[part].is_file()]
        if missing:
            raise BackendUnavailableError(
                f"{name}: no ONNX graphs beside {Path(path).name} ({', '.join(missing)}); make them with "
                f"'python -m rnncodec.onnx_export {path}' (needs torch), or use the torch backend")
        self.sha256 = sha256 or identity_sha256(sha256_file(path))
        self._sessions: dict[str, tuple[Any, list[str]]] = {}
        session, _ = self.session("decoder-first")
        config = ArchConfig.from_dict(json.loads(session.get_modelmeta().custom_metadata_map[CONFIG_KEY]))
        self.weights = OnnxWeights(sha256=self.sha256, name=name, config=config)

    def session(self, part: str) -> tuple[Any, list[str]]:
        """The session of the graph ``part`` (:data:`ONNX_PARTS`) and its input names."""
        if part not in self._sessions:
            self._sessions[part] = self._open(part)
        return self._sessions[part]

    def _open(self, part: str) -> tuple[Any, list[str]]:
        graph = self.files[part]
        try:  # the graphs read their weights from the .pt beside them (external data)
            session = make_session(graph, SessionSettings(intra_op_threads=self.thread_count or 0))
        except Exception as exc:  # onnxruntime raises its own (unexported) error classes
            raise BackendUnavailableError(f"{self.name}: cannot load its ONNX graph {graph.name}: {exc}") from None
        made_from = session.get_modelmeta().custom_metadata_map.get(SHA256_KEY, "")
        if made_from != self.sha256:
            raise BackendUnavailableError(
                f"{graph.name} was made from other weights ({made_from[:16] or 'unknown'}…) than "
                f"{Path(self.path).name} ({self.sha256[:16]}…); re-make it with "
                f"'python -m rnncodec.onnx_export {self.path}'")
        return session, [i.name for i in session.get_inputs()]


@lru_cache(maxsize=4)
def _load(path: str, name: str, mtime_ns: int, sha256: str | None, thread_count: int | None) -> _Graphs:
    """The graphs of the weights file ``path`` (checked), their sessions shared by every backend of them."""
    return _Graphs(path, name, sha256, thread_count)
