"""Backends: what runs the network for :class:`rnncodec.codec.Codec`.

A backend loads one weights entry and runs one iteration of the encoder or of the decoder on one
tile, its recurrent states carried by the caller; everything else — padding, tiling, seams,
progressive decoding, the container — is the codec's, shared by every backend.  Files do not
depend on the backend: the codes are bits and the entropy coders integer arithmetic, so any
backend decodes any file (tests/codec/test_backends.py, benchmarks/cross_backend.py).

- ``torch``: PyTorch (``pip install 'rnncodec[torch]'``); bfloat16 where the CPU runs it natively.
- ``onnx``: ONNX Runtime on the graphs shipped beside each weights file (``NAME.encoder.onnx``,
  ``NAME.decoder.onnx`` and their first-iteration variants, made by ``python -m
  rnncodec.onnx_export``); float32; no torch.

``backend=None`` means ``$RNC_BACKEND``, else ``"auto"``: torch when it is installed, else onnx.
"""

from __future__ import annotations

import abc
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence

import numpy as np

from ..choices import BACKENDS, PRECISIONS
from ..errors import CodecError

if TYPE_CHECKING:
    from ..configs import ArchConfig

__all__ = ["BACKEND_ENV", "TORCH_INSTALL", "Backend", "BackendUnavailableError", "resolve_backend", "load_backend",
           "set_threads", "state_shapes"]

BACKEND_ENV = "RNC_BACKEND"
#: What a user without torch runs to get it (said by every error that needs torch).
TORCH_INSTALL = "pip install 'rnncodec[torch]'"

_threads: Optional[int] = None


class BackendUnavailableError(CodecError):
    """The backend asked for cannot run here (not installed, or no ONNX graphs for the weights)."""


class Backend(abc.ABC):
    """One weights entry, ready to run a step of the encoder or the decoder.

    ``weights`` names what runs (``sha256``, ``name``, ``config``, ``architecture``, ``weights_id``);
    ``precision`` is ``"bf16"`` or ``"fp32"``.  Tensors are the backend's own; the codec moves
    numpy arrays in and out with :meth:`tensor` and :meth:`numpy`.
    """

    name: str
    precision: str
    weights: Any

    @abc.abstractmethod
    def tensor(self, array: np.ndarray) -> Any:
        """The backend's tensor of a float32 ``(1, C, H, W)`` array."""

    @abc.abstractmethod
    def numpy(self, tensor: Any) -> np.ndarray:
        """A float32 array of a tensor."""

    @abc.abstractmethod
    def initial_states(self, height: int, width: int) -> tuple[Any, Any]:
        """Encoder and decoder states before the first iteration of a ``height × width`` tile."""

    @abc.abstractmethod
    def encoder_step(self, x: Any, reconstruction: Any, states: Any) -> tuple[Any, Any]:
        """One iteration's codes in {-1, +1}, ``(1, bits, H/16, W/16)``, and the new encoder states."""

    @abc.abstractmethod
    def decoder_step(self, signs: Any, reconstruction: Any, states: Any) -> tuple[Any, Any]:
        """The float32 reconstruction after one more iteration's codes, and the new decoder states."""


def resolve_backend(name: Optional[str] = None) -> str:
    """``"torch"`` or ``"onnx"`` for ``name`` (``None``: ``$RNC_BACKEND``, else ``"auto"``)."""
    name = (name or os.environ.get(BACKEND_ENV) or "auto").lower()
    if name == "auto":
        return "torch" if torch_installed() else "onnx"
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    return name


def torch_installed() -> bool:
    """Whether torch can be imported (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def load_backend(name: Optional[str], weights: Any, precision: str = "auto") -> Backend:
    """The backend ``name`` (see :func:`resolve_backend`) running ``weights``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if resolve_backend(name) == "onnx":
        from .onnx_backend import OnnxBackend

        return OnnxBackend(weights, precision=precision)
    if not torch_installed():
        raise BackendUnavailableError(f"the torch backend needs PyTorch, which is not installed: {TORCH_INSTALL}")
    from .torch_backend import TorchBackend

    return TorchBackend(weights, precision=precision)


def set_threads(count: Optional[int]) -> None:
    """CPU threads for the network, whichever backend runs it (``rnc --threads``).

    Torch takes it at once when it is imported, else from ``OMP_NUM_THREADS`` when it is; ONNX
    Runtime sessions made afterwards take it as their intra-op thread count."""
    global _threads
    if not count:
        return
    _threads = count
    if sys.modules.get("torch") is not None:
        sys.modules["torch"].set_num_threads(count)
    else:
        os.environ["OMP_NUM_THREADS"] = str(count)


def threads() -> Optional[int]:
    """The thread count :func:`set_threads` asked for, if any."""
    return _threads


def state_shapes(config: "ArchConfig", height: int, width: int) -> tuple[list[Sequence[int]], list[Sequence[int]]]:
    """Shapes ``(1, C, h, w)`` of the flattened encoder and decoder states of a ``height × width`` tile
    (a ConvLSTM cell holds two tensors, ``h`` then ``c``; a ConvGRU one)."""
    per_cell = 2 if config.cell == "lstm" else 1
    encoder = [(1, c, height >> (2 + i), width >> (2 + i)) for i, c in enumerate(config.encoder_channels[1:])]
    decoder = [(1, c, height >> (4 - i), width >> (4 - i)) for i, c in enumerate(config.decoder_channels[1:])]
    return ([shape for shape in encoder for _ in range(per_cell)],
            [shape for shape in decoder for _ in range(per_cell)])
