"""Rate control (rnncodec.rate, Codec.encode's targets): budgets never exceeded and filled by a last
iteration of the worst blocks, per-block quality monotone in file size, impossible targets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnncodec.adaptive import PlanErrors, iteration_gains, psnr_of
from rnncodec.codec import STOPPED
from rnncodec.formats import UnreachableTargetError, read, read_header
from rnncodec.imageio import load_image
from rnncodec.rate import RateTarget, RateTargetWarning, encode_to_target

MAX_ITERATIONS = 5
#: encode_to_target returns warnings in its result; the API's warnings are tested where they matter.
pytestmark = pytest.mark.filterwarnings("ignore::rnncodec.rate.RateTargetWarning")


@pytest.fixture(scope="module")
def codec():
    """The shipped network (a random one's codes are too regular for a partial iteration to pay)."""
    from rnncodec.codec import Codec

    return Codec("GRU_S_V4", precision="fp32")


@pytest.fixture(scope="module")
def images(photo):
    """Photos of many shapes: the 100×72 crop, 1×1, 17×33, a grayscale and a flat one."""
    rng = np.random.default_rng(12)
    return {
        "photo": photo,
        "1x1": photo[:1, :1],
        "17x33": np.ascontiguousarray(photo[5:22, 40:73]),
        "gray": np.ascontiguousarray(photo[:40, :48, 1]),
        "noise": rng.integers(0, 256, (20, 50, 3), dtype=np.uint8),
        "flat": np.full((16, 16, 3), 200, dtype=np.uint8),
    }


@pytest.fixture(scope="module")
def uniform_sizes(codec, images):
    """Each image's plain file sizes at 1 … MAX_ITERATIONS iterations."""
    sizes = {}
    for name, image in images.items():
        source = load_image(image)
        codes = list(codec.iter_codes(source.rgb, MAX_ITERATIONS))
        sizes[name] = [len(codec.file_bytes(source, codes[:k])) for k in range(1, MAX_ITERATIONS + 1)]
    return sizes


@pytest.mark.slow
def test_max_bytes_never_exceeds_the_budget_and_fills_it_with_the_worst_blocks(codec, images, uniform_sizes):
    for name, image in images.items():
        sizes = uniform_sizes[name]
        budgets = {sizes[0], sizes[1] - 1, sizes[1] + 1, (sizes[2] + sizes[3]) // 2, sizes[-1], sizes[-1] + 10_000}
        for budget in sorted(budgets):
            result = encode_to_target(codec, image, RateTarget(max_bytes=budget), MAX_ITERATIONS)
            assert len(result.data) <= budget, (name, budget)
            assert len(result.data) >= max(s for s in sizes if s <= budget), (name, budget)  # never below uniform
            rnc = read(result.data)
            assert rnc.iterations == result.iterations and result.met
            whole = sum(s <= budget for s in sizes)
            assert result.iterations in (whole, whole + 1)
            if rnc.header.coder == "adaptive":  # a last iteration that only some blocks send
                *earlier, last = rnc.codes()
                assert not any((bits == STOPPED).any() for bits in earlier)
                sending = int((last != STOPPED).all(0).sum())
                assert 0 < sending < last.shape[1] * last.shape[2]
                assert result.block_iterations == pytest.approx(whole + sending / (last.shape[1] * last.shape[2]))
            assert np.asarray(codec.decode(result.data)).shape[:2] == image.shape[:2]


def test_the_last_iteration_goes_to_the_blocks_with_the_largest_error(codec):
    from skimage import data

    image = np.ascontiguousarray(data.astronaut()[100:228, 150:310])  # 80 blocks
    source = load_image(image)
    steps = list(codec.iter_codes_measured(source.rgb, 3, measure="before"))
    sizes = [len(codec.file_bytes(source, [bits for bits, _ in steps[:k]])) for k in (2, 3)]
    for budget in np.linspace(sizes[0] + 40, sizes[1] - 1, 4).astype(int):
        result = encode_to_target(codec, image, RateTarget(max_bytes=int(budget)), 3)
        rnc = read(result.data)
        assert rnc.header.coder == "adaptive" and result.iterations == 3 and sizes[0] < len(result.data) <= budget
        sending = (rnc.codes()[2] != STOPPED).all(0)
        assert steps[2][1][sending].min() >= steps[2][1][~sending].max()


def test_a_budget_stops_where_another_iteration_makes_the_image_no_better(codec, images, uniform_sizes,
                                                                         monkeypatch):
    """Weights get worse past the iterations they were trained for (GRU_S_V4 past 8): a roomy budget
    keeps the iterations that still lower the image's error, a smaller file than it allows."""
    real = codec.iter_codes_measured

    def worse_after_two(rgb, iterations, *args, measure=None, **kwargs):
        second = None
        for t, (bits, errors) in enumerate(real(rgb, iterations, *args, measure=measure, **kwargs), 1):
            after = t - (measure == "before")  # the iterations the measured reconstruction has had
            second = errors if after == 2 else second
            yield bits, errors if after <= 2 or errors is None else second * (1 + 0.01 * after)

    monkeypatch.setattr(codec, "iter_codes_measured", worse_after_two)
    sizes = uniform_sizes["photo"]
    for budget in (sizes[2], sizes[-1] + 10_000):
        data = codec.encode(images["photo"], MAX_ITERATIONS, max_bytes=budget)
        assert read(data).iterations == 2 and len(data) == sizes[1]
    assert read(codec.encode(images["photo"], MAX_ITERATIONS)).iterations == MAX_ITERATIONS  # asked for: coded


def test_a_named_coder_keeps_whole_iterations(codec, images, uniform_sizes):
    sizes = uniform_sizes["photo"]
    budget = (sizes[1] + sizes[2]) // 2
    data = codec.encode(images["photo"], MAX_ITERATIONS, max_bytes=budget, coder="context")
    assert read_header(data).coder == "context" and read(data).iterations == 2


def test_target_bpp_budget_is_bpp_times_pixels_over_8(codec, images, uniform_sizes):
    sizes = uniform_sizes["17x33"]
    bpp = 8 * sizes[2] / (17 * 33)
    assert len(codec.encode(images["17x33"], MAX_ITERATIONS, target_bpp=bpp)) == sizes[2]
    assert len(codec.encode(images["17x33"], MAX_ITERATIONS, target_bpp=bpp * 0.999)) <= math.floor(
        bpp * 0.999 * 17 * 33 / 8)


def test_budget_below_one_iteration_raises_or_returns_the_smallest(codec, images, uniform_sizes):
    for name in ("photo", "1x1"):
        image = images[name]
        smallest = uniform_sizes[name][0]
        with pytest.raises(UnreachableTargetError, match=f"below the smallest file, {smallest:,} bytes") as caught:
            codec.encode(image, max_bytes=smallest - 1)
        assert caught.value.smallest == smallest
        with pytest.warns(RateTargetWarning, match="below the smallest file"):
            data = codec.encode(image, max_bytes=1, allow_larger=True)
        assert len(data) == smallest and read(data).iterations == 1


def _gains_db(codec, image):
    """What the iterations 2 … MAX_ITERATIONS of the uniform encoding gain each block, in dB (the scale of quality)."""
    errors = [errors for _, errors in codec.iter_codes_measured(load_image(image).rgb, MAX_ITERATIONS,
                                                                measure="after", block_error=PlanErrors())]
    gains = np.concatenate([gain.ravel() for gain in iteration_gains(errors)])
    return psnr_of(gains[gains > 0])


@pytest.mark.slow
def test_quality_is_monotone_in_file_size(codec, images):
    for name in ("photo", "17x33"):
        gains = _gains_db(codec, images[name])
        targets = sorted({*np.quantile(gains, np.linspace(0, 1, 7)).round(3).tolist(), 1.0, 99.0})
        sizes, iterations = [], []
        for q in targets:
            result = encode_to_target(codec, images[name], RateTarget(quality=q), MAX_ITERATIONS)
            sizes.append(len(result.data))
            iterations.append(result.block_iterations)
        assert sizes == sorted(sizes), (name, list(zip(targets, sizes)))
        assert iterations == sorted(iterations) and iterations[0] == 1 and iterations[-1] == MAX_ITERATIONS


def test_quality_stops_blocks_that_gain_less_and_reports_the_image_psnr(codec, images):
    image = images["photo"]
    result = encode_to_target(codec, image, RateTarget(quality=float(np.median(_gains_db(codec, image)))),
                              MAX_ITERATIONS)
    rnc = read(result.data)
    assert rnc.header.coder == "adaptive" and 1 < result.block_iterations < result.iterations
    decoded = np.asarray(codec.decode(result.data), np.float64)
    assert result.psnr == pytest.approx(10 * math.log10(255 ** 2 / np.mean((decoded - image) ** 2)))


def test_quality_codes_exactly_what_an_encode_of_its_plan_from_the_start_codes(codec, images):
    # the adaptive encoding goes on from the uniform one's state after the iterations every block sends
    image = images["photo"]
    gains = _gains_db(codec, image)
    for q in np.quantile(gains, [0.3, 0.7]):
        result = encode_to_target(codec, image, RateTarget(quality=float(q)), MAX_ITERATIONS)
        codes = read(result.data).codes()
        sends = sum((bits[0] != STOPPED).astype(int) for bits in codes)
        assert 1 <= sends.min() < result.iterations
        from_start = list(codec.iter_codes(load_image(image).rgb, result.iterations, sends))
        assert all(np.array_equal(a, b) for a, b in zip(codes, from_start, strict=True))


def test_quality_out_of_reach_sends_every_block_every_iteration(codec, images):
    with pytest.warns(RateTargetWarning, match="blocks still gain more than 99 dB's error at iteration 3"):
        data = codec.encode(images["photo"], 3, quality=99)
    assert data == codec.encode(images["photo"], 3)
    assert codec.encode(images["photo"], 3, quality=1) == codec.encode(images["photo"], 1)  # no iteration gains 1 dB's


def test_targets_are_checked(codec, images):
    with pytest.raises(ValueError, match="exactly one of max_bytes, bpp and quality, got max_bytes, quality"):
        codec.encode(images["photo"], max_bytes=100, quality=30)
    with pytest.raises(ValueError, match="allow_larger goes with max_bytes or bpp"):
        codec.encode(images["photo"], allow_larger=True)
    for bad in (dict(max_bytes=0), dict(max_bytes=1.5), dict(bpp=-1.0), dict(quality=math.nan)):
        with pytest.raises(ValueError, match="must be a positive"):
            RateTarget(**bad)
    assert RateTarget.from_options() is None
    assert RateTarget(bpp=0.5).budget(17, 33) == math.floor(0.5 * 17 * 33 / 8)
    assert read(codec.encode(images["photo"])).iterations == 2  # no target: the default iterations



def test_downscale_to_fit_codes_the_largest_size_that_fits(codec, images):
    from skimage.data import chelsea  # 451×300

    cat = chelsea()
    smallest = len(codec.encode(cat, 1))
    for budget in (smallest - 1, smallest // 3, 300):
        data = codec.encode(cat, max_bytes=budget, downscale_to_fit=True)
        coded = read(data)
        assert len(data) <= budget and coded.metadata["source_size"] == [451, 300]
        width, height = coded.header.width, coded.header.height
        assert abs(width / height - 451 / 300) < 0.05  # the aspect kept
        blocks = -(-width // 16) * -(-height // 16)
        larger = (width + 16, round((width + 16) * 300 / 451))
        with pytest.raises(UnreachableTargetError):  # a size with more blocks would not have fitted
            codec.encode(cat, max_bytes=budget, longer_side=larger[0])
        assert blocks >= 1
    assert "source_size" not in read(codec.encode(cat, max_bytes=smallest, downscale_to_fit=True)).metadata
    with pytest.raises(UnreachableTargetError, match="below the smallest file at any size"):
        codec.encode(images["1x1"], max_bytes=20, downscale_to_fit=True)
    with pytest.raises(ValueError, match="downscale_to_fit goes with max_bytes"):
        codec.encode(cat, target_bpp=0.01, downscale_to_fit=True)
    with pytest.raises(ValueError, match="downscale_to_fit goes with max_bytes"):
        codec.encode(cat, max_bytes=300, downscale_to_fit=True, allow_larger=True)


def test_a_stripped_file_spends_the_metadatas_bytes_on_codes(codec, images):
    from skimage.data import chelsea  # 451×300

    budget = len(codec.encode(images["photo"], 1)) + 150
    full = read(codec.encode(images["photo"], max_bytes=budget))
    bare_data = encode_to_target(codec, images["photo"], RateTarget(max_bytes=budget), MAX_ITERATIONS,
                                 strip_metadata=True).data
    bare = read(bare_data)
    assert len(bare_data) <= budget and bare.metadata is None and full.metadata is not None
    assert sum(bare.bytes_per_iteration) >= sum(full.bytes_per_iteration)
    cat = chelsea()
    small = codec.encode(cat, max_bytes=len(codec.encode(cat, 1)) // 3, downscale_to_fit=True, strip_metadata=True)
    assert read(small).metadata == {"source_size": [451, 300]}  # kept: decoding at the source size needs it
