"""The PyTorch backend: the network of :mod:`rnncodec.model` on the CPU.

It runs in bfloat16 where the CPU has native support for it (AVX-512 BF16 / AMX; about twice as
fast) and in float32 elsewhere; ``precision=`` overrides.  Torch's thread count is left as the
process has it (``torch.set_num_threads``, ``rnc --threads``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch

from ..weights import LoadedWeights, load_weights
from . import Backend

__all__ = ["TorchBackend", "bf16_native"]


def bf16_native() -> bool:
    """Whether this CPU runs bfloat16 convolutions natively (AVX-512 BF16 / AMX), where they are ~2× faster."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class TorchBackend(Backend):
    """``weights``: a registry member or name, a ``.pt`` file, or already-loaded :class:`LoadedWeights`."""

    name = "torch"

    def __init__(self, weights: Any = None, *, precision: str = "auto"):
        self.weights = weights if isinstance(weights, LoadedWeights) else load_weights(weights)
        self.bf16 = precision == "bf16" or (precision == "auto" and bf16_native())
        self.precision = "bf16" if self.bf16 else "fp32"
        self.model = self.weights.model
        self.model.to(memory_format=torch.channels_last)  # ~1.6× faster convolutions on CPU

    def _autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).contiguous(memory_format=torch.channels_last)

    def numpy(self, tensor: torch.Tensor) -> np.ndarray:
        return tensor.float().numpy()

    def initial_states(self, height: int, width: int) -> tuple[list, list]:
        return self.model.initial_states()  # the cells start from zeros without computing with them

    @torch.inference_mode()
    def encoder_step(self, x, reconstruction, states):
        with self._autocast():
            return self.model.encode_step(x, reconstruction, states)

    @torch.inference_mode()
    def decoder_step(self, signs, reconstruction, states):
        with self._autocast():
            reconstruction, states = self.model.decode_step(signs, reconstruction, states)
        return reconstruction.float(), states
