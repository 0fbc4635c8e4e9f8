"""A differentiable estimate of what coder 2 spends on a code: the rate term of ``rnc train --rate-weight``.

Coder 2 (``formats/SPEC.md`` §7.2) codes each bit of an iteration's code with a logistic model of the
bits decoded before it — the same place in earlier channels, the neighbours of earlier phases of the
2 × 2 grid, the same bit of the previous iteration — whose weights the encoder fits to the iteration.
:class:`CodeRateModel` is that model in floating point, with the same terms, its weights learnt over the
training batches (one set per iteration index) instead of fitted per file.  Its cross-entropy on a code
is the bits the code would cost under it; training the encoder to lower it (the bits' gradient passes
straight through the binarizer) makes codes the real coder spends fewer bytes on.  The weights are
trained with it — the estimate is a cross-entropy both the model and the encoder minimise — and are
not part of the codec's weights (the file's coder fits its own).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .formats.coders.context.model import CROSS_CHANNELS, PHASES

__all__ = ["CodeRateModel", "rate_loss"]

def _phase_kernels() -> torch.Tensor:
    """One 3 × 3 kernel per phase of coder 2's 2 × 2 grid, summing the neighbours its logit reads."""
    kernels = torch.zeros(len(PHASES), 1, 3, 3)
    for phase, (_, _, offsets) in enumerate(PHASES):
        for dy, dx in offsets:
            kernels[phase, 0, 1 + dy, 1 + dx] = 1.0
    return kernels


def _phase_map(rows: int, cols: int, device: torch.device) -> torch.Tensor:
    """``(rows, cols)``: the phase of every place (by the parities of its row and column)."""
    phases = torch.empty(2, 2, dtype=torch.long)
    for phase, (row_parity, col_parity, _) in enumerate(PHASES):
        phases[row_parity, col_parity] = phase
    return phases.to(device)[torch.arange(rows, device=device) % 2][:, torch.arange(cols, device=device) % 2]


class CodeRateModel(nn.Module):
    """Coder 2's logistic bit model for codes of ``bits`` channels over ``iterations`` iterations.

    ``bits_per_code_bit(code, previous, t)`` is the cross-entropy, in bits, of iteration ``t``'s code
    (``(N, bits, H, W)`` in {−1, +1}, 0 where a block stopped — stopped places are not counted) under
    the model; :meth:`loss` the rate term over all iterations.
    """

    def __init__(self, bits: int, iterations: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(iterations, bits))
        self.cross = nn.Parameter(torch.zeros(iterations, bits, bits))
        self.spatial = nn.Parameter(torch.zeros(iterations, bits))
        self.previous = nn.Parameter(torch.zeros(iterations, bits))
        rows, cols = torch.arange(bits).unsqueeze(1), torch.arange(bits).unsqueeze(0)
        self.register_buffer("cross_mask", ((cols < rows) & (cols >= rows - CROSS_CHANNELS)).float(), persistent=False)
        self.register_buffer("phase_kernels", _phase_kernels(), persistent=False)

    def logits(self, code: torch.Tensor, previous: torch.Tensor | None, t: int) -> torch.Tensor:
        """Each bit's logit (natural log-odds of a +1) from what coder 2 reads before it."""
        n, c, h, w = code.shape
        code = code.float()
        z = self.bias[t].view(1, c, 1, 1) + torch.einsum("ij,njhw->nihw", self.cross[t] * self.cross_mask, code)
        sums = F.conv2d(code.reshape(n * c, 1, h, w), self.phase_kernels, padding=1)  # every phase's, everywhere
        neighbours = sums.gather(1, _phase_map(h, w, code.device).expand(n * c, 1, h, w)).view(n, c, h, w)
        z = z + self.spatial[t].view(1, c, 1, 1) * neighbours
        if previous is not None:
            z = z + self.previous[t].view(1, c, 1, 1) * previous.float()
        return z

    def bits_per_code_bit(self, code: torch.Tensor, previous: torch.Tensor | None, t: int) -> torch.Tensor:
        """Mean cost of iteration ``t``'s sent bits, in bits (1 for a model that knows nothing)."""
        z = self.logits(code, previous, t)
        sent = code.float().abs()
        nats = F.softplus(-code.float() * z) * sent
        return nats.sum() / sent.sum().clamp_min(1.0) / math.log(2)

    def iteration_bits(self, codes: Sequence[torch.Tensor], first: int = 0, share_before: float = 0.0) -> torch.Tensor:
        """Each iteration's estimated cost, bits per code bit, ``(len(codes),)``; the codes of iterations
        before ``first`` (0-based) get ``share_before`` of the estimate's gradient (0: detached, left as they
        are; 1: moved like the others) — the same estimates either way."""
        codes = [_gradient_scaled(code, share_before) if t < first else code for t, code in enumerate(codes)]
        return torch.stack([self.bits_per_code_bit(code, codes[t - 1] if t else None, t)
                            for t, code in enumerate(codes)])

    def loss(self, codes: Sequence[torch.Tensor], weights: Sequence[float] | None = None) -> torch.Tensor:
        """``Σ wₜ·ln(bits of iterations 1…t) / Σ wₜ``: each iteration's reconstruction judged against the
        bits it took, logarithmic like the distortion and distillation losses, so its weight is an exchange
        rate of relative changes: at ``rate_weight`` 1, 1 % fewer bits weigh as much as 1 % less of an
        error whose logarithm has weight 1 in the loss."""
        return rate_loss(self.iteration_bits(codes), weights)


def _gradient_scaled(x: torch.Tensor, share: float) -> torch.Tensor:
    """``x``'s values with ``share`` of the gradient that reaches them."""
    return x.detach() if share == 0 else x.detach() + share * (x - x.detach())


def rate_loss(iteration_bits: torch.Tensor, weights: Sequence[float] | None = None, first: int = 0) -> torch.Tensor:
    """:meth:`CodeRateModel.loss` from the iterations' estimated bits (:meth:`CodeRateModel.iteration_bits`):
    the terms of iterations ``first``… (0-based), each still over the bits of iterations 1…t."""
    w = torch.tensor(list(weights) if weights is not None else [1.0] * len(iteration_bits),
                     dtype=torch.float32, device=iteration_bits.device)[:len(iteration_bits)]
    w[:first] = 0
    return (torch.log(iteration_bits.cumsum(0)) * w).sum() / w.sum()
