"""Spatially adaptive iterations (rnncodec.adaptive, Codec.iter_codes(sends=…)): stopped blocks give
the network 0, files with stops round-trip on both backends, tiled and progressively, and old files
decode as they did."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rnncodec import formats
from rnncodec.adaptive import (PlanErrors, block_errors, block_msssim_error, block_mse, check_sends, image_psnr,
                               iteration_gains, mse_of, msssim_gradient, psnr_of, sends_for_quality, worst_first)
from rnncodec.codec import STOPPED, Codec, code_signs
from rnncodec.imageio import load_image

DATA = Path(__file__).parent / "data"
VECTORS = Path(__file__).resolve().parents[2] / "formats" / "vectors"


@pytest.fixture(scope="module")
def photo():
    """A 160×280 crop of the astronaut: in 128-px tiles, seams both ways."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[100:260, 150:430])


@pytest.fixture(scope="module")
def codecs(onnx_weights_file):
    return {name: Codec(onnx_weights_file, tile_size=128, precision="fp32", backend=name) for name in ("torch", "onnx")}


def _plan(shape, seed=0, iterations=4):
    """A random plan: every block sends 1 … iterations."""
    return np.random.default_rng(seed).integers(1, iterations + 1, shape)


def test_block_mse_counts_real_pixels_only():
    original = np.zeros((17, 33, 3), np.uint8)
    decoded = np.full((32, 48, 3), 255, np.uint8)  # the padding (rows 17…, columns 33…) is wrong too
    decoded[:17, :33] = 10
    errors = block_mse(decoded, original)
    assert errors.shape == (2, 3) and np.allclose(errors, 100.0)
    assert image_psnr(errors, 33, 17) == pytest.approx(10 * math.log10(255 ** 2 / 100))
    decoded[16, 32] = 20  # the one real pixel of the corner block
    assert block_mse(decoded, original)[1, 2] == pytest.approx(400.0)
    assert psnr_of(np.array([0.0]))[0] == math.inf and psnr_of(mse_of(31.5)) == pytest.approx(31.5)


