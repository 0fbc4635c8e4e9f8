"""The recurrent auto-encoder: encoder → binarizer → decoder, run once per iteration.

After Toderici et al., "Full Resolution Image Compression with Recurrent Neural Networks",
CVPR 2017 (https://arxiv.org/abs/1608.05148)::

            x (image, centred to [-0.5, 0.5])
            │            ┌──────────────── x̂ₜ₋₁ (or rₜ₋₁ = x − x̂ₜ₋₁, additive variant)
            ▼            ▼
       ┌──────────────────────┐   bₜ ∈ {−1,+1}^(32 × H/16 × W/16)   ┌───────────────┐
       │ encoder Eₜ (3 RNNs)  │──► binarizer ──────────────────────►│ decoder Dₜ    │──► x̂ₜ
       └──────────────────────┘   (32 bits per 16×16 block)         │ (4 RNNs, D2S) │
                 ▲ state                                            └───────────────┘
                 └── carried across iterations t = 1 … N ──── state ──┘

Every iteration adds 32 bits per 16×16 block (0.125 bpp).  In the *one-shot* variant the
decoder emits the whole image estimate at every iteration (x̂ₜ = Dₜ(bₜ)) and the encoder sees
the image next to the current reconstruction; in the *additive* variant (the 2017 paper's)
x̂ₜ = x̂ₜ₋₁ + Dₜ(bₜ) and the encoder sees the residual.  Binarization is the sign at inference;
in training either stochastic (b = +1 with probability (1+y)/2) or the sign, with a
straight-through gradient (:func:`binarize`).
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import nn
from torch.nn import functional as F

from .choices import BINARIZERS
from .configs import ArchConfig

__all__ = ["RecurrentCodec", "ConvGRUCell", "ConvLSTMCell", "BINARIZERS", "binarize", "gru_state"]

State = Optional[tuple[torch.Tensor, ...]]
#: ``(t, x, reconstruction, active) -> active``: which blocks send iteration ``t`` (:meth:`RecurrentCodec.forward`).
StopRule = Callable[[int, torch.Tensor, torch.Tensor, Optional[torch.Tensor]], torch.Tensor]


def _tanh(x: torch.Tensor) -> torch.Tensor:
    """``tanh``, computed in float32 for a bfloat16 ``x``: the same values (rounded back), twice as
    fast on CPU, where this build's bfloat16 ``tanh`` is not vectorised (a sixth of decoding time before)."""
    return torch.tanh(x.float()).to(x.dtype) if x.dtype == torch.bfloat16 else torch.tanh(x)


