"""Weights files and the registry of shipped weights (in the spirit of torchvision's weights enums).

A weights file is a ``torch.save`` of a plain dict — ``format``, ``config`` (the architecture),
``state_dict`` and ``meta`` (how it was trained) — loaded with ``weights_only=True``.  Its
SHA-256 identifies it: the first 16 bytes go into every ``.rnc`` header, and decoding a file with
other weights is an error naming both.

The shipped files live in the top-level ``weights/`` folder (installed as ``rnncodec._weights``)
and are listed in :class:`RNCWeights`; ``RNCWeights.DEFAULT`` is what ``encode``/``decode`` use
unless told otherwise.
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Union

import torch

from .configs import ArchConfig
from .errors import UnknownWeightsError
from .model import RecurrentCodec

__all__ = ["Weights", "RNCWeights", "LoadedWeights", "save_weights", "load_weights", "resolve_weights",
           "sha256_file"]

FORMAT = "rnncodec-weights"
FORMAT_VERSION = 1

# What every shipped weights file was trained and validated on (folders of ../shared/data; never Kodak).
TRAINING_DATA = ["bsds500/train", "bsds500/test", "sun-hays80", "urban100-40"]
VALIDATION_DATA = "bsds500/val (first 20 images)"
_SHARED_CPU_CORES = "2 shared CPU cores (Intel Xeon with AMX), 1-2 torch threads, beside development work"
#: The recipe r1 converged to (GRU_S_V2), which r3 kept (GRU_S_V3) with another learning rate and r6
#: (GRU_S_V4) with the sign binarizer too.
_FINAL_RECIPE = {"crop": 96, "batch_size": 8, "iterations": 8, "lr": 0.001, "loss": "msssim-psnr",
                 "msssim_weight": 0.35, "iteration_weights": [2, 2, 2, 1.5, 1, 1, 1, 1]}


def _gru_s_meta(*, file_bytes: int, steps: int, train_hours: float, command: str, recipe: dict,
                bpp: list[float], psnr: list[float], ms_ssim: list[float],
                trained_on: str = _SHARED_CPU_CORES) -> dict[str, Any]:
    """The meta of a shipped ``gru-s`` file: trained on TRAINING_DATA, measured on Kodak per iteration."""
    return {
        "num_params": 2_848_407,
        "file_bytes": file_bytes,
        "training_data": TRAINING_DATA,
        "validation_data": VALIDATION_DATA,
        "steps": steps,
        "train_hours": train_hours,
        "trained_on": trained_on,
        "command": command,
        "recipe": recipe,
        "kodak": {"bpp": bpp, "psnr": psnr, "ms_ssim": ms_ssim},
    }


@dataclass(frozen=True)
class Weights:
    """A shipped weights file: where it is, its hash, and what it was measured to do."""

    file: str
    sha256: str
    architecture: str
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def path(self) -> Path:
        return Path(str(resources.files("rnncodec._weights").joinpath(self.file)))


class RNCWeights(enum.Enum):
    """Shipped weights.  ``DEFAULT`` is an alias of the recommended member."""

    GRU_S_V1 = Weights(
        file="gru-s-542a9a98.pt",
        sha256="542a9a9873c84043f523063b45bb35c642a4654b4ae68401ac7487dabb743c13",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_795,
            steps=2985,
            train_hours=1.64,
            trained_on="2 shared CPU cores (Intel Xeon with AMX), 1 torch thread, beside development work",
            command="rnc train --data bsds500/train --data bsds500/test --data sun-hays80 --data urban100-40 "
                    "--val bsds500/val --config gru-s --out gru-s.pt --steps 12000 --crop 96 --batch-size 8 "
                    "--iterations 8 --loss msssim-psnr --msssim-weight 0.5 (run r1: steps 0-2249 used "
                    "--loss msssim-l1 --msssim-weight 0.84, steps 0-265 --crop 128; exported at step 2985)",
            recipe={"crop": 96, "batch_size": 8, "iterations": 8, "lr": 0.001, "loss": "msssim-psnr",
                    "msssim_weight": 0.5},
            bpp=[0.0865, 0.1888, 0.2974, 0.4088, 0.5209, 0.6318, 0.7421, 0.8512],
            psnr=[22.28, 24.85, 26.11, 26.92, 27.46, 27.84, 28.12, 28.22],
            ms_ssim=[0.827, 0.9065, 0.9362, 0.9503, 0.9595, 0.9659, 0.9704, 0.9726],
        ),
    )
    GRU_S_V2 = Weights(
        file="gru-s-876503c0.pt",
        sha256="876503c0e6167c5fcd8e8a819940cb36d354d77400a55c3fa3bb969fb3b68830",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_847,
            steps=8000,
            train_hours=3.96,
            command="scripts/reproduce_default_weights.sh (run r1 in phases; the last: rnc train --data "
                    "bsds500/train --data bsds500/test --data sun-hays80 --data urban100-40 --val bsds500/val "
                    "--config gru-s --out gru-s.pt --steps 8000 --crop 96 --batch-size 8 --iterations 8 "
                    "--loss msssim-psnr --msssim-weight 0.35 --iteration-weights 2,2,2,1.5,1,1,1,1 --resume)",
            recipe=_FINAL_RECIPE,
            bpp=[0.0863, 0.192, 0.3049, 0.4205, 0.5367, 0.6533, 0.7688, 0.884],
            psnr=[23.45, 25.55, 26.75, 27.62, 28.19, 28.65, 28.95, 29.07],
            ms_ssim=[0.8431, 0.9186, 0.9448, 0.9581, 0.9671, 0.9729, 0.9768, 0.9786],
        ),
    )
    GRU_S_V3 = Weights(
        file="gru-s-152fd80b.pt",
        sha256="152fd80bb32f4abb1b347cc5db0064a05d16ddb3ad969cf1fe2281637a956d18",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_911,
            steps=8000 + 4939,
            train_hours=3.96 + 1.92,
            command="scripts/reproduce_default_weights.sh (GRU_S_V2's recipe, then run r3 from it: rnc train "
                    "--init GRU_S_V2 ... --steps 4939 --lr 0.0005 --warmup 100 --seed 3, the same loss, "
                    "iteration weights and data)",
            recipe={**_FINAL_RECIPE, "lr": 0.0005},
            bpp=[0.0872, 0.1939, 0.3077, 0.4239, 0.5412, 0.659, 0.7755, 0.8916],
            psnr=[23.53, 25.69, 26.9, 27.77, 28.36, 28.86, 29.17, 29.33],
            ms_ssim=[0.8473, 0.9216, 0.9467, 0.9596, 0.9686, 0.974, 0.9776, 0.9794],
        ),
    )
    GRU_S_V4 = Weights(
        file="gru-s-cc7e79a7.pt",
        sha256="cc7e79a7363dc2b936a59a0cc4b33448d3f5b3bf5865c0b8c1b6185c6f91b7ad",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_911,
            steps=8000 + 4939 + 3419,
            train_hours=3.96 + 1.92 + 1.53,
            command="scripts/reproduce_default_weights.sh (GRU_S_V3's recipe, then run r6 from it: rnc train "
                    "--init GRU_S_V3 ... --steps 3419 --lr 0.0005 --warmup 100 --seed 6 --binarizer sign, the "
                    "same loss, iteration weights and data)",
            recipe={**_FINAL_RECIPE, "lr": 0.0005, "binarizer": "sign"},
            bpp=[0.0895, 0.2001, 0.3172, 0.4369, 0.557, 0.677, 0.7964, 0.9151],
            psnr=[23.68, 25.99, 27.24, 28.11, 28.73, 29.31, 29.7, 29.88],
            ms_ssim=[0.855, 0.9287, 0.9519, 0.9644, 0.9722, 0.9767, 0.9799, 0.982],
        ),
    )
    DEFAULT = GRU_S_V4

    @classmethod
    def from_name(cls, name: str) -> "RNCWeights":
        key = name.split(".", 1)[1] if name.startswith(cls.__name__ + ".") else name
        try:
            return cls[key.upper().replace("-", "_")]
        except KeyError:
            known = ", ".join(m for m in cls.__members__)
            raise UnknownWeightsError(f"unknown weights {name!r} (shipped: {known or 'none'})") from None


@dataclass(frozen=True)
class LoadedWeights:
    """A model ready to run, with the identity of the weights it carries."""

    model: RecurrentCodec
    sha256: str
    name: str
    meta: dict[str, Any]

    @property
    def architecture(self) -> str:
        return self.model.config.name

    @property
    def weights_id(self) -> bytes:
        """What ``.rnc`` headers store: the first 16 bytes of the SHA-256."""
        return bytes.fromhex(self.sha256)[:16]


def sha256_file(path: Union[str, Path]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(model: RecurrentCodec, path: Union[str, Path], meta: dict | None = None) -> Path:
    """Write ``model`` as a weights file (fp32, atomically); returns the path."""
    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def resolve_weights(weights: Union[None, str, Path, RNCWeights]) -> tuple[Path, str]:
    """(path, display name) of a registry member, a member's name, or a file path."""
    if weights is None:
        if "DEFAULT" not in RNCWeights.__members__:
            raise UnknownWeightsError("no default weights are shipped; pass a weights file")
        weights = RNCWeights["DEFAULT"]
    if isinstance(weights, str) and not os.path.exists(weights) and os.sep not in weights:
        weights = RNCWeights.from_name(weights)
    if isinstance(weights, RNCWeights):
        return weights.value.path, weights.name
    path = Path(weights)
    if not path.is_file():
        raise UnknownWeightsError(f"weights file not found: {path}")
    return path, path.name


