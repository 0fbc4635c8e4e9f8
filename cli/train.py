"""``rnc train``: train codec weights on a folder of photos (resumable, runs for hours)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from rnncodec.choices import BINARIZERS, DISTILL_TARGETS, LOSSES
from rnncodec.train_options import TrainOptions

from .options import ITERATIONS

__all__ = ["train_command"]

#: TrainOptions' defaults: the options below show and pass them (the library is the one place they live).
_DEFAULTS = {option.name: option.default for option in dataclasses.fields(TrainOptions)}


def _floats(value: str | None) -> list[float] | None:
    if not value:
        return None
    try:
        return [float(w) for w in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None


@click.command("train", short_help="Train codec weights on folders of photos.")
@click.option("--data", "data", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Folder of training photos (repeatable; searched recursively).")
@click.option("--val", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Folder of validation photos (PSNR and MS-SSIM per iteration, logged as JSON lines).")
@click.option("--config", default=_DEFAULTS["config"], show_default=True,
              help="Architecture name (see rnncodec.configs).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Weights file written at the end (the checkpoint and log go beside it).")
@click.option("--steps", type=click.IntRange(min=1), default=_DEFAULTS["steps"], show_default=True,
              help="Total optimizer steps.")
@click.option("--stop-at", type=click.IntRange(min=1), default=None, metavar="STEP",
              help="End at this step (checkpoint and weights written) without changing the schedule; "
                   "resume later, possibly with other options, to run a recipe in phases.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Also end after this much training time; the learning-rate schedule then follows time "
                   "(for fixed-length runs on a borrowed GPU; not bit-reproducible).")
@click.option("--batch-size", type=click.IntRange(min=1), default=_DEFAULTS["batch_size"], show_default=True)
@click.option("--crop", type=click.IntRange(min=16), default=_DEFAULTS["crop"], show_default=True,
              help="Training crop side in pixels (multiple of 16).")
@click.option("--iterations", type=ITERATIONS, default=_DEFAULTS["iterations"], show_default=True,
              help="Iterations unrolled per step.")
@click.option("--iteration-weights", default=None, metavar="W1,W2,…",
              callback=lambda ctx, param, value: _floats(value),
              help="Weight of each iteration's loss (one per iteration; default: equal). "
                   "E.g. 2,2,2,1.5,1,1,1,1 favours the first iterations, where edge clients live.")
@click.option("--lr", type=float, default=_DEFAULTS["lr"], show_default=True, help="Peak learning rate (cosine decay).")
@click.option("--warmup", type=click.IntRange(min=0), default=_DEFAULTS["warmup"], show_default=True,
              help="Steps of linear learning-rate warm-up.")
@click.option("--loss", type=click.Choice(LOSSES), default=_DEFAULTS["loss"], show_default=True,
              help="msssim-psnr: w·MS-SSIM(dB) + (1−w)·PSNR per iteration (the metrics the codec is judged by); "
                   "msssim-l1: Zhao et al.'s mix; l1/mse: pixel losses.")
@click.option("--msssim-weight", type=click.FloatRange(0, 1), default=_DEFAULTS["msssim_weight"], show_default=True,
              help="w above (for msssim-l1: the MS-SSIM share, 0.84 in Zhao et al.).")
@click.option("--binarizer", type=click.Choice(BINARIZERS), default=_DEFAULTS["binarizer"], show_default=True,
              help="How training turns the encoder's outputs into bits (gradient straight through): "
                   "stochastic (+1 with probability (1+y)/2, Toderici et al.) or sign, the bits the "
                   "decoder gets at inference (the fine-tuning step of the shipped weights).")
@click.option("--stop-masks", type=click.FloatRange(0, 1), default=_DEFAULTS["stop_masks"], show_default=True,
              metavar="SHARE",
              help="Share of crops trained with blocks that stop (spatially adaptive iterations): from "
                   "iteration 2, half of them stop blocks at random, half once a block is good enough; "
                   "the decoder sees 0 where a block stopped, as in an adaptive file.")
@click.option("--distill", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              metavar="MODEL.tflite",
              help="Also keep a frozen classifier's view of the image (label-free distillation: its features "
                   "and class distribution on each reconstruction should match those on the original); a "
                   "TFLite classifier, converted to torch (rnncodec.recognition.tflite_torch). Needs 'tflite'.")
@click.option("--distill-weight", type=click.FloatRange(min=0), default=_DEFAULTS["distill_weight"], show_default=True,
              help="Weight of the distillation loss next to the distortion loss (both logarithmic).")
@click.option("--distill-iterations", type=ITERATIONS, default=_DEFAULTS["distill_iterations"], show_default=True,
              help="Apply the distillation loss to the first K iterations (where recognition happens).")
@click.option("--distill-scale", type=click.FloatRange(0.1, 1), default=_DEFAULTS["distill_scale"], show_default=True,
              help="Resize the original and the reconstructions by this factor (antialiased) before the classifier "
                   "sees them: the scale its own preprocessing views photos at (ImageNet-size photos reach a "
                   "224-pixel classifier at about 0.6), so the loss weighs what the classifier will see.")
@click.option("--distill-target", type=click.Choice(DISTILL_TARGETS), default=_DEFAULTS["distill_target"],
              show_default=True,
              help="What the class term keeps: the original's whole class distribution (KL divergence), or its "
                   "answer alone (cross-entropy with the classifier's top-1 on the original: the probability "
                   "kept for it, what benchmarks/recognition.py --tasks agree measures).")
@click.option("--rate-weight", type=click.FloatRange(min=0), default=_DEFAULTS["rate_weight"], show_default=True,
              help="Weight of a rate term: the bits the context coder (coder 2) would spend on each iteration's "
                   "code, estimated by its logistic model learnt alongside (rnncodec.code_rate); logarithmic, so "
                   "at 1 a 1 %% saving of bits weighs as much as 1 %% less error. 0: codes cost 32 bits a block.")
@click.option("--rate-from", type=ITERATIONS, default=_DEFAULTS["rate_from"], show_default=True,
              help="Count the rate term from iteration K on; the codes before it are its context only, so they "
                   "keep the size the distortion (and distillation) losses give them. 2 leaves the first "
                   "iteration — what a budget of a few kB sends, and what a classifier sees there — as it is.")
@click.option("--rate-share-before", type=click.FloatRange(0, 1), default=_DEFAULTS["rate_share_before"],
              show_default=True,
              help="With --rate-from K: the share of the rate term's gradient that the codes before K get — a "
                   "small pressure that holds their size while the shared encoder moves for the later terms "
                   "(0: none, the codes are context only; 1: the later iterations' terms move them fully).")
@click.option("--checkpoint", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file (default: OUT with .ckpt).")
@click.option("--checkpoint-minutes", type=float, default=_DEFAULTS["checkpoint_minutes"], show_default=True,
              help="Save a checkpoint this often (and on Ctrl-C / SIGTERM).")
@click.option("--checkpoint-steps", type=click.IntRange(min=1), default=None,
              help="Also save a checkpoint every N steps.")
@click.option("--val-every", type=click.IntRange(min=1), default=_DEFAULTS["val_every"], show_default=True,
              help="Validate every N steps.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint beside --out.")
@click.option("--init", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Start from these weights (fine-tuning) instead of random ones.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=_DEFAULTS["device"], show_default=True)
@click.option("--bf16/--no-bf16", default=_DEFAULTS["bf16"],
              help="bfloat16 autocast. Default: on CUDA and on CPUs with AVX-512 BF16/AMX (≈1.5× faster), off "
                   "elsewhere (emulated bfloat16 is ≈10× slower than float32).")
@click.option("--seed", type=int, default=_DEFAULTS["seed"], show_default=True)
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads (use 1 to leave a core free while you work).")
@click.option("--progress/--no-progress", default=_DEFAULTS["progress"], show_default=True, help="tqdm progress bar.")
def train_command(config: str, data: tuple[Path, ...], **options) -> None:
    """Train weights for the codec on photos in DATA folders.

    \b
    Example (the shipped default; see docs/training.md):
      rnc train --data $DATA/bsds500/train --data $DATA/bsds500/test \\
                --data $DATA/sun-hays80 --data $DATA/urban100-40 \\
                --val $DATA/bsds500/val --config gru-s --out gru-s.pt

    A checkpoint (OUT with .ckpt) is saved every few minutes and on Ctrl-C; --resume continues
    exactly where it stopped.  Progress is logged as JSON lines to OUT with .jsonl.
    """
    from rnncodec.configs import list_configs
    from rnncodec.train import train

    if config not in list_configs():
        raise click.BadParameter(f"unknown architecture {config!r} (known: {', '.join(list_configs())})",
                                 param_hint="'--config'")
    try:
        run = TrainOptions(config=config, data=list(data), **options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        path = train(run)
    except KeyboardInterrupt as exc:
        raise click.ClickException(f"{exc}; continue with --resume") from None
    click.echo(f"wrote {click.format_filename(path)}")
