"""Adapting a recognizer to the codec: fine-tuning on decoded images (``rnc finetune``).

The paper's best results come from recognizers trained on compressed images.  This module trains a
:class:`~.trainable.Trainable` (a recognizer's torch module) on photos decoded from ``.rnc`` files,
with labels or without:

- **Data.** The photos are encoded once and decoded at every iteration count asked for
  (:func:`~.decoded_cache.build_decoded_cache`, cached on disk and resumable; the codec is the
  expensive part).  Each training sample is a photo, an iteration count ``k`` drawn from
  ``iterations``, and one random resized crop and flip applied to *both* the original and its
  decoding at ``k`` — so the two stay pixel-aligned.  With probability ``original_share`` the
  network is shown the original instead, so that it keeps its accuracy on originals.
- **Without labels** (distillation): the frozen starting network on the original crop is the
  teacher (computed once per crop).  Classification: KL divergence between the softened class
  distributions (``temperature``).  Detection: the teacher's detections scoring at least
  ``score_threshold`` are the boxes the student learns to find in the decoded crop.
- **With labels**: cross-entropy on the class of each photo (classification, optionally mixed with
  distillation: ``distill_weight``), or the detector's own losses on the ground-truth boxes.
- **Validation**: a share of the photos (``val_fraction``) is held out; before training, every
  ``val_every`` steps and at the end, the network is scored on their originals and decodings —
  top-1 accuracy (labelled) or top-1 agreement with the teacher on the original (label-free);
  detection: mAP@0.5 against the ground truth or against the teacher's boxes on the original.
- **Checkpoints**: ``<out>.ckpt`` beside the output (:func:`checkpoint_path`), written every
  ``checkpoint_every`` steps, every ``checkpoint_minutes`` and when stopped (Ctrl-C or SIGTERM end the
  step under way, save and raise ``KeyboardInterrupt``); with
  ``resume=True`` a run continues from it and ends in the state an uninterrupted run reaches (same
  machine and thread count): the checkpoint holds the network, the optimizer, the step and the
  random states.

The output is the network's state dict, which ``rnc classify/detect/serve --weights`` (and
``Recognizer(weights=...)``) load as it is.  Example — label-free adaptation of ResNet-50 to two
iterations::

    >>> from rnncodec.recognition import load_recognizer                                 # doctest: +SKIP
    >>> from rnncodec.recognition.finetune import finetune_classifier
    >>> trainable = load_recognizer("resnet50").trainable()
    >>> finetune_classifier(trainable, photos, "cache/", iterations=[2], steps=2000, out="resnet50-n2.pth")
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, Sequence, Union

import numpy as np

from ..atomic import atomic_path
from .datasets import Box, _oriented_size
from .errors import DatasetError, RecognitionError
from .trainable import Trainable, class_index

if TYPE_CHECKING:
    import torch
    from PIL import Image

__all__ = ["finetune_classifier", "finetune_detector", "FinetuneReport", "FinetuneError", "checkpoint_path",
           "CHECKPOINT_SUFFIX", "MAX_VAL_PHOTOS"]

#: The checkpoint of ``out`` is ``out`` + this suffix, beside it.
CHECKPOINT_SUFFIX = ".ckpt"
#: Validation photos kept at most (their crops are held in memory).
MAX_VAL_PHOTOS = 500
#: The central share of the short side a classification validation crop covers (ImageNet's 224/256).
_CENTRE_CROP = 224 / 256

PathLike = Union[str, os.PathLike]


class FinetuneError(RecognitionError):
    """A fine-tuning run that cannot start or continue: no checkpoint to resume, one made with
    other settings, a network with nothing to train."""


@dataclass(frozen=True)
class FinetuneReport:
    """What a run did.

    Attributes:
        out: the state dict file written.
        checkpoint: the checkpoint beside it.
        steps: training steps done in all (resumed runs included).
        seconds: training time in all.
        history: one entry per validation: ``{"step", "metric", "original", "decoded": {k: value}}``.
    """

    out: Path
    checkpoint: Path
    steps: int
    seconds: float
    history: list = field(default_factory=list)


def checkpoint_path(out: PathLike) -> Path:
    """The checkpoint file of the output ``out`` (``out`` + :data:`CHECKPOINT_SUFFIX`)."""
    out = Path(out)
    return out.with_name(out.name + CHECKPOINT_SUFFIX)


# -- data: photos, their decodings, paired crops --------------------------------------------------------


@dataclass(frozen=True)
class _Photo:
    source: Path
    decoded: Mapping[int, Path]
    size: tuple[int, int]


@dataclass(frozen=True)
class _Draw:
    """One training sample's random choices (drawn in the main thread, so runs are reproducible)."""

    photo: int
    k: int
    original: bool
    box: tuple[int, int, int, int]
    flip: bool


