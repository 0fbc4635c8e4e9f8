"""Training data: random crops, with augmentation, from folders of photos."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.nn import functional as F

__all__ = ["IMAGE_SUFFIXES", "find_images", "load_rgb", "CropSampler"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"})


def find_images(folders: Iterable[Path | str]) -> list[Path]:
    """Every image file under ``folders`` (recursively), sorted, so runs are reproducible."""
    paths: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if folder.is_file():
            paths.append(folder)
            continue
        if not folder.is_dir():
            raise FileNotFoundError(f"no such folder: {folder}")
        paths.extend(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    return sorted(paths)


def load_rgb(path: Path | str) -> np.ndarray:
    """An image file as an H×W×3 uint8 array, EXIF orientation applied."""
    with Image.open(path) as image:
        return np.array(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.uint8)


class CropSampler:
    """Random square crops from images held in memory, as float tensors in [0, 1].

    Each crop covers a random region ``crop / s`` pixels wide (``s`` uniform in ``scale``),
    resized to ``crop`` with antialiasing, then flipped horizontally with probability 1/2.
    Downscaling is what makes small training sets go further: it shows the network the
    statistics of the same scene at other resolutions.  The random state lives in
    :attr:`rng` so that a training checkpoint can save and restore it exactly.
    """

    def __init__(self, images: Sequence[np.ndarray], crop: int, seed: int = 0,
                 scale: tuple[float, float] = (0.5, 1.0)):
        if not images:
            raise ValueError("no training images")
        self.images = [torch.from_numpy(img).permute(2, 0, 1) for img in images]
        self.crop = crop
        self.scale = scale
        self.rng = np.random.default_rng(seed)

    @classmethod
    def from_folders(cls, folders: Iterable[Path | str], crop: int, seed: int = 0, **kwargs) -> "CropSampler":
        paths = find_images(folders)
        if not paths:
            raise FileNotFoundError(f"no images found in {', '.join(map(str, folders))}")
        return cls([load_rgb(p) for p in paths], crop, seed, **kwargs)

    def to(self, device: torch.device | str) -> "CropSampler":
        """Hold the images on ``device`` (a GPU's memory), so that crops are cut and resized there: on a
        GPU the CPU's resizing would take longer than the training step.  Returns self."""
        self.images = [image.to(device) for image in self.images]
        return self

    def _one(self) -> torch.Tensor:
        image = self.images[self.rng.integers(len(self.images))]
        _, height, width = image.shape
        largest = min(height, width) / self.crop
        scale = self.rng.uniform(*self.scale)
        region = int(round(self.crop / max(scale, 1 / largest)))
        region = max(min(region, height, width), 1)
        top = int(self.rng.integers(height - region + 1))
        left = int(self.rng.integers(width - region + 1))
        patch = image[:, top:top + region, left:left + region].float().unsqueeze(0) / 255
        if region != self.crop:
            patch = F.interpolate(patch, size=(self.crop, self.crop), mode="bilinear",
                                  antialias=True, align_corners=False)
        if self.rng.random() < 0.5:
            patch = patch.flip(-1)
        return patch[0].clamp_(0, 1)

    def sample(self, batch_size: int) -> torch.Tensor:
        return torch.stack([self._one() for _ in range(batch_size)])

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state