def test_block_msssim_error_weighs_errors_against_local_contrast():
    import torch
    from skimage import data

    from rnncodec.metrics import ms_ssim

    original = np.ascontiguousarray(data.astronaut()[:256, :256])
    noisy = np.clip(original + np.random.default_rng(0).normal(0, 6, original.shape), 0, 255).astype(np.uint8)
    errors = block_msssim_error(noisy, original)
    assert errors.shape == (16, 16) and not block_msssim_error(original, original).any()
    tensor = lambda rgb: torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255
    # the blocks' mean is MS-SSIM's distortion to first order
    assert errors.mean() == pytest.approx(1 - ms_ssim(tensor(noisy), tensor(original)), rel=0.2)
    # the same noise costs more where the photo is smooth: a flat gray half against a textured one
    half = original.copy()
    half[:, :128] = 128
    noisy_half = np.clip(half + (noisy.astype(int) - original), 0, 255).astype(np.uint8)
    by_block = block_msssim_error(noisy_half, half)
    mse = block_mse(noisy_half, half)
    assert by_block[4:12, 1:7].mean() > 2 * by_block[4:12, 9:15].mean()
    assert mse[4:12, 1:7].mean() == pytest.approx(mse[4:12, 9:15].mean(), rel=0.2)
    for h, w in ((1, 1), (17, 33), (5, 250)):  # any size: scales too small are left out
        small = block_msssim_error(noisy[:h, :w], original[:h, :w])
        assert small.shape == (-(-h // 16), -(-w // 16)) and np.isfinite(small).all()
    assert block_errors(noisy, original).shape == (2, 16, 16)


@pytest.mark.parametrize("shape", [(171, 203), (176, 176)])
def test_msssim_gradient_is_pytorch_msssims_value_and_gradient(shape):
    """The MS-SSIM a quality target plans with is the one the benchmarks report (pytorch_msssim's,
    odd sides included), and its gradient is that function's."""
    import torch
    from pytorch_msssim import ms_ssim
    from skimage import data

    original = np.ascontiguousarray(data.astronaut()[60:60 + shape[0], 150:150 + shape[1]])
    decoded = np.clip(original + np.random.default_rng(1).normal(0, 12, original.shape), 0, 255).astype(np.uint8)
    value, gradient = msssim_gradient(decoded, original)
    as_tensor = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].double() / 255  # noqa: E731
    pixels = as_tensor(decoded).requires_grad_()
    expected = ms_ssim(pixels, as_tensor(original), data_range=1.0)
    expected.backward()
    assert gradient.shape == original.shape and value == pytest.approx(expected.item(), abs=1e-4)
    reference = pixels.grad[0].permute(1, 2, 0).numpy() / 255  # per 8-bit level
    assert np.corrcoef(gradient.ravel(), reference.ravel())[0, 1] > 0.9999
    assert (gradient * reference).sum() == pytest.approx((reference * reference).sum(), rel=1e-3)


def test_msssim_gradient_of_small_images_leaves_out_the_scales_too_small_for_the_window():
    rng = np.random.default_rng(4)
    original = rng.integers(0, 256, (40, 56, 3)).astype(np.uint8)
    decoded = np.clip(original + rng.normal(0, 12, original.shape), 0, 255).astype(np.uint8)
    value, gradient = msssim_gradient(decoded, original)  # 40 → 20: two scales
    assert 0 < value < 1 and gradient.shape == original.shape and np.isfinite(gradient).all()
    step = 0.5 * gradient / np.abs(gradient).max()  # uphill: MS-SSIM rises
    assert msssim_gradient(decoded + step, original)[0] > value
    value, gradient = msssim_gradient(decoded[:9, :7], original[:9, :7])  # not even the finest scale
    assert value == 1.0 and not gradient.any()


def test_plan_errors_follow_the_images_msssim_error_to_first_order():
    """PlanErrors' second row: the image's 1 − MS-SSIM in every block after iteration 1, then less what each
    block's change added to the image's MS-SSIM — over all blocks, the image's change to first order."""
    from skimage import data

    original = np.ascontiguousarray(data.astronaut()[:200, :232])
    noise = np.random.default_rng(2).normal(0, 1, original.shape)
    reconstructions = [np.clip(original + sigma * noise, 0, 255).astype(np.uint8) for sigma in (16, 15, 14)]
    values = [msssim_gradient(decoded, original)[0] for decoded in reconstructions]
    plan = PlanErrors()
    errors = [plan(decoded, original) for decoded in reconstructions]
    assert errors[0].shape == (2, 13, 15) and np.allclose(errors[0][1], 1 - values[0])
    assert all(np.allclose(e[0], block_mse(decoded, original)) for e, decoded in zip(errors, reconstructions))
    for before, after, gained in zip(errors, errors[1:], np.diff(values)):
        assert (before[1] - after[1]).mean() == pytest.approx(gained, rel=0.15) and gained > 0

    plan = PlanErrors()  # only the blocks whose pixels changed gain
    plan(reconstructions[0], original)
    better = reconstructions[0].copy()
    better[16:] = original[16:]
    second = plan(better, original)[1]
    assert np.allclose(second[0], 1 - values[0]) and (second[1:] < 1 - values[0]).mean() > 0.9
    for h, w in ((1, 1), (17, 33)):  # any size (too small for MS-SSIM's window: the MSE alone plans)
        small = PlanErrors()
        rows = [small(decoded[:h, :w], original[:h, :w]) for decoded in reconstructions[:2]]
        assert rows[0].shape == (2, -(-h // 16), -(-w // 16)) and all(np.isfinite(r).all() for r in rows)


def test_iteration_gains_count_mse_and_msssim_alike_and_a_loss_stops_a_block():
    mse = np.array([[[100.0, 100.0]], [[50.0, 100.0]], [[40.0, 120.0]]])
    msssim = np.array([[[0.2, 0.2]], [[0.2, 0.1]], [[0.1, 0.1]]])
    errors = [np.stack([m, s]) for m, s in zip(mse, msssim)]
    gains = iteration_gains(errors)  # MS-SSIM error at the image's rate: 100 / 0.2 = 500 per unit
    assert np.allclose(gains[0], [[50.0, 50.0]]) and np.allclose(gains[1], [[60.0, -20.0]])
    assert (sends_for_quality(errors, float(psnr_of(49.0)), 3) == [[3, 2]]).all()  # block 2 got worse at 3: stops
    assert (sends_for_quality(errors, float(psnr_of(55.0)), 3) == [[1, 1]]).all()
    assert (sends_for_quality(errors[:2], float(psnr_of(49.0)), 3) == [[3, 3]]).all()  # not stopped yet: all of them


def test_quality_plans_are_nested_and_worst_first_orders_by_error():
    rng = np.random.default_rng(3)
    errors = list(np.cumprod(rng.uniform(0.3, 1.0, (6, 2, 5, 7)), axis=0) * [[[400.0]], [[0.3]]])  # shrinking
    plans = [sends_for_quality(errors, q, 6) for q in np.linspace(20, 45, 40)]
    for lower, higher in zip(plans, plans[1:]):
        assert (higher >= lower).all()
    assert plans[0].min() >= 1 and plans[-1].max() == 6
    assert (sends_for_quality(errors, 1.0, 6) == 1).all()
    order = worst_first(np.array([[1.0, 5.0], [5.0, 0.5]]))
    assert order.tolist() == [1, 2, 0, 3]
    with pytest.raises(ValueError, match="integers ≥ 1"):
        check_sends(np.zeros((2, 2), int), (2, 2))
    with pytest.raises(ValueError, match="block grid"):
        check_sends(np.ones((2, 3), int), (2, 2))


def test_stopped_blocks_are_zero_for_the_network():
    bits = np.array([[[0, 1], [STOPPED, 1]]], np.uint8)
    assert code_signs(bits).tolist() == [[[-1.0, 1.0], [0.0, 1.0]]]


def test_codes_follow_the_plan_and_iteration_one_is_whole(codecs, photo):
    codec = codecs["torch"]
    grid = (10, 18)
    sends = _plan(grid)
    codes = list(codec.iter_codes(photo, 4, sends))
    uniform = list(codec.iter_codes(photo, 4))
    for t, bits in enumerate(codes):
        stopped = (bits == STOPPED)
        assert (stopped.all(0) == (sends <= t)).all() and (stopped.any(0) == stopped.all(0)).all()
    assert np.array_equal(codes[0], uniform[0])  # nothing stopped yet: the same code
    with pytest.raises(ValueError, match="block grid"):
        list(codec.iter_codes(photo, 2, np.ones((3, 3), int)))


@pytest.mark.parametrize("encoder", ["torch", "onnx"])
def test_adaptive_files_round_trip_on_both_backends(codecs, photo, encoder):
    codec = codecs[encoder]
    source = load_image(photo)
    sends = _plan((10, 18), seed=1)
    steps = list(codec.iter_codes_measured(photo, 4, sends, measure="after"))
    data = codec.file_bytes(source, [bits for bits, _ in steps])
    rnc = formats.read(data)
    assert rnc.header.coder == "adaptive"
    assert all(np.array_equal(a, b) for a, (b, _) in zip(rnc.codes(), steps))
    decoded = {name: np.asarray(codecs[name].decode(data), np.int16) for name in codecs}
    assert np.abs(decoded["torch"] - decoded["onnx"]).max() <= 1
    for k in (2, 3):  # any prefix, and the progressive decoder, alike
        prefix = np.asarray(codec.decode(data, k), np.int16)
        decoder = codec.progressive_decoder(rnc.header)
        for bits in rnc.codes()[:k]:
            image = decoder.add(bits)
        assert np.array_equal(np.asarray(image, np.int16), prefix)
    decoder = codec.progressive_decoder(rnc.header)  # the images made while encoding are the decoder's
    for (bits, image), file_bits in zip(codec.iter_codes_and_images(source, 4, sends), rnc.codes(), strict=True):
        assert np.array_equal(bits, file_bits)
        assert np.array_equal(np.asarray(image), np.asarray(decoder.add(file_bits)))
    # the encoder's own reconstruction is the decoder's (seams aside: the blocks' errors, tile by tile)
    tiles_only = Codec(codec.weights if encoder == "torch" else codecs["torch"].weights, tile_size=0, precision="fp32")
    one_tile = list(tiles_only.iter_codes_measured(photo, 4, sends, measure="after"))
    pixels = tiles_only.decode(tiles_only.file_bytes(source, [bits for bits, _ in one_tile]))
    assert np.allclose(block_mse(np.asarray(pixels), photo), one_tile[-1][1])


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_an_encode_goes_on_from_a_state_kept_by_another(codecs, onnx_weights_file, photo, backend):
    codec = Codec(onnx_weights_file, tile_size=0, precision="fp32", backend=backend)  # one tile
    states = []
    uniform = list(codec.iter_codes_measured(photo, 3, measure="after", states=states))
    assert [state.iterations for state in states] == [1, 2, 3]
    sends = _plan((10, 18), seed=2) + 1  # every block sends 2 … 5 iterations: the first 2 are the uniform ones
    from_start = list(codec.iter_codes_measured(photo, 5, sends, measure="after"))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(uniform[:2], from_start))
    going_on = list(codec.iter_codes_measured(photo, 5, sends, measure="after", resume=states[1]))
    assert len(going_on) == 3
    for (bits, errors), (bits_from_start, errors_from_start) in zip(going_on, from_start[2:]):
        assert np.array_equal(bits, bits_from_start) and np.array_equal(errors, errors_from_start)
    tiled = codecs[backend]  # 128-px tiles: no state is one tile's whole encode
    kept = []
    list(tiled.iter_codes_measured(photo, 2, measure="after", states=kept))
    assert kept == []
    with pytest.raises(ValueError, match="has several"):
        list(tiled.iter_codes_measured(photo, 5, sends, measure="after", resume=states[1]))
    with pytest.raises(ValueError, match="need measure='after'"):
        list(codec.iter_codes_measured(photo, 3, measure="before", states=[]))
    with pytest.raises(ValueError, match=r"not within 1…2"):
        list(codec.iter_codes_measured(photo, 2, sends, measure="after", resume=states[2]))


def test_a_stopped_block_decodes_otherwise_than_its_bits(codecs, photo):
    codec = codecs["torch"]
    uniform = list(codec.iter_codes(photo, 2))
    stopped = [uniform[0], uniform[1].copy()]
    stopped[1][:, 3, 4] = STOPPED
    header = codec.header_for(load_image(photo), 2, "adaptive")
    a, b = codec.decode_codes(header, uniform), codec.decode_codes(header, stopped)
    changed = np.argwhere(np.abs(a.astype(int) - b).max(2) > 0)
    assert changed.size and changed.min(0).tolist()[0] >= 3 * 16 - 32  # around that block, not elsewhere


def test_uniform_codes_keep_the_coders_they_had(codec, photo):
    codes = list(codec.iter_codes(photo, 3))
    data = codec.file_bytes(load_image(photo), codes)
    assert formats.read_header(data).coder != "adaptive" and data == codec.encode(photo, 3)
    streamed = list(codec.prefix_files(load_image(photo), iter(codes), 3))
    assert streamed[-1] == data


def test_prefix_files_switch_to_the_adaptive_coder_when_blocks_stop(codec, photo):
    source = load_image(photo)
    codes = list(codec.iter_codes(photo, 3, _plan((10, 18), seed=2, iterations=3)))
    streamed = list(codec.prefix_files(source, iter(codes), 3))
    assert formats.read_header(streamed[-1]).coder == "adaptive"
    assert streamed[-1] == codec.file_bytes(source, codes)


def test_old_files_decode_unchanged():
    """Files written before adaptive iterations existed (GRU_S_V4, raw and context coders) decode to
    the pixels they did then, and their codes reach the network as ±1, as before."""
    expected = np.asarray(Image.open(DATA / "gru-s-v4-astronaut-48x40-3it.main-decoded.png"), np.int16)
    codec = Codec("GRU_S_V4", precision="fp32", backend="torch")
    for name in ("gru-s-v4-astronaut-48x40-3it.rnc", "gru-s-v4-astronaut-48x40-3it-context.rnc"):
        data = (DATA / name).read_bytes()
        decoded = np.asarray(codec.decode(data), np.int16)
        assert np.abs(decoded - expected).max() <= 1, name  # float kernels may differ between CPUs
        if np.array_equal(decoded, expected):
            continue
        pytest.skip("this CPU's float kernels round a pixel otherwise than the machine that wrote the PNG")


def test_conformance_vectors_reach_the_network_as_before():
    """Every code of every readable vector without stops gives the network 2·bit − 1, as it always did."""
    checked = 0
    for path in sorted(VECTORS.glob("*.rnc")):
        try:
            rnc = formats.read(path.read_bytes(), strict=False)
            codes = rnc.codes()
        except formats.RNCError:
            continue
        for bits in codes:
            if rnc.header.coder != "adaptive":
                assert np.array_equal(code_signs(bits), bits.astype(np.float32) * 2 - 1), path.name
            else:
                assert np.array_equal(code_signs(bits) == 0, bits == STOPPED), path.name
            checked += 1
    assert checked >= 20