def _load(path: Path) -> "Image.Image":
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def _crop(image: "Image.Image", box: Sequence[float], size: int, flip: bool) -> "torch.Tensor":
    """``box`` of ``image`` resized to ``size``×``size`` (bilinear, antialiased): uint8 CHW."""
    import torch
    from PIL import Image

    array = np.array(image.resize((size, size), Image.BILINEAR, box=tuple(box)))  # a writable copy
    tensor = torch.from_numpy(array).permute(2, 0, 1)
    return tensor.flip(-1) if flip else tensor


def _crop_box(rng: np.random.Generator, width: int, height: int, scale: tuple[float, float],
              ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """A random box covering a share in ``scale`` of the image, aspect ratio in ``ratio``
    (torchvision's RandomResizedCrop); the central square when ten draws do not fit."""
    for _ in range(10):
        target = width * height * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            return x0, y0, x0 + w, y0 + h
    return _centre_box(width, height, 1.0)


def _centre_box(width: int, height: int, share: float) -> tuple[int, int, int, int]:
    side = max(1, round(min(width, height) * share))
    x0, y0 = (width - side) // 2, (height - side) // 2
    return x0, y0, x0 + side, y0 + side


def _photos(photos: Sequence[PathLike], cache: PathLike, iterations: Sequence[int], codec_weights: Optional[str],
            ray: Optional[str], progress: bool) -> list[_Photo]:
    """The photos with their decodings (cached), and their sizes."""
    from PIL import Image, UnidentifiedImageError

    from .decoded_cache import build_decoded_cache

    if not photos:
        raise DatasetError("no photos to train on")
    cached = build_decoded_cache([Path(p) for p in photos], Path(cache), sorted(set(iterations)),
                                 codec_weights=codec_weights, ray=ray, progress=progress)
    result = []
    for entry in cached:
        try:
            with Image.open(entry.source) as image:
                size = _oriented_size(image)
        except (OSError, UnidentifiedImageError) as exc:
            raise DatasetError(f"{entry.source}: cannot read the photo ({type(exc).__name__})") from None
        result.append(_Photo(entry.source, dict(entry.decoded), size))
    return result


def _split(count: int, val_fraction: float, seed: int, held_out: int = 0) -> tuple[list[int], list[int]]:
    """Photo indices for training and validation: the last ``held_out`` photos when given (the
    ``val_photos``), else a seeded shuffle's ``val_fraction`` (at least one photo left to train on)."""
    if held_out:
        return list(range(count - held_out)), list(range(count - held_out, count))[:MAX_VAL_PHOTOS]
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed + 1).permutation(count).tolist()
    held = min(round(count * val_fraction), count - 1, MAX_VAL_PHOTOS) if val_fraction else 0
    return sorted(order[held:]), sorted(order[:held])


def _held_out(val_photos: list) -> dict:
    """The checkpoint fingerprint's entry for ``val_photos`` (none without them: older checkpoints resume)."""
    return {"val_photos": len(val_photos)} if val_photos else {}