def load_weights(weights: Union[None, str, Path, RNCWeights] = None) -> LoadedWeights:
    """Load a model from shipped weights (member or name) or a weights file, for inference."""
    path, name = resolve_weights(weights)
    return _load(str(path.resolve()), name, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _load(path: str, name: str, mtime_ns: int) -> LoadedWeights:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, …: all mean "not a weights file"
        raise UnknownWeightsError(f"{path}: not a loadable rnncodec weights file ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UnknownWeightsError(f"{path}: not an rnncodec weights file")
    config = ArchConfig.from_dict(payload["config"])
    model = RecurrentCodec(config)
    model.load_state_dict(payload["state_dict"])
    model.eval().requires_grad_(False)
    return LoadedWeights(model=model, sha256=sha256_file(path), name=name, meta=payload.get("meta", {}))


def describe_shipped() -> list[dict[str, Any]]:
    """One dict per shipped weights (``rnc models``, docs/weights.md): name, file, hash, metrics."""
    default = RNCWeights.__members__.get("DEFAULT")
    rows = []
    for name, member in RNCWeights.__members__.items():
        if name == "DEFAULT":
            continue
        value = member.value
        rows.append({"name": name, "default": member is default, "file": value.file, "sha256": value.sha256,
                     "architecture": value.architecture, **value.meta})
    return rows


def weights_markdown() -> str:
    """docs/weights.md, generated from the registry (``python -m rnncodec.weights > docs/weights.md``)."""
    lines = [
        "# Shipped weights",
        "",
        "Generated from `rnncodec.weights.RNCWeights` by `python -m rnncodec.weights > docs/weights.md`;",
        "a test keeps this page equal to the registry. Metrics are measured on the 24 Kodak images with",
        "`benchmarks/rd_kodak.py` (real file bytes, container included; PSNR-RGB and MS-SSIM).",
        "",
    ]
    rows = describe_shipped()
    if not rows:
        lines.append("No weights are shipped yet.")
    for row in rows:
        lines += [
            f"## {row['name']}{' (default)' if row['default'] else ''}",
            "",
            f"- file: `weights/{row['file']}` ({row['file_bytes']:,} bytes), sha256 `{row['sha256']}`",
            f"- architecture: `{row['architecture']}`, {row['num_params']:,} parameters",
            f"- trained on: {', '.join(row['training_data'])}; validated on {row['validation_data']}",
            f"- training: {row['steps']:,} steps, {row['train_hours']:.1f} h on {row['trained_on']}",
            f"- command: `{row['command']}`",
            "",
            "| iterations | bpp (file) | PSNR-RGB dB | MS-SSIM |",
            "|---|---|---|---|",
        ]
        kodak = row["kodak"]
        for k, (bpp, db, ssim) in enumerate(zip(kodak["bpp"], kodak["psnr"], kodak["ms_ssim"]), 1):
            lines.append(f"| {k} | {bpp:.3f} | {db:.2f} | {ssim:.4f} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(weights_markdown(), end="")
