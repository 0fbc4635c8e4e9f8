"""Training: runs on tiny data, survives a kill, and a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rnncodec.train import TrainOptions, learning_rate, train


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for i in range(3):
        # smooth random images, so crops are not pure noise
        small = rng.integers(0, 256, (8, 10, 3), dtype=np.uint8)
        Image.fromarray(small).resize((80, 64), Image.BICUBIC).save(folder / f"img{i}.png")
    return folder


def _options(tiny_data, out, **overrides):
    base = dict(data=[tiny_data], val=tiny_data, out=out, config="tiny", steps=6, batch_size=2, crop=48,
                iterations=2, val_every=3, val_images=2, threads=1, progress=False,
                checkpoint_steps=1, warmup=2)
    return TrainOptions(**{**base, **overrides})


def _state(path):
    return torch.load(path, weights_only=True)["state_dict"]


def test_learning_rate_schedule():
    options = TrainOptions(data=[], out="x.pt", steps=1000, warmup=100, lr=1e-3, lr_final=1e-5)
    assert learning_rate(options, 0) == pytest.approx(1e-5)
    assert learning_rate(options, 99) == pytest.approx(1e-3)
    assert learning_rate(options, 1000) == pytest.approx(1e-5)
    assert 1e-5 < learning_rate(options, 550) < 1e-3
    timed = TrainOptions(data=[], out="x.pt", steps=10**9, minutes=10, warmup=0, lr=1e-3, lr_final=1e-5)
    assert learning_rate(timed, 5, fraction=0.5) == pytest.approx((1e-3 + 1e-5) / 2)


@pytest.mark.parametrize("rate", [{}, {"rate_weight": 0.5}, {"rate_weight": 0.5, "rate_from": 2},
                                  {"rate_weight": 0.5, "rate_from": 2, "rate_share_before": 0.2}],
                         ids=["distortion", "with-rate-term", "rate-term-from-2", "rate-share-before"])
def test_stop_at_then_resume_equals_one_run(tiny_data, tmp_path, rate):
    reference = train(_options(tiny_data, tmp_path / "ref.pt", val=None, **rate))
    phased = tmp_path / "phased.pt"
    train(_options(tiny_data, phased, val=None, stop_at=4, **rate))
    checkpoint = torch.load(phased.with_suffix(".ckpt"), weights_only=True)
    assert checkpoint["step"] == 4
    assert ("rate_model" in checkpoint) == bool(rate)  # the rate term's bit model resumes too
    train(_options(tiny_data, phased, val=None, resume=True, **rate))
    phased_state = _state(phased)
    for key, value in _state(reference).items():
        assert torch.equal(value, phased_state[key]), key


def test_iteration_weights(tiny_data, tmp_path):
    from rnncodec.train import training_loss

    target = torch.zeros(1, 3, 48, 48)
    outputs = [torch.full_like(target, 0.1), torch.full_like(target, 0.2)]
    equal = training_loss(_options(tiny_data, tmp_path / "a.pt", loss="mse"), outputs, target)
    first = training_loss(_options(tiny_data, tmp_path / "b.pt", loss="mse", iteration_weights=[1, 0]), outputs, target)
    assert first == pytest.approx(math.log(0.01 + 1e-6)) and equal > first
    with pytest.raises(ValueError, match="iteration weights"):
        _options(tiny_data, tmp_path / "c.pt", iteration_weights=[1, 2, 3])
    with pytest.raises(ValueError, match="rate from must be an iteration"):
        _options(tiny_data, tmp_path / "d.pt", rate_weight=0.5, rate_from=3)  # 2 iterations
    with pytest.raises(ValueError, match="rate from needs a rate term"):
        _options(tiny_data, tmp_path / "d.pt", rate_from=2)
    with pytest.raises(ValueError, match="needs a non-zero iteration weight"):
        _options(tiny_data, tmp_path / "d.pt", rate_weight=0.5, rate_from=2, iteration_weights=[1, 0])
    with pytest.raises(ValueError, match="rate share before needs a later"):
        _options(tiny_data, tmp_path / "d.pt", rate_weight=0.5, rate_share_before=0.2)
    with pytest.raises(ValueError, match="rate share before must be a share"):
        _options(tiny_data, tmp_path / "d.pt", rate_weight=0.5, rate_from=2, rate_share_before=1.5)


def test_distortion_loss_is_float32_inside_bfloat16_autocast(tiny_data, tmp_path):
    """A caller's autocast must not turn MS-SSIM's windowed sums into bfloat16: its value and gradient
    would be mostly rounding for reconstructions this close."""
    from rnncodec.train import training_loss

    options = _options(tiny_data, tmp_path / "a.pt", loss="msssim-psnr")
    generator = torch.Generator().manual_seed(0)
    target = torch.nn.functional.interpolate(torch.rand(2, 3, 24, 24, generator=generator), size=192,
                                             mode="bilinear", align_corners=False) - 0.5
    noisy = target + 0.01 * torch.randn(target.shape, generator=generator)

    def loss_and_gradient(autocast: bool):
        reconstruction = noisy.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = training_loss(options, [reconstruction], target)
        loss.backward()
        return loss.item(), reconstruction.grad

    loss, gradient = loss_and_gradient(False)
    autocast_loss, autocast_gradient = loss_and_gradient(True)
    assert autocast_loss == pytest.approx(loss, abs=1e-5)
    assert torch.allclose(autocast_gradient, gradient, rtol=1e-4, atol=1e-9)


def test_binarizer_option(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="binarizer"):
        _options(tiny_data, tmp_path / "a.pt", binarizer="round")
    sign = train(_options(tiny_data, tmp_path / "sign.pt", val=None, binarizer="sign"))
    stochastic = train(_options(tiny_data, tmp_path / "stochastic.pt", val=None))
    from rnncodec.weights import load_weights

    assert load_weights(sign).meta["options"]["binarizer"] == "sign"
    assert any(not torch.equal(value, _state(stochastic)[key]) for key, value in _state(sign).items())


def test_time_limited_run_follows_time(tiny_data, tmp_path):
    options = _options(tiny_data, tmp_path / "t.pt", steps=10**6, minutes=0.02, val_images=1, val_every=10**6)
    started = time.monotonic()
    path = train(options)
    assert time.monotonic() - started < 60
    from rnncodec.weights import load_weights

    assert 1 <= load_weights(path).meta["steps"] < 10**6


def test_train_writes_weights_log_and_validation(tiny_data, tmp_path):
    path = train(_options(tiny_data, tmp_path / "w.pt"))
    assert path.exists()
    records = [__import__("json").loads(line) for line in (tmp_path / "w.jsonl").read_text().splitlines()]
    validations = [r["val"] for r in records if "val" in r]
    assert len(validations) == 2 and len(validations[0]["psnr"]) == 2
    from rnncodec.weights import load_weights

    loaded = load_weights(path)
    assert loaded.architecture == "tiny" and loaded.meta["steps"] == 6


def test_killed_and_resumed_run_ends_like_an_uninterrupted_one(tiny_data, tmp_path):
    reference = train(_options(tiny_data, tmp_path / "ref.pt"))

    out = tmp_path / "killed.pt"
    command = [sys.executable, "-m", "rnncodec.cli", "train", "--data", str(tiny_data), "--val", str(tiny_data),
               "--out", str(out), "--config", "tiny", "--steps", "6", "--batch-size", "2", "--crop", "48",
               "--iterations", "2", "--val-every", "3", "--threads", "1", "--no-progress", "--checkpoint-steps", "1"]
    child = subprocess.Popen(command + ["--warmup", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = out.with_suffix(".ckpt")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if checkpoint.exists() and torch.load(checkpoint, weights_only=True)["step"] >= 2:
            break
        if child.poll() is not None:
            pytest.fail(f"training exited early: {child.stderr.read().decode()}")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert not out.exists()
    step_at_kill = torch.load(checkpoint, weights_only=True)["step"]
    assert 2 <= step_at_kill < 6

    resumed = train(_options(tiny_data, out, resume=True))
    ref_state, resumed_state = _state(reference), _state(resumed)
    assert ref_state.keys() == resumed_state.keys()
    for key in ref_state:
        assert torch.equal(ref_state[key], resumed_state[key]), key


@pytest.mark.slow
def test_two_processes_train_data_parallel(tiny_data, tmp_path):
    """torchrun with 2 processes (with the rate term): gradients averaged, rank 0 writes weights and a
    checkpoint with both ranks' states."""
    out = tmp_path / "ddp.pt"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "rnncodec.cli", "train", "--data", str(tiny_data), "--out", str(out), "--config", "tiny",
               "--steps", "4", "--batch-size", "2", "--crop", "48", "--iterations", "2", "--threads", "1",
               "--no-progress", "--warmup", "2", "--rate-weight", "0.5"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"torchrun exited {result.returncode}:\n{result.stderr[-4000:]}"
    state = torch.load(out.with_suffix(".ckpt"), weights_only=True)
    assert state["step"] == 4 and len(state["samplers"]) == 2
    assert "rate_model" in state  # the rate term's bit model, its gradients averaged like the codec's
    assert state["samplers"][0] != state["samplers"][1]
    from rnncodec.weights import load_weights

    assert load_weights(out).meta["processes"] == 2


