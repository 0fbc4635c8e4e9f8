"""One builder per architecture configuration, in the spirit of ``torchvision.models``::

    >>> from rnncodec.zoo import gru_s
    >>> from rnncodec.weights import RNCWeights
    >>> model = gru_s(weights=RNCWeights.GRU_S_V4)     # the network with the shipped weights
    >>> fresh = gru_s()                                  # randomly initialised, to train

Each builder returns a new :class:`~rnncodec.model.RecurrentCodec` of its configuration
(:mod:`rnncodec.configs`), owned by the caller (to train, fine-tune or export); weights for another
configuration are refused.  For coding images, :class:`rnncodec.Codec` loads (and shares) the
network itself.
"""

from __future__ import annotations

from typing import Union

from .configs import get_config
from .errors import UnknownWeightsError
from .model import RecurrentCodec
from .weights import RNCWeights, read_weights_file

__all__ = ["build", "gru_s", "lstm_q", "tiny"]

WeightsChoice = Union[None, str, RNCWeights]


def build(architecture: str, weights: WeightsChoice = None) -> RecurrentCodec:
    """A new network of the configuration ``architecture``, with the shipped ``weights`` (a
    :class:`RNCWeights` member or its name) or randomly initialised (``None``).

    Raises:
        UnknownArchitectureError: no configuration has that name.
        UnknownWeightsError: unknown weights, or weights of another configuration.
    """
    config = get_config(architecture)
    model = RecurrentCodec(config)
    if weights is None:
        return model
    member = weights if isinstance(weights, RNCWeights) else RNCWeights.from_name(weights)
    if member.value.architecture != architecture:
        raise UnknownWeightsError(f"{member.name} are weights for {member.value.architecture!r}, "
                                  f"not for {architecture!r}")
    _, state_dict, _ = read_weights_file(member.value.path)
    model.load_state_dict(state_dict)
    return model


def gru_s(*, weights: WeightsChoice = None) -> RecurrentCodec:
    """``gru-s``: ConvGRU, one-shot reconstruction (the shipped weights' network)."""
    return build("gru-s", weights)


def lstm_q(*, weights: WeightsChoice = None) -> RecurrentCodec:
    """``lstm-q``: Toderici et al. 2017 at quarter width (ConvLSTM, additive reconstruction)."""
    return build("lstm-q", weights)


def tiny(*, weights: WeightsChoice = None) -> RecurrentCodec:
    """``tiny``: a few thousand parameters, for tests and smoke runs."""
    return build("tiny", weights)