def _load_pairs(photos: Sequence[_Photo], draws: Sequence[_Draw], size: int,
                pool: ThreadPoolExecutor) -> list[tuple["torch.Tensor", "torch.Tensor"]]:
    """(original crop, what the student sees) per draw, uint8 CHW; loaded in threads."""

    def one(draw: _Draw):
        photo = photos[draw.photo]
        original = _crop(_load(photo.source), draw.box, size, draw.flip)
        if draw.original:
            return original, original
        decoded = _load(photo.decoded[draw.k])
        if decoded.size != photo.size:
            raise DatasetError(f"{photo.decoded[draw.k]}: {decoded.size[0]}×{decoded.size[1]}, but the photo "
                               f"{photo.source} is {photo.size[0]}×{photo.size[1]} (a stale cache?)")
        return original, _crop(decoded, draw.box, size, draw.flip)

    return list(pool.map(one, draws))


def _float(batch: Sequence["torch.Tensor"], device: "torch.device") -> "torch.Tensor":
    import torch

    return torch.stack(list(batch)).to(device).float().div_(255).contiguous(memory_format=torch.channels_last)


# -- the training loop both tasks share ----------------------------------------------------------------


@dataclass
class _Task:
    """What differs between classification and detection: the loss of a batch of draws, the
    validation of the student, and the settings that must not change on resume."""

    loss: Callable[[list[_Draw], ThreadPoolExecutor], "torch.Tensor"]
    validate: Callable[[], dict]
    fingerprint: dict
    scale: tuple[float, float]


class _StopRequest:
    """Ctrl-C and SIGTERM (in the main thread) ask the loop to stop after the current step; a
    second one stops it at once."""

    def __init__(self) -> None:
        import signal
        import threading

        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._request)

    def _request(self, signum, frame) -> None:
        if self.requested:  # asked twice: stop now
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _cosine(lr: float, step: int, steps: int) -> float:
    """Cosine decay from ``lr`` to 5 % of it over the run."""
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, steps) / max(steps, 1))))


def _train_mode(module: "torch.nn.Module", train_batchnorm: bool) -> None:
    """Train mode, batch-norm statistics frozen unless ``train_batchnorm`` (small batches)."""
    from torch import nn

    module.train()
    if not train_batchnorm:
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()


def _describe(entry: dict) -> str:
    percent = "mAP" not in entry["metric"]
    fmt = (lambda v: f"{100 * v:.1f} %") if percent else (lambda v: f"{v:.3f}")
    parts = [f"original {fmt(entry['original'])}"] + [f"n={k} {fmt(v)}" for k, v in entry["decoded"].items()]
    return f"step {entry['step']}: {entry['metric']}: " + ", ".join(parts)


def _default_log(line: str) -> None:
    from tqdm import tqdm

    tqdm.write(line)


