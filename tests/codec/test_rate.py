"""Rate control (rnncodec.rate, Codec.encode's targets): budgets never exceeded, quality monotone,
impossible targets, and the search consuming no more encodings than it needs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnncodec.codec import Codec
from rnncodec.formats import UnreachableTargetError, read, read_header
from rnncodec.imageio import load_image
from rnncodec.rate import Candidate, RateTarget, RateTargetWarning, prefix_candidates, select

MAX_ITERATIONS = 6


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
def candidates(codec, images):
    """Each image's candidate encodings (1 … MAX_ITERATIONS iterations), PSNR measured."""
    return {name: list(prefix_candidates(codec, load_image(image), MAX_ITERATIONS, measure=True))
            for name, image in images.items()}


def test_prefix_candidates_are_the_plain_encodes_in_increasing_size(codec, images, candidates):
    for name, image in images.items():
        found = candidates[name]
        counts = range(1, MAX_ITERATIONS + 1) if name == "photo" else (1, MAX_ITERATIONS)
        assert [found[k - 1].data for k in counts] == [codec.encode(image, k) for k in counts], name
        sizes = [len(c.data) for c in found]
        assert all(a < b for a, b in zip(sizes, sizes[1:])), name


def test_max_bytes_is_the_largest_file_within_the_budget(codec, images, candidates):
    for name, image in images.items():
        sizes = [len(c.data) for c in candidates[name]]
        budgets = {*sizes, *(s - 1 for s in sizes[1:]), *(s + 1 for s in sizes), sizes[-1] + 10_000,
                   *np.linspace(sizes[0], sizes[-1], 12).astype(int).tolist()}
        for budget in sorted(budgets):
            chosen = select(iter(candidates[name]), RateTarget(max_bytes=budget), budget)
            assert len(chosen.data) <= budget, (name, budget)
            assert len(chosen.data) == max(s for s in sizes if s <= budget), (name, budget)
        for budget in (sizes[0], (sizes[1] + sizes[-1]) // 2, sizes[-1] + 10_000):  # the whole API, end to end
            data = codec.encode(image, MAX_ITERATIONS, max_bytes=budget)
            assert len(data) == max(s for s in sizes if s <= budget), (name, budget)


def test_target_bpp_budget_is_bpp_times_pixels_over_8(codec, images, candidates):
    sizes = [len(c.data) for c in candidates["17x33"]]
    bpp = 8 * sizes[2] / (17 * 33)
    assert len(codec.encode(images["17x33"], MAX_ITERATIONS, target_bpp=bpp)) == sizes[2]
    assert len(codec.encode(images["17x33"], MAX_ITERATIONS, target_bpp=bpp * 0.999)) == sizes[1]


def test_budget_below_one_iteration_raises_or_returns_the_smallest(codec, images, candidates):
    for name in ("photo", "1x1"):
        image = images[name]
        smallest = len(candidates[name][0].data)
        with pytest.raises(UnreachableTargetError, match=f"below the smallest file, {smallest:,} bytes") as caught:
            codec.encode(image, max_bytes=smallest - 1)
        assert caught.value.smallest == smallest
        with pytest.warns(RateTargetWarning, match="below the smallest file"):
            data = codec.encode(image, max_bytes=1, allow_larger=True)
        assert len(data) == smallest and read(data).iterations == 1


def test_quality_is_the_smallest_file_reaching_it_and_monotone(codec, images, candidates):
    for name in ("photo", "17x33", "gray"):
        source = load_image(images[name])
        found = candidates[name]
        for c in found:  # the PSNR measured is that of the image decode gives back
            decoded = np.asarray(codec.decode(c.data), dtype=np.float64)
            reference = source.rgb[..., 0] if source.mode == "L" else source.rgb
            mse = np.mean((decoded - reference) ** 2)
            assert c.psnr == pytest.approx(10 * math.log10(255 ** 2 / mse)), name
        psnrs = sorted(c.psnr for c in found)
        sizes = []
        for q in sorted({*psnrs, *(p - 1e-6 for p in psnrs), psnrs[0] / 2}):
            chosen = select(iter(found), RateTarget(quality=q))
            assert chosen.data == next(c for c in found if c.psnr >= q).data, (name, q)
            sizes.append(len(chosen.data))
        assert sizes == sorted(sizes), name
        top = max(c.psnr for c in found)  # the whole API, end to end
        assert codec.encode(images[name], MAX_ITERATIONS, quality=top) == next(c for c in found if c.psnr >= top).data


def test_quality_out_of_reach_keeps_the_most_iterations(codec, images):
    with pytest.warns(RateTargetWarning, match="PSNR 99 dB is out of reach: 3 iterations give"):
        data = codec.encode(images["photo"], 3, quality=99)
    assert data == codec.encode(images["photo"], 3)


def test_the_search_consumes_only_the_candidates_it_needs():
    consumed = []

    def candidates():
        for k, size in enumerate((100, 200, 300, 400, 500), 1):
            consumed.append(k)
            yield Candidate(k, bytes(size), psnr=10.0 * k)

    assert select(candidates(), RateTarget(max_bytes=250), 250).iterations == 2 and consumed == [1, 2, 3]
    consumed.clear()
    assert select(candidates(), RateTarget(quality=20)).iterations == 2 and consumed == [1, 2]


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
