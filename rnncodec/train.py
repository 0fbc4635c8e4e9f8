"""Training: random crops → unrolled iterations → loss on every iteration's reconstruction.

Importable (``train(TrainOptions(...))``) and behind ``rnc train``.  A run checkpoints every few
minutes (atomically), can be killed at any moment and resumed with ``resume=True``; a resumed run
ends in exactly the state an uninterrupted run reaches (same machine, same thread count), because
the checkpoint holds the model, the optimizer, the step and every random state.

Example:
    >>> from rnncodec.train import TrainOptions, train                     # doctest: +SKIP
    >>> train(TrainOptions(data=["photos/"], config="gru-s", out="mine.pt", steps=20000))
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from pytorch_msssim import ms_ssim as _ms_ssim_loss
from torch.nn import functional as F

from .atomic import atomic_path
from .backends.torch_backend import bf16_native
from .choices import DISTILL_TARGETS
from .code_rate import CodeRateModel, rate_loss
from .configs import get_config
from .data import CropSampler, find_images, load_rgb
from .formats.spec import BLOCK_SIZE as BLOCK
from .metrics import ms_ssim, msssim_window, psnr
from .model import RecurrentCodec
from .train_options import TrainOptions
from .weights import save_weights

__all__ = ["TrainOptions", "train", "validate", "export_checkpoint"]

#: Learning rate of the rate term's bit model (its own Adam, no schedule: it follows the codes).
RATE_MODEL_LR = 3e-3


def run_fraction(options: TrainOptions, step: int, elapsed: float) -> float:
    """How far the run is, 0…1: by steps, or by training time when ``minutes`` is set (whichever is further)."""
    fraction = step / options.steps
    if options.minutes:
        fraction = max(fraction, elapsed / (options.minutes * 60))
    return min(fraction, 1.0)


def learning_rate(options: TrainOptions, step: int, fraction: float | None = None) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``lr`` to ``lr_final`` at the
    end of the run (``fraction`` of the run done; by default ``step / steps``)."""
    if step < options.warmup:
        return options.lr * (step + 1) / options.warmup
    if fraction is None:
        fraction = step / options.steps
    start = options.warmup / options.steps if not options.minutes else 0.0
    progress = min(1.0, max(0.0, (fraction - start) / max(1e-9, 1 - start)))
    return options.lr_final + 0.5 * (options.lr - options.lr_final) * (1 + math.cos(math.pi * progress))


