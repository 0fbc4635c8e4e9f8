"""Image quality metrics: PSNR and MS-SSIM (the maintained ``pytorch-msssim`` implementation)."""

from __future__ import annotations

import math

import torch
from pytorch_msssim import ms_ssim as _ms_ssim

from .choices import MIN_MSSSIM_SIDE

__all__ = ["psnr", "ms_ssim", "msssim_window", "MIN_MSSSIM_SIDE"]



def msssim_window(side: int) -> int:
    """The largest Gaussian window (11 preferred) that five MS-SSIM scales allow on ``side`` pixels."""
    for win in (11, 9, 7, 5, 3):
        if side > (win - 1) * 16:
            return win
    raise ValueError(f"MS-SSIM needs images of at least {MIN_MSSSIM_SIDE} pixels a side, got {side}")


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two images in [0, 1] (peak 1), over all channels."""
    mse = torch.mean((a.double() - b.double()) ** 2).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def ms_ssim(a: torch.Tensor, b: torch.Tensor) -> float:
    """MS-SSIM (5 scales, 11×11 Gaussian window, RGB averaged) of two N×C×H×W images in [0, 1].

    Images whose shorter side is at most 160 pixels are too small for five scales; they get
    the same scales with a smaller window (7, then 5, 3) rather than an error.
    """
    win = msssim_window(min(a.shape[-2:]))
    return float(_ms_ssim(a.float(), b.float(), data_range=1.0, size_average=True, win_size=win))
