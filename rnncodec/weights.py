"""Weights files and the registry of shipped weights (in the spirit of torchvision's weights enums).

A weights file is a ``torch.save`` of a plain dict — ``format``, ``config`` (the architecture),
``state_dict`` and ``meta`` (how it was trained) — loaded with ``weights_only=True``.  Its
SHA-256 identifies it: the first 16 bytes go into every ``.rnc`` header, and decoding a file with
other weights is an error naming both.

The shipped files live in the top-level ``weights/`` folder (installed as ``rnncodec._weights``)
and are listed in :class:`RNCWeights`; ``RNCWeights.DEFAULT`` is what ``encode``/``decode`` use
unless told otherwise, :data:`RECOGNITION_WEIGHTS` what the edge client encodes with (photos a
recognizer reads on a server).  Each entry's ``meta`` says how to make it again (``recipe``: the command
and the page that explains it) and what it measures (``metrics``); :mod:`rnncodec.zoo` builds the
network of each configuration with or without them.  Beside each ``NAME.pt`` lie its ONNX graphs,
``NAME.encoder.onnx``, ``NAME.decoder.onnx`` and their first-iteration variants (:func:`onnx_paths`;
made by ``python -m rnncodec.onnx_export``; in an install, a packed entry's are made from its base's
when it is unpacked, :mod:`rnncodec.graph_relink`), which the torch-free backend runs.  In an install
every entry is packed (``NAME.ptpack``, :mod:`rnncodec.weights_pack`) — fine-tunes as the integers
of weights quantised from another entry, itself packed or not (the default, GRU_S_V5, against
GRU_S_V4), GRU_S_V4 alone (no base), the oldest alone with their weights rounded (:class:`Rounded`)
— and :attr:`Weights.path` unpacks one into the user's cache when it is first needed, its base
first.  Importing this module does not import torch; loading a ``.pt`` does.
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .atomic import write_atomically
from .choices import RECOGNITION_WEIGHTS
from .configs import ArchConfig, get_config
from .errors import PackedWeightsBaseError, UnknownWeightsError

if TYPE_CHECKING:
    import torch

    from .model import RecurrentCodec

__all__ = ["Weights", "Rounded", "RNCWeights", "LoadedWeights", "save_weights", "load_weights", "resolve_weights",
           "read_weights_file", "sha256_file", "weights_id_of", "recipe_meta", "onnx_paths", "ONNX_PARTS", "PACK_SUFFIX",
           "shipped_dir", "unpacked_path", "identity_sha256", "MAX_PACK_CHAIN", "RECOGNITION_WEIGHTS"]

FORMAT = "rnncodec-weights"
#: A shipped weights file stored as its difference from another (:mod:`rnncodec.weights_pack`).
PACK_SUFFIX = ".ptpack"
FORMAT_VERSION = 1

# What every shipped weights file was trained and validated on (folders of ../shared/data; never Kodak).
TRAINING_DATA = ["bsds500/train", "bsds500/test", "sun-hays80", "urban100-40"]
VALIDATION_DATA = "bsds500/val (first 20 images)"
#: Where the runs that made the shipped weights are told, measured and explained.
TRAINING_DOCS = "docs/training.md#experiments-r1-r3-r6-and-an-ablation"
#: The training options r1 converged to (GRU_S_V2), which r3 kept (GRU_S_V3) with another learning
#: rate and r6 (GRU_S_V4) with the sign binarizer too.
_FINAL_OPTIONS = {"crop": 96, "batch_size": 8, "iterations": 8, "lr": 0.001, "loss": "msssim-psnr",
                  "msssim_weight": 0.35, "iteration_weights": [2, 2, 2, 1.5, 1, 1, 1, 1]}
_REPRODUCE = "scripts/reproduce_default_weights.sh"


def recipe_meta(*, num_params: int, file_bytes: int, command: str, steps: int, options: dict,
                kodak: dict[str, list[float]] | None, docs: str = TRAINING_DOCS, purpose: str | None = None,
                recognition: dict[str, list[float]] | None = None) -> dict[str, Any]:
    """The ``meta`` of a registry entry: its size, what it is for (``purpose``, when it is not the
    general-purpose default), its ``recipe`` (the command that makes it, the page that explains it,
    its data, steps and training options) and its ``metrics``: Kodak per iteration (file bpp,
    PSNR-RGB, MS-SSIM, measured with ``benchmarks/rd_kodak.py``) and, when measured, recognition per
    iteration (``benchmarks/recognition.py``: ImageNet top-1 %, COCO mAP@0.5, kB per photo)."""
    meta: dict[str, Any] = {
        "num_params": num_params,
        "file_bytes": file_bytes,
        "recipe": {"command": command, "docs": docs, "training_data": TRAINING_DATA,
                   "validation_data": VALIDATION_DATA, "steps": steps, "options": options},
        "metrics": {"kodak": kodak} if kodak else {},
    }
    if purpose:
        meta["purpose"] = purpose
    if recognition:
        meta["metrics"]["recognition"] = recognition
    return meta


def _gru_s_meta(*, file_bytes: int, steps: int, command: str, options: dict, bpp: list[float],
                psnr: list[float], ms_ssim: list[float], **more: Any) -> dict[str, Any]:
    """The meta of a shipped ``gru-s`` file (``more``: :func:`recipe_meta`'s optional fields)."""
    return recipe_meta(num_params=2_848_407, file_bytes=file_bytes, command=command, steps=steps,
                       options=options, kodak={"bpp": bpp, "psnr": psnr, "ms_ssim": ms_ssim}, **more)


def _machine_options(**own: Any) -> dict[str, Any]:
    """The training options of a machine-oriented entry: the distillation recipe they share, with
    their own crops, batch and learning rate (sorted, as ``rnc models`` lists them)."""
    shared = {"binarizer": "sign", "distill_iterations": 3, "distill_weight": 2.0,
              "iteration_weights": [2.0, 2.0, 2.0, 1.5], "iterations": 4, "loss": "msssim-psnr",
              "msssim_weight": 0.35}
    return dict(sorted({**shared, **own}.items()))


def _recognition(**figures: list[float]) -> dict[str, Any]:
    """The recognition metrics of an entry, as ``benchmarks/recognition.py`` measured them."""
    return {**figures, "source": "benchmarks/recognition.py: imagenet-sample-100 (100 photos, MobileNetV2 "
                                 "TFLite), coco128-train (128 photos, Yolo-Fastest-XL)"}


@dataclass(frozen=True)
class Rounded:
    """How an older entry ships: its weights rounded to ``mantissa_bits`` of their 23 mantissa bits
    (:func:`rnncodec.weights_quantise.rounded_file`), a file of SHA-256 ``sha256``, packed alone.
    Files still name the entry's own SHA-256; decoded with the rounded weights they come out within
    a level of what the exact ones give (docs/training.md#room-for-older-weights-rounded-mantissas)."""

    mantissa_bits: int
    sha256: str


@dataclass(frozen=True)
class Weights:
    """A shipped weights file: where it is, its hash, and what it was measured to do (``rounded``:
    how the wheel ships it when not byte for byte, see :class:`Rounded`; the repository keeps the
    file itself)."""

    file: str
    sha256: str
    architecture: str
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    rounded: Optional[Rounded] = None

    @property
    def path(self) -> Path:
        """The weights file.  One shipped packed (``NAME.ptpack``, see :mod:`rnncodec.weights_pack`)
        is unpacked into the user's cache the first time — after its base, when that is shipped
        packed too (a chain: a fine-tune of a fine-tune) — and its path there is returned."""
        return _shipped_path(self, ())

    @property
    def config(self) -> ArchConfig:
        """The registered configuration of the network these weights are for."""
        return get_config(self.architecture)

    @property
    def weights_id(self) -> bytes:
        """What ``.rnc`` headers store: the first 16 bytes of the SHA-256."""
        return weights_id_of(self.sha256)


def shipped_dir() -> Path:
    """The folder of the shipped weights (``weights/``, installed as ``rnncodec._weights``)."""
    return Path(str(resources.files("rnncodec._weights")))


#: The most packs one weights file may be unpacked through: its own, its base's, its base's base…
MAX_PACK_CHAIN = 8


def _shipped_path(value: Weights, chain: tuple[str, ...]) -> Path:
    """The file of a shipped entry: its ``.pt``, else its pack unpacked (``chain``: see :func:`_unpacked`)."""
    shipped = shipped_dir() / value.file
    packed = shipped.with_suffix(PACK_SUFFIX)
    if shipped.is_file() or not packed.is_file():
        return shipped
    return _unpacked(packed, value.file, value.sha256 if value.rounded is None else value.rounded.sha256, chain)


def unpacked_path(packed: Union[str, Path]) -> Path:
    """The weights file the pack ``packed`` (``NAME.ptpack``) holds, unpacked into the cache as
    ``NAME.pt`` (:func:`rnncodec.weights_pack.materialise`); its base is found among the shipped
    entries by its SHA-256, unpacked first when it is packed too.  :class:`PackedWeightsBaseError`
    when that base cannot be had."""
    from .weights_pack import read_pack_header

    packed = Path(packed)
    return _unpacked(packed, packed.with_suffix(".pt").name, read_pack_header(packed)["sha256"], ())


def _unpacked(packed: Path, file: str, sha256: str, chain: tuple[str, ...]) -> Path:
    """``file`` (SHA-256 ``sha256``) from its pack, after its base (none for GRU_S_V4's pack, of
    the file alone); ``chain``: the SHA-256 of the weights being unpacked that wait for this one (a
    loop or more than :data:`MAX_PACK_CHAIN` packs is an error, not a recursion)."""
    from .weights_pack import materialise, read_pack_header

    base_sha256 = read_pack_header(packed)["base_sha256"]
    base_path = None if base_sha256 is None else _base_path(packed, base_sha256, (*chain, sha256))
    return materialise(packed, file, sha256, base_path, list(onnx_paths(packed.with_suffix(".pt")).values()))


def _base_path(packed: Path, base_sha256: str, chain: tuple[str, ...]) -> Path:
    """The file of the pack ``packed``'s base, unpacked first if it is packed too (``chain``: as
    :func:`_unpacked`'s, this pack's weights last)."""
    if base_sha256 in chain:
        loop = " → ".join(digest[:8] for digest in (*chain[chain.index(base_sha256):], base_sha256))
        raise PackedWeightsBaseError(f"{packed.name}: a loop of packs, each packed against the next "
                                     f"({loop}): none can be unpacked")
    if len(chain) > MAX_PACK_CHAIN:
        raise PackedWeightsBaseError(f"{packed.name}: its chain of packs is longer than {MAX_PACK_CHAIN} (at base "
                                     f"weights {base_sha256[:16]}…)")
    member = _entry_of(base_sha256)
    if member is None:
        raise PackedWeightsBaseError(f"{packed.name}: its base weights ({base_sha256[:16]}…) are not shipped")
    base = member.value
    base_path = _shipped_path(base, chain)
    if not base_path.is_file():
        raise PackedWeightsBaseError(f"{packed.name}: its base weights {base.file} are missing from {shipped_dir()}")
    return base_path


def _entry_of(sha256: str) -> Optional["RNCWeights"]:
    """The shipped entry whose file has this SHA-256 (its own name, not the ``DEFAULT`` alias), if any."""
    return next((member for member in RNCWeights if member.value.sha256 == sha256), None)


def identity_sha256(sha256: str) -> str:
    """The SHA-256 that files name for a weights file of SHA-256 ``sha256``: its own, or for an
    entry's rounded file (:class:`Rounded`) the entry's."""
    return next((member.value.sha256 for member in RNCWeights
                 if member.value.rounded is not None and member.value.rounded.sha256 == sha256), sha256)


#: The ONNX graphs made from every weights file: one step of the encoder, one of the decoder, and
#: each one's first step (no state inputs: the cells' ``state=None`` start, as the torch codec runs it).
ONNX_PARTS = ("encoder", "decoder", "encoder-first", "decoder-first")


def onnx_paths(weights_path: Union[str, Path]) -> dict[str, Path]:
    """``{"encoder": NAME.encoder.onnx, "decoder": NAME.decoder.onnx, "encoder-first":
    NAME.encoder-first.onnx, "decoder-first": NAME.decoder-first.onnx}`` beside ``NAME.pt``."""
    path = Path(weights_path)
    return {part: path.with_name(f"{path.stem}.{part}.onnx") for part in ONNX_PARTS}


class RNCWeights(enum.Enum):
    """Shipped weights.  ``DEFAULT`` is an alias of the recommended member."""

    GRU_S_V1 = Weights(
        file="gru-s-542a9a98.pt",
        sha256="542a9a9873c84043f523063b45bb35c642a4654b4ae68401ac7487dabb743c13",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_795,
            steps=2985,
            command=f"{_REPRODUCE} (run r1 at step 2,985, in its third phase)",
            options={"crop": 96, "batch_size": 8, "iterations": 8, "lr": 0.001, "loss": "msssim-psnr",
                     "msssim_weight": 0.5},
            bpp=[0.0865, 0.1888, 0.2974, 0.4088, 0.5209, 0.6318, 0.7421, 0.8512],
            psnr=[22.28, 24.85, 26.11, 26.92, 27.46, 27.84, 28.12, 28.22],
            ms_ssim=[0.827, 0.9065, 0.9362, 0.9503, 0.9595, 0.9659, 0.9704, 0.9726],
        ),
        rounded=Rounded(mantissa_bits=12, sha256="82c0762e0e525cb2249d468142f92b27725f88fdd5128a0248e975e2b6cea063"),
    )
    GRU_S_V2 = Weights(
        file="gru-s-876503c0.pt",
        sha256="876503c0e6167c5fcd8e8a819940cb36d354d77400a55c3fa3bb969fb3b68830",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_847,
            steps=8000,
            command=f"{_REPRODUCE} (run r1: OUT_DIR/gru-s.pt)",
            options=_FINAL_OPTIONS,
            bpp=[0.0863, 0.192, 0.3049, 0.4205, 0.5367, 0.6533, 0.7688, 0.884],
            psnr=[23.45, 25.55, 26.75, 27.62, 28.19, 28.65, 28.95, 29.07],
            ms_ssim=[0.8431, 0.9186, 0.9448, 0.9581, 0.9671, 0.9729, 0.9768, 0.9786],
        ),
        rounded=Rounded(mantissa_bits=12, sha256="cc0a17b450f8d4e8bffef87e4d04a97a4c34bc6d64815ffc871483c2a47115c9"),
    )
    GRU_S_V3 = Weights(
        file="gru-s-152fd80b.pt",
        sha256="152fd80bb32f4abb1b347cc5db0064a05d16ddb3ad969cf1fe2281637a956d18",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_911,
            steps=8000 + 4939,
            command=f"{_REPRODUCE} (run r3 from GRU_S_V2: OUT_DIR/gru-s-v3.pt)",
            options={**_FINAL_OPTIONS, "lr": 0.0005},
            bpp=[0.0872, 0.1939, 0.3077, 0.4239, 0.5412, 0.659, 0.7755, 0.8916],
            psnr=[23.53, 25.69, 26.9, 27.77, 28.36, 28.86, 29.17, 29.33],
            ms_ssim=[0.8473, 0.9216, 0.9467, 0.9596, 0.9686, 0.974, 0.9776, 0.9794],
        ),
        rounded=Rounded(mantissa_bits=12, sha256="2ce9a70675289554f6f52a1d72f7b882caf73e0b5723e0590b8f5eba752aa416"),
    )
    GRU_S_V4 = Weights(
        file="gru-s-cc7e79a7.pt",
        sha256="cc7e79a7363dc2b936a59a0cc4b33448d3f5b3bf5865c0b8c1b6185c6f91b7ad",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_911,
            steps=8000 + 4939 + 3419,
            command=f"{_REPRODUCE} (run r6 from GRU_S_V3: OUT_DIR/gru-s-v4.pt)",
            options={**_FINAL_OPTIONS, "lr": 0.0005, "binarizer": "sign"},
            bpp=[0.0895, 0.2001, 0.3172, 0.4369, 0.557, 0.677, 0.7964, 0.9151],
            psnr=[23.68, 25.99, 27.24, 28.11, 28.73, 29.31, 29.7, 29.88],
            ms_ssim=[0.855, 0.9287, 0.9519, 0.9644, 0.9722, 0.9767, 0.9799, 0.982],
        ),
    )
    GRU_S_V5 = Weights(
        file="gru-s-5158de37.pt",
        sha256="5158de377f593e3edbbe67e12df42d6978a84b9e6db1a4d6f7d500a69f276792",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_876,
            steps=8000 + 4939 + 3419 + 2384 + 5 * 2688 + 2 * 1344,  # GRU_S_V4's, then runs cv8a, cv11–cv17
            command=f"{_REPRODUCE} (runs cv8a, cv11 to cv17 from GRU_S_V4, quantised against it: "
                    "OUT_DIR/gru-s-v5.pt)",
            docs="docs/training.md#a-rate-term-for-the-default-weights-runs-cv1-to-cv17",
            options={"crop": 96, "batch_size": 8, "iterations": 16, "lr": 5e-05, "loss": "msssim-psnr",
                     "msssim_weight": 0.5, "binarizer": "sign", "rate_weight": 0.5, "rate_from": 2,
                     "rate_share_before": 0.5, "iteration_weights": [3.5, 2.5, 2.5, 1.5, 1, 1, 1, 1] + [0.625] * 8},
            bpp=[0.0886, 0.1529, 0.2257, 0.2976, 0.3739, 0.4396, 0.5069, 0.5754, 0.6388, 0.696, 0.7494, 0.8035,
                 0.8562, 0.9095, 0.9535, 0.9985],
            psnr=[23.7, 25.59, 26.72, 27.51, 28.12, 28.68, 29.13, 29.49, 29.67, 29.83, 29.98, 30.11, 30.19, 30.25,
                  30.3, 30.36],
            ms_ssim=[0.8593, 0.9151, 0.9391, 0.9513, 0.9611, 0.9668, 0.9712, 0.975, 0.9777, 0.9793, 0.9804, 0.9815,
                     0.9824, 0.9833, 0.9837, 0.9841],
            recognition=_recognition(top1=[43.0, 55.0, 62.0], map50=[22.4, 29.3, 33.4],
                                     imagenet_kb=[2.33, 4.05, 5.9], coco_kb=[3.2, 5.65, 8.31]),
        ),
    )
    GRU_S_MACHINE_V1 = Weights(
        file="gru-s-f8b35188.pt",
        sha256="f8b351884f76d0be36193032bc5a0aaa9adb71e38a275f4a052cc64e256aa212",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_748,
            steps=533 + 531 + 836,  # runs m2, m3, m4
            command="rnc train runs m2 → m3 → m4 from GRU_S_V4 (docs/training.md), then python -m "
                    "rnncodec.weights_quantise runs/m4/gru-s-machine.pt --base weights/gru-s-cc7e79a7.pt",
            docs="docs/training.md#run-m4-gru_s_machine_v1",
            purpose="recognition on the server (ImageNet classification, COCO detection): GRU_S_V4 "
                    "fine-tuned to keep what a classifier sees; slightly lower PSNR",
            options=_machine_options(batch_size=6, crop=160, lr=0.0002),
            bpp=[0.094, 0.2059, 0.3231, 0.4401, 0.5503, 0.6575, 0.7707, 0.8774],
            psnr=[23.231, 25.7589, 26.9683, 27.7714, 28.2215, 28.5639, 28.8372, 28.8824],
            ms_ssim=[0.845, 0.9237, 0.9463, 0.9601, 0.9656, 0.969, 0.972, 0.9731],
            recognition=_recognition(top1=[43.0, 59.0, 70.0], map50=[21.3, 32.2, 34.4],
                                     imagenet_kb=[2.47, 5.26, 8.18], coco_kb=[3.41, 7.43, 11.64]),
        ),
    )
    GRU_S_MACHINE_V2 = Weights(
        file="gru-s-611a81cd.pt",
        sha256="611a81cddb9f2050af1b016afeb91f89d50ef8e59d6977dd0390b2df43f5eeed",
        architecture="gru-s",
        meta=_gru_s_meta(
            file_bytes=11_404_748,
            steps=1622 + 1363,  # runs g1 (GPU, batch 24), c1 (CPU, batch 4)
            command="scripts/gpu_session.sh scripts/gpu_runs.txt (run g1 from GRU_S_V4 rounded to float16), "
                    "rnc train --init g1.pt (run c1, docs/training.md), then python -m "
                    "rnncodec.weights_quantise c1.pt --base weights/gru-s-cc7e79a7.pt",
            docs="docs/training.md#gpu-run-g1-and-its-cpu-continuation-c1-gru_s_machine_v2",
            purpose="recognition on the server (ImageNet classification, COCO detection): GRU_S_V4 "
                    "fine-tuned on a GPU, then on a CPU, to keep what a classifier sees; the best at "
                    "1 iteration; slightly lower PSNR",
            options=_machine_options(batch_size=4, crop=256, distill_scale=0.6, lr=4e-05),
            bpp=[0.0951, 0.208, 0.3264, 0.4445, 0.5577, 0.6667, 0.7797, 0.8867],
            psnr=[23.2829, 25.6903, 26.9069, 27.7815, 28.216, 28.5902, 28.8821, 28.8499],
            ms_ssim=[0.8461, 0.9242, 0.9466, 0.961, 0.9665, 0.9697, 0.9727, 0.9733],
            recognition=_recognition(top1=[47.0, 61.0, 71.0], map50=[24.1, 33.1, 35.3],
                                     imagenet_kb=[2.49, 5.31, 8.26], coco_kb=[3.45, 7.51, 11.76]),
        ),
    )
    DEFAULT = GRU_S_V5

    @classmethod
    def for_id(cls, weights_id: bytes) -> "RNCWeights | None":
        """The shipped weights a ``.rnc`` header's ``weights_id`` names (16 bytes, or the whole
        SHA-256), or ``None`` if none are shipped."""
        prefix = bytes(weights_id)[:16]
        return next((member for member in cls if member.value.weights_id == prefix), None)

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

    model: "RecurrentCodec"
    sha256: str
    name: str
    meta: dict[str, Any]

    @property
    def config(self) -> ArchConfig:
        return self.model.config

    @property
    def architecture(self) -> str:
        return self.model.config.name

    @property
    def weights_id(self) -> bytes:
        """What ``.rnc`` headers store: the first 16 bytes of the SHA-256."""
        return weights_id_of(self.sha256)


