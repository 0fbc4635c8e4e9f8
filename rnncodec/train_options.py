"""What a training run depends on (:class:`TrainOptions`), importable without torch: ``rnc train``
reads its defaults and choices here, :func:`rnncodec.train.train` runs it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

from .choices import BINARIZERS, DISTILL_TARGETS, LOSSES, MAX_ITERATIONS, MIN_MSSSIM_SIDE

__all__ = ["TrainOptions"]


@dataclass
class TrainOptions:
    """Everything a run depends on; stored in its checkpoint and in the weights file."""

    data: Sequence[str | Path]
    out: str | Path
    config: str = "gru-s"
    val: Optional[str | Path] = None
    steps: int = 30000
    minutes: Optional[float] = None
    stop_at: Optional[int] = None
    batch_size: int = 8
    crop: int = 128
    iterations: int = 8
    lr: float = 1e-3
    lr_final: float = 1e-5
    warmup: int = 200
    loss: str = "msssim-psnr"
    msssim_weight: float = 0.5
    balance_iterations: bool = True
    iteration_weights: Optional[Sequence[float]] = None
    binarizer: str = "stochastic"
    stop_masks: float = 0.0
    distill: Optional[str | Path] = None
    distill_weight: float = 1.0
    distill_iterations: int = 3
    distill_scale: float = 1.0  # the classifier sees images resized by this factor (its own preprocessing's scale)
    distill_target: str = DISTILL_TARGETS[0]
    rate_weight: float = 0.0  # weight of coder 2's estimated bits (rnncodec.code_rate), logarithmic
    rate_from: int = 1  # the rate term counts iterations rate_from… (earlier codes: context only)
    rate_share_before: float = 0.0  # the share of the rate term's gradient the codes before rate_from get
    grad_clip: float = 1.0
    bf16: Optional[bool] = None  # None: bfloat16 autocast where it is fast (CUDA, CPUs with AVX-512 BF16/AMX)
    device: str = "cpu"
    seed: int = 0
    threads: Optional[int] = None
    checkpoint: Optional[str | Path] = None
    checkpoint_minutes: float = 10.0
    checkpoint_steps: Optional[int] = None
    val_every: int = 1000
    val_images: int = 20
    log: Optional[str | Path] = None
    resume: bool = False
    init: Optional[str | Path] = None
    progress: bool = True
    extra_meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.binarizer not in BINARIZERS:
            raise ValueError(f"binarizer must be one of {BINARIZERS}, got {self.binarizer!r}")
        if not 1 <= self.iterations <= MAX_ITERATIONS:
            raise ValueError(f"iterations must be in 1…{MAX_ITERATIONS}, got {self.iterations}")
        if self.iteration_weights is not None:
            self.iteration_weights = [float(w) for w in self.iteration_weights]
            if len(self.iteration_weights) != self.iterations or min(self.iteration_weights) < 0 \
                    or sum(self.iteration_weights) <= 0:
                raise ValueError(f"iteration weights need {self.iterations} non-negative values, not all zero")
        if not 0 <= self.stop_masks <= 1:
            raise ValueError(f"stop masks must be a share in 0…1, got {self.stop_masks}")
        if self.distill_weight < 0:
            raise ValueError(f"distill weight must be ≥ 0, got {self.distill_weight}")
        if not 1 <= self.distill_iterations <= (self.iterations if self.distill else MAX_ITERATIONS):
            raise ValueError(f"distill iterations must be in 1…{self.iterations}, got {self.distill_iterations}")
        if not 0.1 <= self.distill_scale <= 1:
            raise ValueError(f"distill scale must be in 0.1…1, got {self.distill_scale}")
        if self.distill_target not in DISTILL_TARGETS:
            raise ValueError(f"distill target must be one of {DISTILL_TARGETS}, got {self.distill_target!r}")
        if self.rate_weight < 0:
            raise ValueError(f"rate weight must be ≥ 0, got {self.rate_weight}")
        if not 1 <= self.rate_from <= self.iterations:
            raise ValueError(f"rate from must be an iteration in 1…{self.iterations}, got {self.rate_from}")
        if self.rate_from > 1 and not self.rate_weight:
            raise ValueError("rate from needs a rate term (a rate weight above 0)")
        if not 0 <= self.rate_share_before <= 1:
            raise ValueError(f"rate share before must be a share in 0…1, got {self.rate_share_before}")
        if self.rate_share_before and self.rate_from == 1:
            raise ValueError("rate share before needs a later first counted iteration (rate from 2 or more)")
        if self.iteration_weights is not None and not sum(self.iteration_weights[self.rate_from - 1:]):
            raise ValueError(f"the rate term from iteration {self.rate_from} needs a non-zero iteration weight there")
        if self.crop % 16:
            raise ValueError(f"crop must be a multiple of 16, got {self.crop}")
        if self.loss.startswith("msssim") and self.crop < MIN_MSSSIM_SIDE:
            raise ValueError(f"the {self.loss} loss needs crops of at least {MIN_MSSSIM_SIDE} pixels, got {self.crop}")
        self.out = Path(self.out)
        self.checkpoint = Path(self.checkpoint) if self.checkpoint else self.out.with_suffix(".ckpt")
        self.log = Path(self.log) if self.log else self.out.with_suffix(".jsonl")

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        return json.loads(json.dumps(data, default=str))