REFERENCE_CLASSIFIER = (Path(__file__).resolve().parents[3] / "shared" / "recognizers"
                        / "tf2_mobilenet_v2_1.0_224_ptq.tflite")


@pytest.mark.skipif(not REFERENCE_CLASSIFIER.is_file(), reason="the reference classifier is not beside the checkout")
def test_distillation_trains_and_validates_the_recognizers_view(tiny_data, tmp_path):
    pytest.importorskip("tflite")
    losses = []
    out = train(_options(tiny_data, tmp_path / "d.pt", distill=REFERENCE_CLASSIFIER, distill_weight=2.0,
                         distill_iterations=1, distill_scale=0.5, steps=3, val_every=3), on_step=lambda step, loss: losses.append(loss))
    assert out.is_file() and len(losses) == 3 and all(math.isfinite(v) for v in losses)
    records = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    agreement = [r["val"]["top1_agreement"] for r in records if "val" in r][-1]
    assert len(agreement) == 2 and all(0 <= a <= 1 for a in agreement)


def test_distillation_options_are_checked(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="distill iterations"):
        _options(tiny_data, tmp_path / "x.pt", distill=REFERENCE_CLASSIFIER, distill_iterations=3)
    with pytest.raises(ValueError, match="distill weight"):
        _options(tiny_data, tmp_path / "x.pt", distill_weight=-1)
    with pytest.raises(ValueError, match="distill scale"):
        _options(tiny_data, tmp_path / "x.pt", distill_scale=1.5)
    with pytest.raises(ValueError, match="distill target"):
        _options(tiny_data, tmp_path / "x.pt", distill_target="labels")


