"""Named architecture configurations.

One network class (:class:`rnncodec.model.RecurrentCodec`) covers every variant; what differs
between variants is data, kept here.  The name of a configuration is what the ``.rnc`` header
records as its *architecture*, so names are short (≤ 6 ASCII characters keeps the container
overhead within its budget) and must never be reused for a different shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .errors import UnknownArchitectureError

__all__ = ["ArchConfig", "register_config", "get_config", "list_configs"]

_CELLS = ("gru", "lstm")
_RECONSTRUCTIONS = ("oneshot", "additive")


@dataclass(frozen=True)
class ArchConfig:
    """Shape of a recurrent codec.

    Args:
        name: registry key, stored in every ``.rnc`` header.
        cell: recurrent cell, ``"gru"`` (ConvGRU) or ``"lstm"`` (ConvLSTM).
        reconstruction: ``"oneshot"`` (the decoder emits the whole image estimate at every
            iteration) or ``"additive"`` (the decoder emits a residual that is added).
        encoder_channels: widths of the stride-2 stem conv and the three recurrent encoder stages.
        decoder_channels: widths of the 1×1 code projection and the four recurrent decoder stages
            (each followed by a ×2 depth-to-space), in order from the code grid to full resolution.
        bits: code channels per 16×16 block per iteration (32 gives 0.125 bpp).
        colour_channels: image channels the network codes (3; grayscale images are coded as RGB
            with equal channels and converted back).
    """

    name: str
    cell: str = "gru"
    reconstruction: str = "oneshot"
    encoder_channels: tuple[int, int, int, int] = (32, 96, 160, 160)
    decoder_channels: tuple[int, int, int, int, int] = (160, 160, 160, 96, 48)
    bits: int = 32
    colour_channels: int = 3
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.cell not in _CELLS:
            raise ValueError(f"cell must be one of {_CELLS}, got {self.cell!r}")
        if self.reconstruction not in _RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {_RECONSTRUCTIONS}, got {self.reconstruction!r}")
        if len(self.encoder_channels) != 4 or len(self.decoder_channels) != 5:
            raise ValueError("encoder_channels needs 4 widths and decoder_channels 5")
        for width in self.decoder_channels[1:]:
            if width % 4:
                raise ValueError(f"decoder widths feed a depth-to-space ×2 and must be multiples of 4, got {width}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["encoder_channels"] = list(self.encoder_channels)
        data["decoder_channels"] = list(self.decoder_channels)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ArchConfig":
        data = dict(data)
        data["encoder_channels"] = tuple(data["encoder_channels"])
        data["decoder_channels"] = tuple(data["decoder_channels"])
        return cls(**data)


_CONFIGS: dict[str, ArchConfig] = {}


def register_config(config: ArchConfig) -> ArchConfig:
    """Add ``config`` to the registry; a duplicate name is an error (names go into files)."""
    if config.name in _CONFIGS:
        raise ValueError(f"architecture {config.name!r} is already registered")
    _CONFIGS[config.name] = config
    return config


def get_config(name: str) -> ArchConfig:
    """The registered configuration called ``name``."""
    try:
        return _CONFIGS[name]
    except KeyError:
        known = ", ".join(sorted(_CONFIGS))
        raise UnknownArchitectureError(f"unknown architecture {name!r} (known: {known})") from None


def list_configs() -> list[str]:
    return sorted(_CONFIGS)


register_config(ArchConfig(
    name="lstm-q",
    cell="lstm",
    reconstruction="additive",
    encoder_channels=(16, 64, 128, 128),
    decoder_channels=(128, 128, 128, 64, 32),
    description="Toderici et al. 2017 at quarter width: ConvLSTM, additive reconstruction.",
))
register_config(ArchConfig(
    name="gru-s",
    description="ConvGRU, one-shot reconstruction, encoder sees the image and the current reconstruction.",
))
register_config(ArchConfig(
    name="tiny",
    encoder_channels=(8, 16, 16, 16),
    decoder_channels=(16, 16, 16, 8, 8),
    description="A few thousand parameters: for tests and smoke runs of the pipeline, not for images.",
))
