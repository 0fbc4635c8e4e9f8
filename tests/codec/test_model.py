"""The network's binarizer: exact signs at inference, and what training feeds the decoder."""

from __future__ import annotations

import pytest
import torch

from rnncodec.configs import get_config
from rnncodec.model import RecurrentCodec, binarize


def test_inference_binarizer_is_the_exact_sign():
    y = torch.tensor([-0.9, -1e-8, 0.0, 1e-8, 0.4])
    assert binarize(y).tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize("binarizer", ["sign", "stochastic"])
def test_training_binarizers_give_bits_and_pass_the_gradient_straight_through(binarizer):
    torch.manual_seed(0)
    y = (torch.rand(4000) * 2 - 1).requires_grad_()
    bits = binarize(y, binarizer)
    assert set(bits.detach().unique().tolist()) == {-1.0, 1.0}
    (bits * torch.arange(4000.0)).sum().backward()
    assert torch.equal(y.grad, torch.arange(4000.0))
    if binarizer == "sign":
        assert torch.equal(bits.detach(), binarize(y.detach()))
    else:  # E[b] = y: the bits disagree with the sign where |y| is small
        assert (bits.detach() - y.detach()).mean().abs() < 0.05
        assert (bits.detach() != binarize(y.detach())).float().mean() > 0.1


def test_unknown_binarizer_is_refused():
    with pytest.raises(ValueError, match="binarizer"):
        binarize(torch.zeros(2), "round")


def test_sign_training_pass_decodes_what_inference_decodes():
    """With the sign binarizer the decoder trains on the bits it gets from a .rnc file."""
    torch.manual_seed(0)
    model = RecurrentCodec(get_config("tiny"))
    x = torch.rand(1, 3, 32, 48) - 0.5
    model.train()
    trained = model(x, 3, "sign")
    stochastic = model(x, 3, "stochastic")
    model.eval()
    with torch.no_grad():
        inferred = model(x, 3)
    for a, b in zip(trained, inferred):
        torch.testing.assert_close(a.detach(), b, atol=1e-5, rtol=0)
    assert not torch.allclose(stochastic[-1].detach(), inferred[-1], atol=1e-3)
