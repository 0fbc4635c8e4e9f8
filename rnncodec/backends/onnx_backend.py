"""The ONNX Runtime backend: the shipped ONNX graphs of a weights entry, float32, on the CPU; no torch.

Each weights file ``NAME.pt`` has two graphs beside it (:func:`rnncodec.weights.onnx_paths`), made
by :mod:`rnncodec.onnx_export`: one step of the encoder (``x``, ``reconstruction``, states →
``signs``, states) and one of the decoder (``signs``, [``reconstruction``], states →
``reconstruction``, states).  Their metadata names the weights they were made from
(``rnncodec.weights_sha256``) and the architecture (``rnncodec.config``); a graph made from other
weights than the ``.pt`` beside it is refused.  The graphs read the weights' tensors from that
``.pt`` (ONNX external data, see :mod:`rnncodec.onnx_export`), without torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..configs import ArchConfig
from ..weights import ONNX_PARTS, LoadedWeights, RNCWeights, onnx_paths, resolve_weights, sha256_file, weights_id_of
from . import Backend, BackendUnavailableError, state_shapes, threads

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
        sessions, self.weights = _load(str(path.resolve()), name, path.stat().st_mtime_ns, sha256, threads())
        self._encoder, self._decoder = sessions
        self._inputs = {session: [i.name for i in session.get_inputs()] for session in sessions}

    def tensor(self, array: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(array, dtype=np.float32)

    def numpy(self, tensor: np.ndarray) -> np.ndarray:
        return tensor

    def initial_states(self, height: int, width: int) -> tuple[list, list]:
        encoder, decoder = state_shapes(self.weights.config, height, width)
        return [np.zeros(s, np.float32) for s in encoder], [np.zeros(s, np.float32) for s in decoder]

    def _run(self, session, first: str, tensor: np.ndarray, reconstruction: np.ndarray, states: list):
        feed = {first: tensor, "reconstruction": reconstruction, **{f"state_{i}": s for i, s in enumerate(states)}}
        outputs = session.run(None, {name: feed[name] for name in self._inputs[session]})
        return outputs[0], outputs[1:]

    def encoder_step(self, x, reconstruction, states):
        return self._run(self._encoder, "x", x, reconstruction, states)

    def decoder_step(self, signs, reconstruction, states):
        return self._run(self._decoder, "signs", signs, reconstruction, states)


@lru_cache(maxsize=4)
def _load(path: str, name: str, mtime_ns: int, sha256: str | None, thread_count: int | None):
    """The two sessions of the weights file ``path`` and the weights' identity."""
    import onnxruntime

    graphs = onnx_paths(path)
    missing = [graphs[part].name for part in ONNX_PARTS if not graphs[part].is_file()]
    if missing:
        raise BackendUnavailableError(
            f"{name}: no ONNX graphs beside {Path(path).name} ({', '.join(missing)}); make them with "
            f"'python -m rnncodec.onnx_export {path}' (needs torch), or use the torch backend")
    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    if thread_count:
        options.intra_op_num_threads = thread_count
    try:  # the graphs read their weights from the .pt beside them (external data)
        sessions = [onnxruntime.InferenceSession(str(graphs[part]), options, providers=["CPUExecutionProvider"])
                    for part in ONNX_PARTS]
    except Exception as exc:  # onnxruntime raises its own (unexported) error classes
        raise BackendUnavailableError(f"{name}: cannot load its ONNX graphs: {exc}") from None
    expected = sha256 or sha256_file(path)
    for part, session in zip(ONNX_PARTS, sessions):
        made_from = session.get_modelmeta().custom_metadata_map.get(SHA256_KEY, "")
        if made_from != expected:
            raise BackendUnavailableError(
                f"{graphs[part].name} was made from other weights ({made_from[:16] or 'unknown'}…) than "
                f"{Path(path).name} ({expected[:16]}…); re-make it with 'python -m rnncodec.onnx_export {path}'")
    config = ArchConfig.from_dict(json.loads(sessions[0].get_modelmeta().custom_metadata_map[CONFIG_KEY]))
    return tuple(sessions), OnnxWeights(sha256=expected, name=name, config=config)
