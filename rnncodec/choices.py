"""The limits, choices and defaults of the codec, its training and the recognizers, in one place
that imports nothing heavy (no torch, no numpy): the library checks its arguments against them and
the ``rnc`` commands offer them (their ``--help`` stays fast)."""

from __future__ import annotations

__all__ = ["MAX_ITERATIONS", "DEFAULT_ITERATIONS", "DEFAULT_TILE_SIZE", "TILE_SIZES", "ALPHA_POLICIES",
           "DOWNSCALE_SIDES", "PRECISIONS", "BACKENDS", "LOSSES", "BINARIZERS", "DISTILL_TARGETS", "CODER_AUTO",
           "MIN_MSSSIM_SIDE", "RECOGNITION_WEIGHTS"]

#: Most iterations the codec codes; each adds 32 bits per 16×16 block (0.125 bpp) before entropy coding.
MAX_ITERATIONS = 16
#: Iterations of a plain encode (no size or quality target), about 0.25 bpp before entropy coding.
DEFAULT_ITERATIONS = 2
#: Tile side (pixels) for large images; 0: the whole image at once.
DEFAULT_TILE_SIZE = 1024
#: The tile sides ``rnc encode`` offers (the library takes any power of two ≥ 128, or 0: readers refuse
#: smaller tiles by default, ``Limits.min_tile_size``).
TILE_SIZES = (0, 256, 512, 1024, 2048)
#: What encoding does with an alpha channel: keep it losslessly in the file, drop it, or refuse the image.
ALPHA_POLICIES = ("keep", "drop", "refuse")
#: Which side of an image a downscale before coding bounds (``encode(shorter_side=…)`` / ``longer_side``).
DOWNSCALE_SIDES = ("shorter", "longer")
#: Arithmetic of the networks (codec and recognizers): bfloat16 where the CPU has native support ("auto").
PRECISIONS = ("auto", "bf16", "fp32")
#: What runs the codec's network (:mod:`rnncodec.backends`); auto: torch when it is installed, else onnx.
BACKENDS = ("auto", "torch", "onnx")
#: The payload coder name that writes the file with every registered coder and keeps the smallest.
CODER_AUTO = "auto"
#: Training losses (:mod:`rnncodec.train`), the first the default.
LOSSES = ("msssim-psnr", "msssim-l1", "l1", "mse")
#: Smallest image side MS-SSIM's five scales work on (with a 3×3 window): the smallest crop of the
#: ``msssim-*`` losses.
MIN_MSSSIM_SIDE = 33
#: How training turns the encoder's outputs into bits (:func:`rnncodec.model.binarize`).
BINARIZERS = ("stochastic", "sign")
#: What the class term of the distillation loss keeps (:func:`rnncodec.train.recognition_loss`), the first
#: the default: the original's class distribution, or its answer (top-1 class) alone.
DISTILL_TARGETS = ("distribution", "answer")
#: The shipped weights for photos a recognizer reads on a server (README, "Which weights when"): what
#: the edge client (``rnc send``, ``rnncodec.edge.client.EdgeClient``) encodes images with unless told.
#: Measured against the default with real pretrained recognizers: docs/recognition.md.
RECOGNITION_WEIGHTS = "GRU_S_MACHINE_V2"