def _run(trainable: Trainable, photos: list[_Photo], train: list[int], task: _Task, *, out: PathLike,
         iterations: Sequence[int], steps: int, batch_size: int, lr: float, original_share: float, seed: int,
         val_every: int, checkpoint_every: int, checkpoint_minutes: float, resume: bool, device: str,
         train_batchnorm: bool, progress: bool, log: Optional[Callable[[str], None]],
         on_step: Optional[Callable[[int, float], None]]) -> FinetuneReport:
    import torch
    from tqdm import tqdm

    out = Path(out)
    checkpoint = checkpoint_path(out)
    student = trainable.module
    parameters = [p for p in student.parameters() if p.requires_grad]
    if not parameters:
        raise FinetuneError("the network has no trainable parameters (are its weights buffers?)")
    optimizer = torch.optim.Adam(parameters, lr=lr)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    fingerprint = {**task.fingerprint, "iterations": sorted(set(iterations)), "batch_size": batch_size,
                   "original_share": original_share, "seed": seed,
                   "photos": hashlib.sha256("\n".join(str(p.source) for p in photos).encode()).hexdigest()[:16]}
    step, elapsed, history = 0, 0.0, []
    if resume:
        if not checkpoint.is_file():
            raise FinetuneError(f"cannot resume: no checkpoint at {checkpoint}")
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        changed = [k for k in fingerprint if state["fingerprint"].get(k) != fingerprint[k]]
        if changed:
            raise FinetuneError(f"{checkpoint} was made with other settings ({', '.join(changed)}): "
                                "start over without resuming, or use the same settings")
        student.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        step, elapsed, history = state["step"], state["elapsed"], list(state["history"])
    log = log if log is not None else (lambda line: None)

    def validate() -> None:
        entry = {"step": step, **task.validate()}
        history.append(entry)
        log(_describe(entry))

    def save(rng_state: dict, torch_rng: "torch.Tensor") -> None:
        with atomic_path(checkpoint) as tmp:
            torch.save({"model": trainable.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                        "elapsed": elapsed, "rng": rng_state, "torch_rng": torch_rng, "history": history,
                        "fingerprint": fingerprint}, tmp)

    if val_every and not history:
        validate()  # the starting point
    bar = tqdm(total=steps, initial=min(step, steps), unit="step", disable=not progress, dynamic_ncols=True,
               mininterval=1.0 if os.isatty(2) else 30.0)
    last_checkpoint = time.monotonic()
    running = None
    pool = ThreadPoolExecutor(max_workers=min(8, batch_size, os.cpu_count() or 1))
    rng_state, torch_rng = rng.bit_generator.state, torch.get_rng_state()
    stop = _StopRequest()
    try:
        while step < steps:
            if stop.requested:
                raise KeyboardInterrupt
            rng_state, torch_rng = rng.bit_generator.state, torch.get_rng_state()  # a step's starting state
            started = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = _cosine(lr, step, steps)
            draws = []
            for index in rng.integers(0, len(train), batch_size).tolist():
                photo = photos[train[index]]
                draws.append(_Draw(train[index], int(rng.choice(iterations)), bool(rng.random() < original_share),
                                   _crop_box(rng, *photo.size, task.scale), bool(rng.random() < 0.5)))
            _train_mode(student, train_batchnorm)
            loss = task.loss(draws, pool)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            elapsed += time.perf_counter() - started
            value = float(loss.detach())
            running = value if running is None else 0.95 * running + 0.05 * value
            bar.set_postfix(loss=f"{running:.4f}", refresh=False)
            bar.update(1)
            rng_state, torch_rng = rng.bit_generator.state, torch.get_rng_state()
            if on_step:
                on_step(step, value)
            if val_every and (step % val_every == 0 or step == steps):
                validate()
            if (checkpoint_every and step % checkpoint_every == 0) or \
                    time.monotonic() - last_checkpoint > checkpoint_minutes * 60:
                save(rng_state, torch_rng)
                last_checkpoint = time.monotonic()
    except KeyboardInterrupt:
        bar.close()
        save(rng_state, torch_rng)
        raise KeyboardInterrupt(f"stopped at step {step}; checkpoint saved to {checkpoint} (resume to continue)") \
            from None
    finally:
        pool.shutdown()
        stop.restore()
    bar.close()
    save(rng_state, torch_rng)
    with atomic_path(out) as tmp:
        torch.save(trainable.state_dict(), tmp)
    return FinetuneReport(out, checkpoint, step, round(elapsed, 1), history)


def _check(steps: int, batch_size: int, lr: float, original_share: float, iterations: Sequence[int]) -> list[int]:
    if steps < 0 or batch_size < 1 or lr <= 0 or not 0 <= original_share <= 1:
        raise ValueError("steps ≥ 0, batch_size ≥ 1, lr > 0 and original_share in [0, 1] are required")
    iterations = [int(k) for k in ([iterations] if isinstance(iterations, int) else iterations)]
    if not iterations or min(iterations) < 1:
        raise ValueError(f"iterations must be counts ≥ 1, got {iterations}")
    return iterations


# -- classification -----------------------------------------------------------------------------------