def test_distillation_to_the_answer_is_the_probability_kept_for_it():
    """``target="answer"``: the class term is −ln of the probability the reconstruction keeps for the
    original's top-1 class, whatever happens to the other classes — which the distribution's KL counts."""
    from rnncodec.train import recognition_loss

    class Recognizer(torch.nn.Module):  # a class per colour channel, its logit the channel's mean level / 25
        def forward(self, pixels, return_features=False):
            logits = pixels.mean((2, 3)) / 25
            return (logits, [pixels]) if return_features else logits

    def image(*levels):  # centred, as the codec's reconstructions
        return torch.tensor(levels).view(1, 3, 1, 1).expand(1, 3, 8, 8)

    recognizer = Recognizer()
    original, swapped = image(0.3, 0.0, -0.3), image(0.3, -0.3, 0.0)  # classes 1 and 2 trade places
    teacher = recognizer((original + 0.5) * 255, return_features=True)
    feature_error = (swapped - original).pow(2).mean() / (original + 0.5).pow(2).mean()
    p0, p1, p2 = torch.softmax(teacher[0], 1)[0]
    assert torch.softmax(recognizer((swapped + 0.5) * 255), 1)[0, 0] == pytest.approx(p0.item())  # the answer kept
    for target, classes in (("answer", -torch.log(p0)), ("distribution", (p1 - p2) * torch.log(p1 / p2))):
        expected = 0.5 * torch.log(feature_error + 1e-6) + 0.5 * torch.log(classes + 1e-4)
        loss = recognition_loss(recognizer, [swapped], teacher, [1.0], target=target)
        assert loss.item() == pytest.approx(expected.item(), rel=1e-4), target


def test_stop_masks_train_with_blocks_that_stop(tiny_data, tmp_path):
    from rnncodec.configs import get_config
    from rnncodec.model import RecurrentCodec
    from rnncodec.train import TrainingStops

    with pytest.raises(ValueError, match="stop masks"):
        _options(tiny_data, tmp_path / "a.pt", stop_masks=1.5)
    torch.manual_seed(0)
    model = RecurrentCodec(get_config("tiny")).eval()
    x = torch.rand(4, 3, 64, 64) - 0.5
    seen = []

    def everything_stops(t, x, reconstruction, active):
        seen.append(t)
        return torch.zeros(x.shape[0], 1, 4, 4)

    uniform = model(x, 3)
    stopped = model(x, 3, stops=everything_stops)
    assert seen == [1, 2] and torch.equal(uniform[0], stopped[0])
    with torch.no_grad():  # the decoder saw 0 codes at iteration 2
        bits, _ = model.encode_step(x, torch.zeros_like(x), model.initial_states()[0])
        states = model.decode_step(bits, torch.zeros_like(x), model.initial_states()[1])[1]
        zeros = model.decode_step(torch.zeros_like(bits), uniform[0], states)[0]
    assert torch.allclose(stopped[1], zeros, atol=1e-6)
    stops = TrainingStops(1.0, 4, torch.device("cpu"))
    assert bool((stops.random | stops.quality).all()) and not bool((stops.random & stops.quality).any())
    active = None
    for t in range(1, 4):  # monotone: a stopped block stays stopped
        previous = active
        active = stops(t, x, uniform[0], active)
        assert active.shape == (4, 1, 4, 4)
        if previous is not None:
            assert bool((active <= previous).all())
    assert float(TrainingStops(0.0, 4, torch.device("cpu"))(1, x, uniform[0], None).min()) == 1.0
    path = train(_options(tiny_data, tmp_path / "stops.pt", val=None, stop_masks=1.0))
    from rnncodec.weights import load_weights

    assert load_weights(path).meta["options"]["stop_masks"] == 1.0