def weights_id_of(sha256: str) -> bytes:
    """The ``weights_id`` of ``.rnc`` headers for a weights file of SHA-256 ``sha256`` (hex)."""
    return bytes.fromhex(sha256)[:16]


def sha256_file(path: Union[str, Path]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_weights(model: "RecurrentCodec", path: Union[str, Path], meta: dict | None = None) -> Path:
    """Write ``model`` as a weights file (fp32, atomically); returns the path.  The bytes depend on
    the model and ``meta`` alone: ``torch.save`` to a file names the zip's folder after the file
    (here a temporary one), so it saves to memory first — the same weights, the same SHA-256."""
    import io

    import torch

    path = Path(path)
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()},
        "meta": dict(meta or {}),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_atomically(path, buffer.getvalue())
    return path


def resolve_weights(weights: Union[None, str, Path, RNCWeights]) -> tuple[Path, str]:
    """(path, display name) of a registry member, a member's name, or a file path — a pack
    (``NAME.ptpack``), or a ``NAME.pt`` that is there only as its pack, is unpacked
    (:func:`unpacked_path`)."""
    if weights is None:
        if "DEFAULT" not in RNCWeights.__members__:
            raise UnknownWeightsError("no default weights are shipped; pass a weights file")
        weights = RNCWeights["DEFAULT"]
    if isinstance(weights, str) and not os.path.exists(weights) and os.sep not in weights:
        weights = RNCWeights.from_name(weights)
    if isinstance(weights, RNCWeights):
        return weights.value.path, weights.name
    path = Path(weights)
    packed = path if path.suffix == PACK_SUFFIX else path.with_suffix(PACK_SUFFIX)
    if path.is_file() and path != packed:
        return path, path.name
    if packed.is_file():  # a pack, or a shipped file shipped as its pack: unpacked through its base
        return unpacked_path(packed), path.name
    raise UnknownWeightsError(f"weights file not found: {path}")