def finetune_classifier(trainable: Trainable, photos: Sequence[PathLike], cache: PathLike, *, out: PathLike,
                        iterations: Union[int, Sequence[int]] = (2,), steps: int = 1000, batch_size: int = 16,
                        lr: float = 5e-5, labels: Optional[Mapping[PathLike, int]] = None,
                        distill_weight: Optional[float] = None, temperature: float = 2.0,
                        original_share: float = 0.25, crop_scale: tuple[float, float] = (0.35, 1.0),
                        input_size: Optional[int] = None, val_fraction: float = 0.1,
                        val_photos: Optional[Sequence[PathLike]] = None, val_every: int = 100,
                        checkpoint_every: int = 500, checkpoint_minutes: float = 10.0, resume: bool = False,
                        codec_weights: Optional[str] = None, ray: Optional[str] = None, device: str = "cpu",
                        train_batchnorm: bool = False, seed: int = 0, progress: bool = True,
                        log: Optional[Callable[[str], None]] = _default_log,
                        on_step: Optional[Callable[[int, float], None]] = None) -> FinetuneReport:
    """Fine-tune a classifier on decoded images; write its state dict to ``out`` (see the module docstring).

    Args:
        trainable: the network (:meth:`Recognizer.trainable`, or a :class:`Trainable` made by hand),
            trained in place, starting from its current weights (which also make the teacher).
        photos: the training photos (originals; any format Pillow reads).
        cache: folder of the decoded-image cache (shared by runs; made once per codec weights).
        out: the state dict file to write (replaced if it exists); ``out.ckpt`` is the checkpoint.
        iterations: the iteration counts to train on, one drawn per sample (``[2]``: one model for
            2 iterations; ``[1, 2, 3]``: one model for all three).
        steps, batch_size, lr: training length, photos per step, Adam's learning rate (cosine decay
            to 5 % of it).
        labels: photo → class index (its position in ``trainable.labels``); ``None``: label-free.
        distill_weight: weight of the distillation loss (default: 1 without labels, 0 with them:
            plain cross-entropy; set it to mix the two).
        temperature: softening of both class distributions in the distillation loss.
        original_share: probability that a sample shows the original instead of a decoding.
        crop_scale: share of the photo a random crop covers.
        input_size: crop side (default: ``trainable.input_size``).
        val_fraction: share of the photos held out for validation (at most :data:`MAX_VAL_PHOTOS`).
        val_photos: validation photos of their own instead (never trained on; ``val_fraction`` is
            then ignored; with ``labels``/``truth`` they need theirs too).
        val_every: validate every this many steps (0: never).
        checkpoint_every, checkpoint_minutes: checkpoint every this many steps / minutes.
        resume: continue from the checkpoint (same photos and settings; ``steps`` may grow).
        codec_weights: the codec's weights (registry name or file; ``None``: the default).
        ray: build the cache on Ray Data (``"local"`` or an address); ``None``: in this process.
        device: torch device for training.
        train_batchnorm: update batch-norm statistics (default: frozen, right for small batches).
        seed: seeds the sampling and the split.
        progress: a tqdm bar on stderr.
        log: called with each validation line (default: printed above the bar; ``None``: silent).
        on_step: called after every step with the step number and its loss.

    Raises:
        DatasetError: no photos, an unreadable photo, a photo without a label.
        FinetuneError: nothing to resume, a checkpoint of other settings, nothing trainable.
    """
    import torch
    from torch.nn import functional as F

    iterations = _check(steps, batch_size, lr, original_share, iterations)
    if trainable.task != "classification":
        raise FinetuneError(f"finetune_classifier needs a classifier, got a {trainable.task} network")
    size = input_size or trainable.input_size
    val_photos = list(val_photos or [])
    data = _photos([*photos, *val_photos], cache, iterations, codec_weights, ray, progress)
    targets = None
    if labels is not None:
        by_path = {os.path.normpath(os.fspath(p)): int(c) for p, c in labels.items()}
        missing = [p.source for p in data if os.path.normpath(os.fspath(p.source)) not in by_path]
        if missing:
            raise DatasetError(f"{len(missing)} photos have no label (first: {missing[0]})")
        targets = [by_path[os.path.normpath(os.fspath(p.source))] for p in data]
    distill_weight = (0.0 if labels is not None else 1.0) if distill_weight is None else distill_weight
    if labels is None and not distill_weight:
        raise ValueError("without labels, distill_weight must be > 0 (distillation is the only loss)")
    train, val = _split(len(data), val_fraction, seed, len(val_photos))
    device_ = torch.device(device)
    student = trainable.module.to(device_).to(memory_format=torch.channels_last)
    teacher = copy.deepcopy(student).eval().requires_grad_(False)
    normalize = trainable.normalize

    def loss(draws: list[_Draw], pool: ThreadPoolExecutor) -> torch.Tensor:
        pairs = _load_pairs(data, draws, size, pool)
        inputs = _float([p[1] for p in pairs], device_)
        logits = student(normalize(inputs)).float()
        total = logits.new_zeros(())
        if distill_weight:
            with torch.no_grad():
                teacher_logits = teacher(normalize(_float([p[0] for p in pairs], device_))).float()
            kl = F.kl_div(F.log_softmax(logits / temperature, 1), F.log_softmax(teacher_logits / temperature, 1),
                          log_target=True, reduction="batchmean")
            total = total + distill_weight * temperature ** 2 * kl
        if targets is not None:
            classes = torch.tensor([targets[d.photo] for d in draws], device=device_)
            total = total + F.cross_entropy(logits, classes)
        return total

    held = _classification_validation(data, val, iterations, size, targets)
    reference: dict[str, Any] = {}

    @torch.inference_mode()
    def top1(network: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
        answers = [network(normalize(_float(images[i:i + batch_size], device_))).argmax(1).cpu()
                   for i in range(0, len(images), batch_size)]
        return torch.cat(answers)

    def validate() -> dict:
        metric = "top-1 accuracy" if targets is not None else "top-1 agreement with the original"
        if not held:
            return {"metric": metric, "original": float("nan"), "decoded": {}}
        if "answers" not in reference:  # the teacher's answer on each original, once
            reference["answers"] = held["labels"] if targets is not None else top1(teacher, held["original"])
        student.eval()
        score = lambda images: float((top1(student, images) == reference["answers"]).float().mean())
        return {"metric": metric, "original": score(held["original"]),
                "decoded": {k: score(held[k]) for k in sorted(set(iterations))}}

    task = _Task(loss, validate, {"task": "classification", "labelled": targets is not None,
                                  "val_fraction": val_fraction, "input_size": size,
                                  **_held_out(val_photos)}, crop_scale)
    return _run(trainable, data, train, task, out=out, iterations=iterations, steps=steps, batch_size=batch_size,
                lr=lr, original_share=original_share, seed=seed, val_every=val_every,
                checkpoint_every=checkpoint_every, checkpoint_minutes=checkpoint_minutes, resume=resume,
                device=device, train_batchnorm=train_batchnorm, progress=progress, log=log, on_step=on_step)


def _classification_validation(data: list[_Photo], val: list[int], iterations: Sequence[int], size: int,
                               targets: Optional[list[int]]) -> dict:
    """Centre crops (ImageNet's 224/256 of the short side) of the held-out originals and decodings, uint8."""
    import torch

    if not val:
        return {}
    held: dict[Any, Any] = {}
    for key in ["original", *sorted(set(iterations))]:
        crops = []
        for index in val:
            photo = data[index]
            path = photo.source if key == "original" else photo.decoded[key]
            crops.append(_crop(_load(path), _centre_box(*photo.size, _CENTRE_CROP), size, False))
        held[key] = torch.stack(crops)
    if targets is not None:
        held["labels"] = torch.tensor([targets[i] for i in val])
    return held


# -- detection ----------------------------------------------------------------------------------------


def _boxes_in_crop(boxes: np.ndarray, box: Sequence[int], size: int, flip: bool,
                   min_visible: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """``boxes`` (N×4, pixels of the photo) in the ``size``×``size`` crop of ``box``: (boxes, kept),
    keeping those with at least ``min_visible`` of their area inside and a side of 1 pixel or more."""
    x0, y0, x1, y1 = box
    clipped = np.stack([boxes[:, 0].clip(x0, x1), boxes[:, 1].clip(y0, y1),
                        boxes[:, 2].clip(x0, x1), boxes[:, 3].clip(y0, y1)], 1) if len(boxes) else boxes
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    visible = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    scale = np.array([size / (x1 - x0), size / (y1 - y0)] * 2)
    moved = (clipped - np.array([x0, y0, x0, y0])) * scale
    keep = (visible >= min_visible * np.maximum(area, 1e-9)) & (moved[:, 2] - moved[:, 0] >= 1) & \
        (moved[:, 3] - moved[:, 1] >= 1)
    if flip:
        moved = np.stack([size - moved[:, 2], moved[:, 1], size - moved[:, 0], moved[:, 3]], 1)
    return moved[keep], keep


def finetune_detector(trainable: Trainable, photos: Sequence[PathLike], cache: PathLike, *, out: PathLike,
                      iterations: Union[int, Sequence[int]] = (2,), steps: int = 1000, batch_size: int = 8,
                      lr: float = 5e-5, truth: Optional[Mapping[PathLike, Sequence[Box]]] = None,
                      score_threshold: float = 0.5, max_boxes: int = 100, original_share: float = 0.25,
                      crop_scale: tuple[float, float] = (0.5, 1.0), input_size: Optional[int] = None,
                      val_fraction: float = 0.1, val_photos: Optional[Sequence[PathLike]] = None,
                      val_every: int = 100, checkpoint_every: int = 500,
                      checkpoint_minutes: float = 10.0, resume: bool = False, codec_weights: Optional[str] = None,
                      ray: Optional[str] = None, device: str = "cpu", train_batchnorm: bool = False, seed: int = 0,
                      progress: bool = True, log: Optional[Callable[[str], None]] = _default_log,
                      on_step: Optional[Callable[[int, float], None]] = None) -> FinetuneReport:
    """Fine-tune a torchvision detector on decoded images; write its state dict to ``out``.

    Arguments as :func:`finetune_classifier`, and:

    Args:
        trainable: a detection :class:`Trainable` (e.g. ``load_recognizer("mobilenet-ssd").trainable()``).
        truth: photo → its ground-truth boxes (:func:`~.datasets.read_annotations`; names matched to
            ``trainable.labels``, VOC names to their COCO classes; ignored boxes left out);
            ``None``: label-free, the teacher's detections on the original are the boxes.
        score_threshold: label-free: the lowest teacher score that makes a box.
        max_boxes: label-free: at most this many boxes per crop (the highest scores).

    Validation: mAP@0.5 of the student on the held-out photos (resized to the input size) against
    the ground truth, or against the teacher's boxes on the original (label-free).
    """
    import torch

    iterations = _check(steps, batch_size, lr, original_share, iterations)
    if trainable.task != "detection":
        raise FinetuneError(f"finetune_detector needs a detector, got a {trainable.task} network")
    if trainable.labels is None:
        raise FinetuneError("a detection Trainable needs its labels (class names)")
    size = input_size or trainable.input_size
    val_photos = list(val_photos or [])
    data = _photos([*photos, *val_photos], cache, iterations, codec_weights, ray, progress)
    objects = None
    if truth is not None:
        by_path = {os.path.normpath(os.fspath(p)): boxes for p, boxes in truth.items()}
        objects = []
        for photo in data:
            boxes = [b for b in by_path.get(os.path.normpath(os.fspath(photo.source)), []) if not b.ignore]
            objects.append((np.asarray([b.box for b in boxes], float).reshape(-1, 4),
                            np.asarray([class_index(trainable.labels, b.label) for b in boxes], np.int64)))
    train, val = _split(len(data), val_fraction, seed, len(val_photos))
    device_ = torch.device(device)
    student = trainable.module.to(device_)
    teacher = copy.deepcopy(student).eval().requires_grad_(False)

    def pseudo_boxes(images: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            found = teacher(list(images))
        return [{"boxes": o["boxes"][o["scores"] >= score_threshold][:max_boxes].float(),
                 "labels": o["labels"][o["scores"] >= score_threshold][:max_boxes]} for o in found]

    def loss(draws: list[_Draw], pool: ThreadPoolExecutor) -> torch.Tensor:
        pairs = _load_pairs(data, draws, size, pool)
        inputs = _float([p[1] for p in pairs], device_)
        if objects is None:
            targets = pseudo_boxes(_float([p[0] for p in pairs], device_))
        else:
            targets = []
            for draw in draws:
                boxes, keep = _boxes_in_crop(objects[draw.photo][0], draw.box, size, draw.flip)
                targets.append({"boxes": torch.as_tensor(boxes, dtype=torch.float32, device=device_),
                                "labels": torch.as_tensor(objects[draw.photo][1][keep], device=device_)})
        losses = student(list(inputs), targets)
        return sum(losses.values())

    held = _detection_validation(data, val, iterations, size, objects)
    reference: dict[str, Any] = {}

    @torch.inference_mode()
    def detect(network: torch.nn.Module, images: torch.Tensor) -> list[dict]:
        found = []
        for i in range(0, len(images), batch_size):
            found += [{k: v.cpu() for k, v in o.items()}
                      for o in network(list(_float(images[i:i + batch_size], device_)))]
        return found

    def validate() -> dict:
        from .scoring import match_detections, mean_average_precision

        metric = "mAP@0.5" if objects is not None else "mAP@0.5 against the original's detections"
        if not held:
            return {"metric": metric, "original": float("nan"), "decoded": {}}
        if "truth" not in reference:
            if objects is not None:
                reference["truth"] = held["truth"]
            else:
                reference["truth"] = [[(int(c), b) for c, b, s in zip(o["labels"].tolist(), o["boxes"].tolist(),
                                                                       o["scores"].tolist()) if s >= score_threshold]
                                      for o in detect(teacher, held["original"])]
        student.eval()

        def score(images: torch.Tensor) -> float:
            matches = [match_detections([(int(c), float(s), b) for c, s, b in
                                         zip(o["labels"].tolist(), o["scores"].tolist(), o["boxes"].tolist())], t)
                       for o, t in zip(detect(student, images), reference["truth"])]
            value = mean_average_precision(matches)
            return 0.0 if math.isnan(value) else value

        return {"metric": metric, "original": score(held["original"]),
                "decoded": {k: score(held[k]) for k in sorted(set(iterations))}}

    task = _Task(loss, validate, {"task": "detection", "labelled": objects is not None,
                                  "val_fraction": val_fraction, "input_size": size, "score_threshold": score_threshold,
                                  **_held_out(val_photos)}, crop_scale)
    return _run(trainable, data, train, task, out=out, iterations=iterations, steps=steps, batch_size=batch_size,
                lr=lr, original_share=original_share, seed=seed, val_every=val_every,
                checkpoint_every=checkpoint_every, checkpoint_minutes=checkpoint_minutes, resume=resume,
                device=device, train_batchnorm=train_batchnorm, progress=progress, log=log, on_step=on_step)


def _detection_validation(data: list[_Photo], val: list[int], iterations: Sequence[int], size: int,
                          objects: Optional[list[tuple[np.ndarray, np.ndarray]]]) -> dict:
    """The held-out photos and decodings resized to ``size``×``size`` (uint8), and their boxes there."""
    import torch

    if not val:
        return {}
    held: dict[Any, Any] = {}
    for key in ["original", *sorted(set(iterations))]:
        held[key] = torch.stack([_crop(_load(data[i].source if key == "original" else data[i].decoded[key]),
                                       (0, 0, *data[i].size), size, False) for i in val])
    if objects is not None:
        held["truth"] = []
        for i in val:
            boxes, keep = _boxes_in_crop(objects[i][0], (0, 0, *data[i].size), size, False, min_visible=0.0)
            held["truth"].append([(int(c), b.tolist()) for c, b in zip(objects[i][1][keep], boxes)])
    return held
