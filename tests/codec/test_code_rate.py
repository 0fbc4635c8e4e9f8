"""The rate term's bit model: coder 2's logistic model in floating point, and what it estimates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnncodec.code_rate import CodeRateModel, rate_loss
from rnncodec.formats.coders.context import ContextCoder


def _fit(model: CodeRateModel, codes: list[list[torch.Tensor]], steps: int = 300) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        sum(model.loss(c) for c in codes).backward()
        optimizer.step()


def _signs(bits: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(bits.astype(np.float32) * 2 - 1).unsqueeze(0)


def test_a_model_that_knows_nothing_costs_one_bit_a_bit():
    code = torch.where(torch.rand(2, 8, 5, 7) < 0.5, 1.0, -1.0)
    model = CodeRateModel(8, 2)
    assert model.bits_per_code_bit(code, None, 0).item() == pytest.approx(1.0)
    assert model.loss([code, code]).item() == pytest.approx((np.log(1) + np.log(2)) / 2)


@pytest.mark.parametrize("kind", ["random", "copied channels", "checkerboard", "previous iteration"])
def test_estimate_follows_the_context_coders_payload(kind):
    """Fitted to a code, the estimate is within 0.1 bit a bit of what coder 2 spends on it — about 1 for
    random bits, far less where coder 2's contexts predict them (earlier channels, neighbours, the
    previous iteration)."""
    rng = np.random.default_rng(3)
    shape = (8, 24, 32)
    first = rng.integers(0, 2, shape).astype(np.uint8)
    if kind == "copied channels":
        first[1::2] = first[0::2] ^ (rng.random((4, 24, 32)) < 0.05)
    elif kind == "checkerboard":
        first = np.broadcast_to((np.add.outer(np.arange(24), np.arange(32)) % 2).astype(np.uint8), shape).copy()
        first ^= (rng.random(shape) < 0.05).astype(np.uint8)
    second = first ^ (rng.random(shape) < 0.05).astype(np.uint8) if kind == "previous iteration" \
        else rng.integers(0, 2, shape).astype(np.uint8)
    coder = ContextCoder()
    real = [len(coder.encode(first, [])) * 8 / first.size, len(coder.encode(second, [first])) * 8 / second.size]
    model = CodeRateModel(8, 2)
    codes = [_signs(first), _signs(second)]
    _fit(model, [codes])
    with torch.no_grad():
        estimate = [model.bits_per_code_bit(codes[0], None, 0).item(),
                    model.bits_per_code_bit(codes[1], codes[0], 1).item()]
    assert estimate == pytest.approx(real, abs=0.1)
    if kind == "random":
        assert min(estimate) > 0.9
    else:  # the predictable iteration; copied channels: half of them cost ~0.3 bit
        assert estimate[1 if kind == "previous iteration" else 0] < 0.7


def test_stopped_places_cost_nothing_and_are_not_counted():
    code = torch.where(torch.rand(1, 4, 6, 6) < 0.5, 1.0, -1.0)
    stopped = code.clone()
    stopped[..., :3, :] = 0
    model = CodeRateModel(4, 1)
    assert model.bits_per_code_bit(stopped, None, 0).item() == pytest.approx(1.0)
    assert model.bits_per_code_bit(torch.zeros_like(code), None, 0).item() == 0.0


def test_the_rate_terms_gradient_moves_bits_towards_their_prediction():
    """What the encoder gets through the binarizer: lowering the estimate means agreeing with the model."""
    model = CodeRateModel(4, 1)
    with torch.no_grad():
        model.bias[0] = torch.tensor([2.0, -2.0, 0.0, 0.0])
    code = torch.where(torch.rand(1, 4, 8, 8) < 0.5, 1.0, -1.0).requires_grad_()
    model.loss([code]).backward()
    assert (code.grad[0, 0] < 0).all() and (code.grad[0, 1] > 0).all()  # towards +1 and −1


def test_codes_before_the_first_counted_iteration_get_no_gradient():
    """``rnc train --rate-from 2``: the first iteration's code is counted in the bits of every later
    reconstruction and is the second's context, but the rate term does not move it."""
    model = CodeRateModel(4, 3)
    with torch.no_grad():
        model.previous.fill_(1.5)  # the second iteration's cost depends on the first's code
    codes = [torch.where(torch.rand(1, 4, 6, 6) < 0.5, 1.0, -1.0).requires_grad_() for _ in range(3)]
    bits = model.iteration_bits(codes, first=1)
    assert torch.allclose(bits, model.iteration_bits(codes))  # the same estimates
    loss = rate_loss(bits, [2.0, 2.0, 1.0], first=1)
    assert loss.item() == pytest.approx((2 * bits[:2].sum().log() + bits.sum().log()).item() / 3)
    loss.backward()
    assert codes[0].grad is None
    assert codes[1].grad.abs().sum() > 0 and codes[2].grad.abs().sum() > 0


def test_codes_before_the_first_counted_iteration_get_their_share_of_the_gradient():
    """``rnc train --rate-from 2 --rate-share-before C``: the same estimates, and the first iteration's
    code gets C times the gradient it would get if it were moved like the others."""
    model = CodeRateModel(4, 2)
    with torch.no_grad():
        model.previous.fill_(1.5)
        model.bias.fill_(0.7)
    codes = [torch.where(torch.rand(1, 4, 6, 6) < 0.5, 1.0, -1.0).requires_grad_() for _ in range(2)]
    full = model.iteration_bits(codes, first=1, share_before=1.0)
    rate_loss(full, first=1).backward()
    moved = codes[0].grad.clone()
    assert moved.abs().sum() > 0
    codes[0].grad = codes[1].grad = None
    scaled = model.iteration_bits(codes, first=1, share_before=0.25)
    assert torch.allclose(scaled, full)
    rate_loss(scaled, first=1).backward()
    assert torch.allclose(codes[0].grad, 0.25 * moved)