def load_weights(weights: Union[None, str, Path, RNCWeights] = None) -> LoadedWeights:
    """Load a model from shipped weights (member or name) or a weights file, for inference."""
    path, name = resolve_weights(weights)
    return _load(str(path.resolve()), name, path.stat().st_mtime_ns)


def read_weights_file(path: Union[str, Path]) -> tuple[ArchConfig, dict[str, "torch.Tensor"], dict[str, Any]]:
    """The configuration, state dict and meta stored in a weights file (``weights_only`` loading)."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, …: all mean "not a weights file"
        raise UnknownWeightsError(f"{path}: not a loadable rnncodec weights file ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UnknownWeightsError(f"{path}: not an rnncodec weights file")
    try:
        config = ArchConfig.from_dict(payload["config"])
        state_dict, meta = payload["state_dict"], payload.get("meta", {})
        if not isinstance(meta, dict):
            raise TypeError(f"meta is a {type(meta).__name__}, not a dict")
    except Exception as exc:  # a missing or malformed config or meta: one line, no traceback
        raise _malformed(path, exc) from None
    return config, state_dict, meta


def _malformed(path: Union[str, Path], exc: Exception) -> UnknownWeightsError:
    detail = " ".join(str(exc).split())[:200] or type(exc).__name__
    return UnknownWeightsError(f"{path}: a malformed rnncodec weights file ({type(exc).__name__}: {detail})")


@lru_cache(maxsize=4)
def _load(path: str, name: str, mtime_ns: int) -> LoadedWeights:
    from .model import RecurrentCodec

    config, state_dict, meta = read_weights_file(path)
    model = RecurrentCodec(config)
    try:
        model.load_state_dict(state_dict)
    except Exception as exc:  # a state dict of another network, or not a dict of tensors
        raise _malformed(path, exc) from None
    model.eval().requires_grad_(False)
    return LoadedWeights(model=model, sha256=identity_sha256(sha256_file(path)), name=name, meta=meta)


def describe_shipped() -> list[dict[str, Any]]:
    """One dict per shipped weights (``rnc models``, docs/weights.md): name, file, hash, recipe, metrics."""
    default = RNCWeights.__members__.get("DEFAULT")
    rows = []
    for name, member in RNCWeights.__members__.items():
        if name == "DEFAULT":
            continue
        value = member.value
        rows.append({"name": name, "default": member is default, "recognition_default": name == RECOGNITION_WEIGHTS,
                     "file": value.file, "sha256": value.sha256,
                     "architecture": value.architecture, **value.meta, **_packed(value)})
    return rows


def _packed(value: Weights) -> dict[str, Any]:
    """``{"packed": {file, bytes, base[, step][, mantissa_bits, rounded_sha256]}}`` for an entry
    shipped as a pack (``step``: the quantisation step of weights defined as their base plus whole
    steps; ``mantissa_bits``: see :class:`Rounded`), else ``{}``."""
    pack = (shipped_dir() / value.file).with_suffix(PACK_SUFFIX)
    if not pack.is_file():
        return {}
    from .weights_pack import read_pack_header

    header = read_pack_header(pack)
    base = None
    if header["base_sha256"] is not None:
        member = _entry_of(header["base_sha256"])
        base = header["base_sha256"][:16] if member is None else member.name
    step = next((step for _, _, step in header["segments"] if step is not None), None)
    rounded = {} if value.rounded is None else {"mantissa_bits": value.rounded.mantissa_bits,
                                                "rounded_sha256": value.rounded.sha256}
    return {"packed": {"file": pack.name, "bytes": pack.stat().st_size, "base": base,
                       **({"step": step} if step is not None else {}), **rounded}}


def _packed_line(packed: dict[str, Any]) -> str:
    if "step" in packed:
        how = (f"{packed['base']} plus whole multiples of {_float32_text(packed['step'])} per weight, the integers "
               f"entropy-coded")
    else:
        how = "alone, losslessly" if packed["base"] is None else f"its lossless difference from {packed['base']}"
        if "mantissa_bits" in packed:
            how = (f"alone, every weight rounded to {packed['mantissa_bits']} mantissa bits: a file of sha256 "
                   f"`{packed['rounded_sha256'][:16]}…` that files still name as this one")
    return (f"- shipped packed: `weights/{packed['file']}` ({packed['bytes']:,} bytes, {how}; unpacked into the "
            f"cache when first needed)")


def _float32_text(value: float) -> str:
    """The shortest decimal of a float32 (``0.002``, not ``0.0020000000949949026``)."""
    import numpy as np

    return str(np.float32(value))


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
        recipe = row["recipe"]
        options = ", ".join(f"{key} {_option_text(value)}" for key, value in recipe["options"].items())
        lines += [
            f"## {row['name']}{' (default)' if row['default'] else ''}",
            "",
            f"- file: `weights/{row['file']}` ({row['file_bytes']:,} bytes), sha256 `{row['sha256']}`",
            *([_packed_line(row["packed"])] if row.get("packed") else []),
            *([f"- for: {row['purpose']}"] if row.get("purpose") else []),
            f"- architecture: `{row['architecture']}`, {row['num_params']:,} parameters",
            f"- recipe: `{recipe['command']}`, {recipe['steps']:,} steps "
            f"([how it was made]({recipe['docs'].removeprefix('docs/')}))",
            f"- trained on: {', '.join(recipe['training_data'])}; validated on {recipe['validation_data']}",
            f"- training options: {options}",
            "",
        ]
        kodak = row["metrics"].get("kodak")
        if kodak:
            lines += ["| iterations | bpp (file) | PSNR-RGB dB | MS-SSIM |", "|---|---|---|---|"]
            for k, (bpp, db, ssim) in enumerate(zip(kodak["bpp"], kodak["psnr"], kodak["ms_ssim"]), 1):
                lines.append(f"| {k} | {bpp:.3f} | {db:.2f} | {ssim:.4f} |")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _option_text(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


if __name__ == "__main__":
    print(weights_markdown(), end="")