def block_psnr(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of every 16×16 block, ``(N, 1, H/16, W/16)``, of centred images (peak 1 = 255 grey levels)."""
    error = (reconstruction.detach().float() - target.float()).pow(2).mean(1, keepdim=True)
    return -10 * torch.log10(F.avg_pool2d(error, BLOCK) + 1e-10)


class TrainingStops:
    """The stopping masks of a training batch (``stop_masks``: the share of crops that get them).

    Per crop, drawn once per batch: no stops (the share ``1 − stop_masks``), random stops (half of
    the rest: from iteration 2 on, each block still sending stops with a probability drawn once per
    crop in [0, :attr:`RANDOM_RATE`)) or quality-driven stops (the other half: a block stops once its
    reconstruction's PSNR reaches a target drawn once per crop in :attr:`QUALITY_DB`, as the adaptive
    encoder first stopped blocks; it now stops them by what an iteration gains, :mod:`rnncodec.adaptive`).  Stopped blocks stay stopped; the decoder sees 0 there
    (:meth:`RecurrentCodec.forward`).  Random numbers come from torch's generator (checkpointed).
    """

    RANDOM_RATE = 0.5
    QUALITY_DB = (24.0, 40.0)

    def __init__(self, stop_masks: float, batch_size: int, device: torch.device):
        kind = torch.rand(batch_size, device=device)
        self.random = (kind >= 1 - stop_masks) & (kind < 1 - stop_masks / 2)
        self.quality = kind >= 1 - stop_masks / 2
        self.rate = torch.rand(batch_size, device=device) * self.RANDOM_RATE
        low, high = self.QUALITY_DB
        self.target_db = low + (high - low) * torch.rand(batch_size, device=device)

    def __call__(self, t: int, x: torch.Tensor, reconstruction: torch.Tensor,
                 active: Optional[torch.Tensor]) -> torch.Tensor:
        n, _, height, width = x.shape
        shape = (n, 1, height // BLOCK, width // BLOCK)
        active = torch.ones(shape, device=x.device) if active is None else active
        column = (n, 1, 1, 1)
        stop_random = self.random.view(column) & (torch.rand(shape, device=x.device) < self.rate.view(column))
        stop_good = self.quality.view(column) & (block_psnr(reconstruction, x) >= self.target_db.view(column))
        return active * ~(stop_random | stop_good)


def _distortion(options: TrainOptions, reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """One iteration's loss; images centred in [-0.5, 0.5].

    ``msssim-psnr`` is already logarithmic: ``w·ln(1 − MS-SSIM) + (1 − w)·ln(MSE)``, i.e. a weighted
    sum of MS-SSIM in dB and PSNR (both negated, up to a constant factor) — the two figures the
    codec is judged by.  The other losses are made logarithmic by :func:`training_loss` when
    ``balance_iterations`` is set.

    Always in float32, autocast or not: MS-SSIM's windowed statistics are differences of nearly equal
    sums, and with bfloat16 convolutions (inside ``torch.autocast``) its gradient is mostly rounding —
    measured on GRU_S_MACHINE_V2's decodes of 32 training crops of 256 px, its cosine with the float32
    gradient was 0.16–0.21 at 1–3 iterations, at 4.8–6.2× its norm.  (:func:`train` computes the loss
    outside its autocast; this keeps any other caller from losing the MS-SSIM term to rounding.)
    """
    reconstruction, target = reconstruction.float(), target.float()
    with torch.autocast(reconstruction.device.type, enabled=False):
        if options.loss == "l1":
            return (reconstruction - target).abs().mean()
        mse = F.mse_loss(reconstruction, target)
        if options.loss == "mse":
            return mse
        win = msssim_window(min(target.shape[-2:]))
        similarity = _ms_ssim_loss(reconstruction.clamp(-0.5, 0.5) + 0.5, target + 0.5, data_range=1.0,
                                   win_size=win, size_average=True)
        w = options.msssim_weight
        if options.loss == "msssim-psnr":
            return w * torch.log(1 - similarity + 1e-6) + (1 - w) * torch.log(mse + 1e-8)
        # Zhao et al. 2017 mix; L1 scaled so both terms have comparable magnitude early on.
        return w * (1 - similarity) + (1 - w) * 2 * (reconstruction - target).abs().mean()


def training_loss(options: TrainOptions, outputs: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """Mean over iterations (weighted by ``iteration_weights`` when given).  Balanced: mean of
    log-losses, so that every iteration's *relative* improvement counts the same (late iterations
    have small absolute errors and would otherwise get almost no gradient)."""
    losses = torch.stack([_distortion(options, out, target) for out in outputs])
    if options.balance_iterations and options.loss != "msssim-psnr":
        losses = torch.log(losses + 1e-6)
    if options.iteration_weights is None:
        return losses.mean()
    weights = torch.tensor(options.iteration_weights, dtype=losses.dtype, device=losses.device)
    return (losses * weights).sum() / weights.sum()


def recognition_loss(recognizer: torch.nn.Module, outputs: Sequence[torch.Tensor],
                     teacher: tuple[torch.Tensor, list[torch.Tensor]], weights: Sequence[float],
                     scale: float = 1.0, target: str = DISTILL_TARGETS[0]) -> torch.Tensor:
    """Label-free distillation: how far the frozen ``recognizer``'s view of each reconstruction is
    from its view of the original (``teacher``: its logits and features on the original batch).

    Per iteration ``½·ln(relative feature error) + ½·ln(class term)``: the features are the
    recognizer's intermediate maps (every residual block's output and the last map before pooling),
    their squared error relative to the teacher's energy, averaged over maps; the class term is, for
    ``target="distribution"``, ``KL(teacher ‖ student)`` between the class distributions, and for
    ``"answer"`` the cross-entropy of the student's distribution with the teacher's top-1 class —
    minus the log of the probability kept for the original's answer, the *kept* of
    ``benchmarks/recognition.py --tasks agree``.  Logarithmic like ``msssim-psnr``, so the balance
    with the distortion loss is one scale-free weight (``distill_weight``).  ``weights``: one per
    iteration in ``outputs`` (the first ``distill_iterations``), normalised; ``scale``: as
    :func:`recognizer_pixels` (the teacher's view must have been made at the same scale).
    """
    teacher_logits, teacher_features = teacher
    if target == "answer":  # the teacher's side of the class term, once for every iteration
        answer = teacher_logits.argmax(1)
        class_term = lambda logits: F.cross_entropy(logits.float(), answer)  # noqa: E731
    else:
        teacher_log_probabilities = F.log_softmax(teacher_logits.float(), 1)
        class_term = lambda logits: F.kl_div(F.log_softmax(logits.float(), 1), teacher_log_probabilities,  # noqa: E731
                                             log_target=True, reduction="batchmean")
    terms = []
    for reconstruction in outputs:
        logits, features = recognizer(recognizer_pixels(reconstruction, scale), return_features=True)
        feature_error = torch.stack([
            (f.float() - t.float()).pow(2).mean() / (t.float().pow(2).mean() + 1e-6)
            for f, t in zip(features, teacher_features)]).mean()
        classes = class_term(logits)
        terms.append(0.5 * torch.log(feature_error + 1e-6) + 0.5 * torch.log(classes.clamp_min(0) + 1e-4))
    w = torch.tensor(list(weights), dtype=torch.float32, device=terms[0].device)
    return (torch.stack(terms) * w).sum() / w.sum()


def _fit_rate_model(rate_model: CodeRateModel, rate_optimizer: torch.optim.Optimizer, model: RecurrentCodec,
                    sampler: CropSampler, options: TrainOptions, device: torch.device, processes: "_Processes",
                    steps: int = 100) -> None:
    """Fit the rate term's bit model to the starting weights' codes (two batches a process) before
    training, so that its first gradients already say which bits are expensive."""
    with torch.no_grad():
        model.eval()
        codes = [model.run(sampler.sample(options.batch_size).to(device) - 0.5, options.iterations)[1]
                 for _ in range(2)]
    for i in range(steps):
        rate_optimizer.zero_grad(set_to_none=True)
        rate_model.loss(codes[i % 2]).backward()
        processes.average_gradients(rate_model)
        rate_optimizer.step()


def _smoothed(running, value):
    """An exponential moving average of what the log reports (the loss; the rate term's bits): ``value`` first."""
    return value if running is None else 0.98 * running + 0.02 * value


def recognizer_pixels(centred: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Codec images (centred, [-0.5, 0.5]) as a recognizer's input: float32 RGB in [0, 255], resized by
    ``scale`` (antialiased bilinear, differentiable) to the scale the recognizer views photos at."""
    pixels = (centred.float() + 0.5).clamp(0, 1) * 255
    if scale != 1:
        pixels = F.interpolate(pixels, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False)
    return pixels.contiguous(memory_format=torch.channels_last)


def load_validation(folder: Path, count: int) -> list[torch.Tensor]:
    paths = find_images([folder])[:count]
    return [torch.from_numpy(load_rgb(p)).permute(2, 0, 1).float().div(255).unsqueeze(0) for p in paths]


@torch.inference_mode()
def validate(model: RecurrentCodec, images: list[torch.Tensor], iterations: int,
             bf16: bool = False, recognizer: Optional[torch.nn.Module] = None, recognizer_scale: float = 1.0) -> dict:
    """Mean PSNR (dB) and MS-SSIM per iteration, reconstructions rounded to 8 bits like a decoder's;
    with a ``recognizer``, also how often its top-1 class on the reconstruction is the one it gives the original
    (both resized by ``recognizer_scale``, as in training)."""
    model.eval()
    device = next(model.parameters()).device
    totals = np.zeros((3, iterations))
    for image in images:
        image = image.to(device)
        _, _, h, w = image.shape
        pad_h, pad_w = -h % 16, -w % 16
        x = F.pad(image, (0, pad_w, 0, pad_h), mode="replicate") - 0.5
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(x, iterations)
        answer = None
        if recognizer is not None:
            answer = recognizer(recognizer_pixels(image - 0.5, recognizer_scale)).argmax(1)
        for k, out in enumerate(outputs):
            rec = ((out.float()[..., :h, :w] + 0.5).clamp(0, 1) * 255).round() / 255
            totals[0, k] += psnr(rec, image)
            totals[1, k] += ms_ssim(rec, image)
            if recognizer is not None:
                totals[2, k] += float(recognizer(recognizer_pixels(rec - 0.5, recognizer_scale)).argmax(1) == answer)
    totals /= len(images)
    metrics = {"psnr": [round(v, 3) for v in totals[0]], "ms_ssim": [round(v, 4) for v in totals[1]]}
    if recognizer is not None:
        metrics["top1_agreement"] = [round(v, 3) for v in totals[2]]
    return metrics


class _Interrupted(Exception):
    pass


class _Processes:
    """Data-parallel training over ``WORLD_SIZE`` processes (started by ``torchrun``), gloo on CPU.

    Every process samples its own crops; gradients are averaged after each backward pass; rank 0
    logs, validates and checkpoints (the checkpoint holds every rank's random states).  With one
    process all of this is a no-op.
    """

    def __init__(self) -> None:
        self.size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.owns_group = self.size > 1 and not torch.distributed.is_initialized()
        if self.owns_group:
            torch.distributed.init_process_group("gloo")

    def close(self) -> None:
        """Wait for every rank, then take down the process group this made.  A process that exits with
        its gloo group alive can abort in the group's destructor ("terminate called without an active
        exception", SIGABRT), and torchrun then fails a finished run."""
        if self.owns_group:
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()
            self.owns_group = False

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def average_gradients(self, model: torch.nn.Module) -> None:
        if self.size == 1:
            return
        for parameter in model.parameters():
            if parameter.grad is not None:
                torch.distributed.all_reduce(parameter.grad)
                parameter.grad /= self.size

    def agree(self, stop: bool, checkpoint_due: bool, elapsed: float) -> tuple[bool, bool, float]:
        """Any rank's stop request, and the leader's checkpoint decision and clock, for every rank."""
        if self.size == 1:
            return stop, checkpoint_due, elapsed
        flags = torch.tensor([float(stop), float(checkpoint_due and self.leader), elapsed if self.leader else 0.0],
                             dtype=torch.float64)
        torch.distributed.all_reduce(flags, op=torch.distributed.ReduceOp.MAX)
        return bool(flags[0]), bool(flags[1]), float(flags[2])

    def gather(self, value):
        if self.size == 1:
            return [value]
        values = [None] * self.size
        torch.distributed.all_gather_object(values, value)
        return values


def train(options: TrainOptions, on_step: Optional[Callable[[int, float], None]] = None) -> Path:
    """Run (or resume) training; returns the path of the weights file written at the end."""
    if options.threads:
        torch.set_num_threads(options.threads)
    processes = _Processes()
    for path in (options.out, options.checkpoint, options.log):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(options.seed)  # the same initial weights in every process
    device = torch.device(options.device)
    config = get_config(options.config)
    model = RecurrentCodec(config).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=options.lr)
    sampler = CropSampler.from_folders(options.data, options.crop, seed=options.seed + 7919 * processes.rank)
    if device.type == "cuda":
        sampler.to(device)
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest convolutions
    torch.manual_seed(options.seed + 7919 * processes.rank)
    # emulated bfloat16 (CPUs without AVX-512 BF16/AMX) is ~10× slower than float32, native ~1.5× faster
    bf16 = options.bf16 if options.bf16 is not None else device.type == "cuda" or bf16_native()
    recognizer = None
    if options.distill:
        from .recognition.tflite_torch import load_tflite_classifier

        recognizer = load_tflite_classifier(options.distill).to(device).to(memory_format=torch.channels_last)
    distill_weights = (options.iteration_weights or [1.0] * options.iterations)[:options.distill_iterations]
    rate_model = CodeRateModel(config.bits, options.iterations).to(device) if options.rate_weight else None
    rate_optimizer = torch.optim.Adam(rate_model.parameters(), lr=RATE_MODEL_LR) if rate_model is not None else None
    val_images = load_validation(Path(options.val), options.val_images) if options.val and processes.leader else []

    step, elapsed, best = 0, 0.0, None
    if options.resume and options.checkpoint.exists():
        state = torch.load(options.checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if "samplers" in state:
            samplers, rngs = state["samplers"], state["torch_rngs"]
        else:  # a checkpoint from a single-process version
            samplers, rngs = [state["sampler"]], [state["torch_rng"]]
        if processes.rank < len(samplers):  # a rank the checkpoint knows (else: it keeps its fresh seeds)
            sampler.set_state(samplers[processes.rank])
            torch.set_rng_state(rngs[processes.rank])
        step, elapsed, best = state["step"], state["elapsed"], state.get("best")
        if rate_model is not None and "rate_model" in state:
            rate_model.load_state_dict(state["rate_model"])
            rate_optimizer.load_state_dict(state["rate_optimizer"])
    elif options.resume:
        raise FileNotFoundError(f"--resume: no checkpoint at {options.checkpoint}")
    elif options.init:  # fine-tune: start from trained weights, with a fresh optimizer and schedule
        from .weights import load_weights

        initial = load_weights(options.init)
        if initial.model.config != config:
            raise ValueError(f"--init weights are {initial.architecture}, the run trains {config.name}")
        model.load_state_dict(initial.model.state_dict())
    if rate_model is not None and step == 0:
        _fit_rate_model(rate_model, rate_optimizer, model, sampler, options, device, processes)

    def checkpoint() -> None:  # collective: every rank calls it
        samplers, rngs = processes.gather(sampler.state()), processes.gather(torch.get_rng_state())
        if processes.leader:
            with atomic_path(options.checkpoint) as tmp:
                torch.save({
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(), "samplers": samplers,
                    "torch_rngs": rngs, "step": step, "elapsed": elapsed, "best": best, "options": options.to_json(),
                    **({"rate_model": rate_model.state_dict(), "rate_optimizer": rate_optimizer.state_dict()}
                       if rate_model is not None else {}),
                }, tmp)

    def log(record: dict) -> None:
        if processes.leader:
            with open(options.log, "a") as fh:
                fh.write(json.dumps(record) + "\n")

    stop = {"now": False}

    def request_stop(signum, frame):  # finish the step, checkpoint, leave
        stop["now"] = True

    previous_handlers = {s: signal.signal(s, request_stop) for s in (signal.SIGTERM, signal.SIGINT)} \
        if _in_main_thread() else {}

    progress = _progress(options, step, enabled=processes.leader)
    last_checkpoint = time.monotonic()
    running = running_bits = None  # smoothed loss, and the rate term's estimated bits per code bit
    try:
        while run_fraction(options, step, elapsed) < 1 and not (options.stop_at and step >= options.stop_at):
            started = time.perf_counter()
            model.train()
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(options, step, run_fraction(options, step, elapsed))
            batch = sampler.sample(options.batch_size).to(device).to(memory_format=torch.channels_last) - 0.5
            stops = TrainingStops(options.stop_masks, len(batch), device) if options.stop_masks else None
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                outputs, codes = model.run(batch, options.iterations, options.binarizer, stops=stops)
            loss = training_loss(options, outputs, batch)
            if rate_model is not None:
                first = options.rate_from - 1  # 0-based: the codes before it only enter as context
                code_bits = rate_model.iteration_bits(codes, first, options.rate_share_before)
                loss = loss + options.rate_weight * rate_loss(code_bits, options.iteration_weights, first)
                running_bits = _smoothed(running_bits, code_bits.detach())
            if recognizer is not None and options.distill_weight:
                # float32, not bfloat16: this build's bfloat16 depthwise convolutions are ~10× slower on CPU
                with torch.no_grad():
                    teacher = recognizer(recognizer_pixels(batch, options.distill_scale), return_features=True)
                distill = recognition_loss(recognizer, outputs[:options.distill_iterations], teacher,
                                           distill_weights, options.distill_scale, options.distill_target)
                loss = loss + options.distill_weight * distill
            optimizer.zero_grad(set_to_none=True)
            if rate_optimizer is not None:
                rate_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            processes.average_gradients(model)
            if rate_model is not None:
                processes.average_gradients(rate_model)
            if options.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
            optimizer.step()
            if rate_optimizer is not None:
                rate_optimizer.step()
            step += 1
            seconds = time.perf_counter() - started
            elapsed += seconds
            value = loss.item()
            running = _smoothed(running, value)
            progress.set_postfix(loss=f"{running:.4f}", s_step=f"{seconds:.2f}", refresh=False)
            progress.update(1)
            if on_step:
                on_step(step, value)
            if step % 100 == 0:
                log({"step": step, "loss": round(running, 5), "lr": optimizer.param_groups[0]["lr"],
                     "s_per_step": round(seconds, 3), "elapsed_s": round(elapsed, 1),
                     **({"code_bits": [round(b, 4) for b in running_bits.tolist()]}
                        if running_bits is not None else {})})
            done = run_fraction(options, step, elapsed) >= 1
            if val_images and (step % options.val_every == 0 or done):
                metrics = validate(model, val_images, options.iterations, bf16=bf16, recognizer=recognizer,
                                   recognizer_scale=options.distill_scale)
                log({"step": step, "elapsed_s": round(elapsed, 1), "val": metrics})
                score = float(np.mean(metrics["psnr"]))
                if best is None or score > best:
                    best = score
            due_by_steps = bool(options.checkpoint_steps) and step % options.checkpoint_steps == 0
            due_by_time = time.monotonic() - last_checkpoint > options.checkpoint_minutes * 60
            stopping, due_by_time, elapsed = processes.agree(stop["now"], due_by_time, elapsed)
            if stopping:
                raise _Interrupted
            if due_by_steps or due_by_time:
                checkpoint()
                last_checkpoint = time.monotonic()
    except _Interrupted:
        checkpoint()
        progress.close()
        processes.close()
        raise KeyboardInterrupt(f"stopped at step {step}; checkpoint saved to {options.checkpoint}") from None
    finally:
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    progress.close()
    checkpoint()
    meta = {"steps": step, "train_seconds": round(elapsed, 1), "processes": processes.size, "options": options.to_json(),
            **options.extra_meta}
    path = save_weights(model, options.out, meta=meta) if processes.leader else options.out
    processes.close()
    return path


def export_checkpoint(checkpoint: str | Path, out: str | Path) -> Path:
    """Write the model of a training checkpoint as a weights file (to evaluate a run in progress)."""
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    options = state["options"]
    model = RecurrentCodec(get_config(options["config"]))
    model.load_state_dict(state["model"])
    meta = {"steps": state["step"], "train_seconds": round(state["elapsed"], 1), "options": options}
    return save_weights(model, out, meta=meta)


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _progress(options: TrainOptions, initial: int, enabled: bool = True):
    from tqdm import tqdm

    return tqdm(total=options.steps, initial=initial, unit="step", disable=not (options.progress and enabled),
                mininterval=1.0 if os.isatty(2) else 60.0, dynamic_ncols=True)