class ConvGRUCell(nn.Module):
    """Convolutional GRU.  ``forward(x, state) -> state``; the output is ``state[0]``."""

    def __init__(self, in_channels: int, hidden: int, kernel: int = 3, stride: int = 1, hidden_kernel: int = 1):
        super().__init__()
        self.hidden = hidden
        self.input_conv = nn.Conv2d(in_channels, 3 * hidden, kernel, stride, padding=kernel // 2)
        self.hidden_conv = nn.Conv2d(hidden, 3 * hidden, hidden_kernel, padding=hidden_kernel // 2, bias=False)

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor]:
        input_terms = self.input_conv(x).chunk(3, dim=1)
        if state is None:  # h₀ = 0: the hidden convolution contributes nothing
            return (gru_state(input_terms),)
        (h,) = state
        return (gru_state(input_terms, self.hidden_conv(h).chunk(3, dim=1), h),)


def gru_state(input_terms: tuple, hidden_terms: Optional[tuple] = None,
              h: Optional[torch.Tensor] = None) -> torch.Tensor:
    """A ConvGRU's new state from its gates' terms, ``(reset, update, new)`` each: the input
    convolution's and, but for the first step (``h`` is ``None``: h₀ = 0, where the reset gate
    and the hidden terms count for nothing and may be ``None``), the hidden convolution's."""
    reset_x, update_x, new_x = input_terms
    if h is None:
        return (1 - torch.sigmoid(update_x)) * _tanh(new_x)
    reset_h, update_h, new_h = hidden_terms
    reset = torch.sigmoid(reset_x + reset_h)
    update = torch.sigmoid(update_x + update_h)
    candidate = _tanh(new_x + reset * new_h)
    return torch.lerp(candidate, h, update)


class ConvLSTMCell(nn.Module):
    """Convolutional LSTM.  ``forward(x, state) -> (h, c)``; the output is ``state[0]``."""

    def __init__(self, in_channels: int, hidden: int, kernel: int = 3, stride: int = 1, hidden_kernel: int = 1):
        super().__init__()
        self.hidden = hidden
        self.input_conv = nn.Conv2d(in_channels, 4 * hidden, kernel, stride, padding=kernel // 2)
        self.hidden_conv = nn.Conv2d(hidden, 4 * hidden, hidden_kernel, padding=hidden_kernel // 2, bias=False)

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.input_conv(x)
        if state is not None:
            h, c = state
            gates = gates + self.hidden_conv(h)
        in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, dim=1)
        c_new = torch.sigmoid(in_gate) * _tanh(cell_gate)
        if state is not None:
            c_new = c_new + torch.sigmoid(forget_gate) * c
        h_new = torch.sigmoid(out_gate) * _tanh(c_new)
        return (h_new, c_new)


_CELL_CLASSES = {"gru": ConvGRUCell, "lstm": ConvLSTMCell}


#: How training binarizes (:func:`binarize`); inference always takes the sign.


def binarize(y: torch.Tensor, training: Optional[str] = None) -> torch.Tensor:
    """Map ``y ∈ (-1, 1)`` to ``{-1, +1}``.

    ``training=None`` (inference): the sign, with 0 mapped to +1.  In training the gradient passes
    straight through (identity) and the value is ``"stochastic"``: +1 with probability (1+y)/2
    (Toderici et al.), or ``"sign"``: the sign, the value the decoder gets at inference.
    """
    if training not in (None, *BINARIZERS):
        raise ValueError(f"binarizer must be one of {BINARIZERS}, got {training!r}")
    ones = torch.rand_like(y) < (1 + y) / 2 if training == "stochastic" else y >= 0
    bits = torch.where(ones, 1.0, -1.0).to(y.dtype)
    return bits if training is None else y + (bits - y).detach()


class Encoder(nn.Module):
    def __init__(self, config: ArchConfig):
        super().__init__()
        cell = _CELL_CLASSES[config.cell]
        c0, c1, c2, c3 = config.encoder_channels
        in_channels = config.colour_channels * (2 if config.reconstruction == "oneshot" else 1)
        self.stem = nn.Conv2d(in_channels, c0, 3, stride=2, padding=1)
        self.rnns = nn.ModuleList([cell(c0, c1, stride=2), cell(c1, c2, stride=2), cell(c2, c3, stride=2)])
        self.to_bits = nn.Conv2d(c3, config.bits, 1)

    def forward(self, x: torch.Tensor, states: list[State]) -> tuple[torch.Tensor, list[State]]:
        h = F.leaky_relu(self.stem(x), 0.1)
        new_states = []
        for rnn, state in zip(self.rnns, states):
            state = rnn(h, state)
            new_states.append(state)
            h = state[0]
        return _tanh(self.to_bits(h)), new_states


class Decoder(nn.Module):
    def __init__(self, config: ArchConfig):
        super().__init__()
        cell = _CELL_CLASSES[config.cell]
        d0, d1, d2, d3, d4 = config.decoder_channels
        self.from_bits = nn.Conv2d(config.bits, d0, 1)
        self.rnns = nn.ModuleList([
            cell(d0, d1),
            cell(d1 // 4, d2),
            cell(d2 // 4, d3, hidden_kernel=3),
            cell(d3 // 4, d4, hidden_kernel=3),
        ])
        self.to_image = nn.Conv2d(d4 // 4, config.colour_channels, 1)

    def forward(self, bits: torch.Tensor, states: list[State]) -> tuple[torch.Tensor, list[State]]:
        h = self.from_bits(bits)
        new_states = []
        for rnn, state in zip(self.rnns, states):
            state = rnn(h, state)
            new_states.append(state)
            h = F.pixel_shuffle(state[0], 2)
        return self.to_image(h), new_states


class RecurrentCodec(nn.Module):
    """Encoder, binarizer and decoder with recurrent state carried across iterations.

    Images enter and leave centred: pixel values in ``[-0.5, 0.5]``, height and width multiples
    of :attr:`downsampling_factor` (the codec API pads and crops).

    Args:
        config: the architecture (see :mod:`rnncodec.configs`).

    Example:
        >>> from rnncodec.configs import get_config
        >>> model = RecurrentCodec(get_config("gru-s")).eval()
        >>> x = torch.zeros(1, 3, 32, 48)
        >>> reconstructions = model(x, iterations=2)
        >>> len(reconstructions), tuple(reconstructions[-1].shape)
        (2, (1, 3, 32, 48))
    """

    downsampling_factor = 16

    def __init__(self, config: ArchConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    @property
    def oneshot(self) -> bool:
        return self.config.reconstruction == "oneshot"

    def initial_states(self) -> tuple[list[State], list[State]]:
        """Empty encoder and decoder states (the cells create zeros lazily)."""
        return [None] * len(self.encoder.rnns), [None] * len(self.decoder.rnns)

    def encode_step(self, x: torch.Tensor, reconstruction: torch.Tensor, states: list[State],
                    binarizer: Optional[str] = None) -> tuple[torch.Tensor, list[State]]:
        """One iteration's codes in {-1, +1}, shape (N, bits, H/16, W/16); ``binarizer``: the
        training binarizer (:func:`binarize`), ``None`` at inference."""
        y, states = self.encoder(self.encoder_inputs(x, reconstruction), states)
        return binarize(y, binarizer), states

    def encoder_inputs(self, x: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
        """What the encoder reads at an iteration: the image and the reconstruction so far (``oneshot``),
        or what is still missing (the residual)."""
        return torch.cat([x, reconstruction], 1) if self.oneshot else x - reconstruction

    def decode_step(self, bits: torch.Tensor, reconstruction: torch.Tensor,
                    states: list[State]) -> tuple[torch.Tensor, list[State]]:
        """The reconstruction after adding one iteration's codes."""
        out, states = self.decoder(bits, states)
        return (out if self.oneshot else reconstruction + out), states

    def forward(self, x: torch.Tensor, iterations: int, binarizer: str = "stochastic",
                stops: Optional[StopRule] = None) -> list[torch.Tensor]:
        """The reconstruction after each of ``iterations`` iterations (:meth:`run`'s first half)."""
        return self.run(x, iterations, binarizer, stops)[0]

    def run(self, x: torch.Tensor, iterations: int, binarizer: str = "stochastic",
            stops: Optional[StopRule] = None) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The reconstruction after each of ``iterations`` iterations, and each iteration's codes; in
        training mode the codes come from the training ``binarizer`` (:data:`BINARIZERS`), in eval
        mode from the sign.

        ``stops``: spatially adaptive iterations.  Called before each iteration ``t ≥ 1`` (0-based) as
        ``stops(t, x, reconstruction, active)`` with the reconstruction so far and the blocks still
        sending (``None`` before the first call), it returns the blocks that send iteration ``t``,
        ``(N, 1, H/16, W/16)``, 1 or 0; a stopped block's codes are 0 (neither −1 nor +1), as a
        decoder sees a block a file stopped.  The rule keeps stopped blocks stopped."""
        enc_states, dec_states = self.initial_states()
        reconstruction = torch.zeros_like(x)
        outputs, codes = [], []
        active = None
        for t in range(iterations):
            bits, enc_states = self.encode_step(x, reconstruction, enc_states, binarizer if self.training else None)
            if stops is not None and t:
                active = stops(t, x, reconstruction, active)
                bits = bits * active.to(bits.dtype)
            reconstruction, dec_states = self.decode_step(bits, reconstruction, dec_states)
            outputs.append(reconstruction)
            codes.append(bits)
        return outputs, codes

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
