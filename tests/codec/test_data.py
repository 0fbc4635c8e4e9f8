"""rnncodec.data: the crops training sees."""

from __future__ import annotations

import numpy as np
import torch

from rnncodec.data import CropSampler


def _images():
    rng = np.random.default_rng(3)
    return [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8), rng.integers(0, 256, (72, 33, 3), dtype=np.uint8)]


def test_crops_are_square_in_unit_range_and_reproducible():
    first, second = CropSampler(_images(), 32, seed=5), CropSampler(_images(), 32, seed=5)
    batch = first.sample(6)
    assert batch.shape == (6, 3, 32, 32) and batch.dtype == torch.float32
    assert 0 <= float(batch.min()) and float(batch.max()) <= 1
    assert torch.equal(batch, second.sample(6))


def test_sampler_moved_to_a_device_cuts_the_same_crops_there():
    """What a GPU run does (``sampler.to("cuda")``): the images move, the random crops stay the same."""
    here, moved = CropSampler(_images(), 32, seed=9), CropSampler(_images(), 32, seed=9)
    assert moved.to("cpu") is moved
    state = here.state()
    expected = here.sample(4)
    moved.set_state(state)
    assert all(image.device.type == "cpu" for image in moved.images)
    assert torch.equal(moved.sample(4), expected)
