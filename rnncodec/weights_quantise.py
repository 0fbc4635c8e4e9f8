"""Weights defined as a quantised difference from a base: what lets one more entry ship small.

    python -m rnncodec.weights_quantise runs/m4/gru-s-machine.pt --base weights/gru-s-cc7e79a7.pt \\
        --step 0.002 -o runs/m4/gru-s-machine-q.pt

A fine-tune of shipped weights changes every float32 mantissa, so even stored as a lossless
difference from its base it takes ~8.5 MB of the 11.4 MB ``gru-s`` file (:mod:`rnncodec.weights_pack`).
This makes *new* weights ``Q`` from trained weights ``W`` and a base ``B`` of the same network,
tensor by tensor: ``q = round((W − B) / step)`` (float64, ties to even) and ``Q = B + q · step`` in
float32 (:func:`rnncodec.weights_pack.dequantise`), one absolute ``step`` for every tensor.  ``Q``
is an ordinary weights file — the one to evaluate and ship, whose SHA-256 files name — and its
pack against ``B`` (``python -m rnncodec.weights_pack Q.pt --base B.pt --step STEP``) stores only
the integers, entropy-coded, from which every machine rebuilds ``Q`` byte for byte.

Measured on run m3 (``gru-s`` fine-tuned from GRU_S_V4; its differences from V4 have a standard
deviation of 4–7·10⁻³ in every tensor): step 0.001 / 0.002 / 0.0025 / 0.0035 give packs of
1.70 / 1.35 / 1.23 / 1.06 MB, and Kodak PSNR within 0.004 / 0.005 / 0.017 / 0.029 dB of ``W`` at
1–4 iterations (6 images; docs/training.md#shipping-a-fine-tune-as-a-quantised-difference) —
0.002 is the default.  ``Q``'s meta records what was done (``quantised``: ``step``, the base's and
the source's SHA-256, the largest change); everything else of ``W``'s meta is kept.

Older entries ship small another way: :func:`rounded_file` rounds every weight to ``K`` of its 23
mantissa bits (ties to even) in a file with the same bytes but those of the tensors, so their ONNX
graphs read it as they read the original, and its pack alone codes only those bits (format 4;
``python -m rnncodec.weights_pack NAME.pt --mantissa-bits K``).  Measured on
GRU_S_V1 at 12 bits: 5.60 MB instead of its 9.23 MB lossless pack, and three Kodak images encoded
with the exact weights decode within one level of the exact decodes (75–76 dB against them;
docs/training.md#room-for-older-weights-rounded-mantissas).

``B`` may be a shipped entry that is itself packed (``--base GRU_S_MACHINE_V1``, its ``.ptpack``,
or its ``.pt`` where only the pack is installed): it is unpacked through its own base first, so a
run continued from a shipped fine-tune ships as its difference from that one — a chain of packs
(run m5 at step 195: 0.70 MB against GRU_S_MACHINE_V1, 1.39 MB against GRU_S_V4).
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from .errors import UnknownWeightsError
from .weights import PACK_SUFFIX, RNCWeights, read_weights_file, resolve_weights, save_weights, sha256_file
from .weights_pack import dequantise, pack

__all__ = ["DEFAULT_STEP", "quantise", "rounded_file"]

#: The step measured to cost no quality (≤ 0.005 dB on Kodak for run m3).
DEFAULT_STEP = 0.002


def quantise(weights: Union[str, Path], base: Union[str, Path, RNCWeights], out: Union[str, Path], *,
             step: float = DEFAULT_STEP) -> Path:
    """Write ``out``: the weights ``weights`` quantised as a difference from ``base`` (same
    architecture) with ``step``; returns ``out``.  ``base`` is a weights file, a shipped entry
    (or its name), or a pack — a shipped entry that is itself packed is unpacked through its own
    base, so a fine-tune of a fine-tune packs against its parent (a chain).
    :class:`UnknownWeightsError` if the two are not weights of the same network (its
    :class:`~rnncodec.errors.PackedWeightsBaseError` if a packed base cannot be unpacked),
    ``ValueError`` for a step that is not a positive float."""
    from .model import RecurrentCodec

    step32 = float(np.float32(step))
    if not (np.isfinite(step32) and step32 > 0):
        raise ValueError(f"the quantisation step must be a positive number, not {step!r}")
    base, _ = resolve_weights(base)
    config, state, meta = read_weights_file(weights)
    base_config, base_state, _ = read_weights_file(base)
    if config.to_dict() != base_config.to_dict() or state.keys() != base_state.keys() or any(
            state[key].shape != base_state[key].shape for key in state):
        raise UnknownWeightsError(f"{weights}: not weights of the same network as {base}")
    quantised, largest = {}, 0.0
    for key, tensor in state.items():
        ours, theirs = tensor.float().numpy(), base_state[key].float().numpy()
        q = np.rint((ours.astype(np.float64) - theirs) / step32)
        if not np.all(np.abs(q) < 1 << 15):
            raise ValueError(f"{weights}: {key} is more than 2¹⁵ steps of {step32} from the base (a larger step?)")
        values = dequantise(theirs, q.astype(np.int32), step32)
        largest = max(largest, float(np.max(np.abs(values.astype(np.float64) - ours), initial=0.0)))
        quantised[key] = values
    import torch

    model = RecurrentCodec(config)
    model.load_state_dict({key: torch.from_numpy(values) for key, values in quantised.items()})
    record = {"step": step32, "base_sha256": sha256_file(base), "source_sha256": sha256_file(weights),
              "largest_change": largest}
    return save_weights(model, out, meta={**meta, "quantised": record})


def rounded_file(weights: Union[str, Path], bits: int) -> bytes:
    """The weights file ``weights`` with every weight rounded to ``bits`` (1…23) of its 23 mantissa
    bits, ties to even, and nothing else changed (the zip's CRC-32s aside): every tensor lies at the
    same offset, so the ONNX graphs made from ``weights`` read it alike.  :class:`UnknownWeightsError`
    for a file whose tensors are not all float32 (as :func:`rnncodec.weights.save_weights` writes
    them)."""
    from .weights_pack import tensor_regions, with_tensor_bytes

    if not 1 <= bits <= 23:
        raise ValueError(f"mantissa bits must be 1…23, not {bits}")
    _, state, _ = read_weights_file(weights)  # the same checks as loading it
    if any(str(tensor.dtype) != "torch.float32" for tensor in state.values()):
        raise UnknownWeightsError(f"{weights}: not every tensor is float32")
    data = Path(weights).read_bytes()
    return with_tensor_bytes(data, {
        name: _rounded(np.frombuffer(data, "<f4", count=length // 4, offset=offset), bits).tobytes()
        for name, (offset, length) in tensor_regions(io.BytesIO(data)).items()})


def _rounded(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` (float32) rounded to ``bits`` mantissa bits, ties to even; infinities and NaNs as
    they are, and a finite value that would round to infinity is an error."""
    words = np.ascontiguousarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    drop = 23 - bits
    if drop:
        odd = (words >> np.uint64(drop)) & np.uint64(1)
        rounded = (words + np.uint64((1 << (drop - 1)) - 1) + odd) & np.uint64(~((1 << drop) - 1) & 0xFFFFFFFF)
        finite = (words >> np.uint64(23)) & np.uint64(0xFF) != np.uint64(0xFF)
        if np.any(finite & ((rounded >> np.uint64(23)) & np.uint64(0xFF) == np.uint64(0xFF))):
            raise ValueError("a weight too large to round")
        words = np.where(finite, rounded, words)
    return words.astype("<u4").view("<f4").reshape(values.shape)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnncodec.weights_quantise",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", type=Path, help="the trained weights (W)")
    parser.add_argument("--base", required=True,
                        help="the weights they were fine-tuned from (B): a file, a shipped entry's name "
                             "(GRU_S_MACHINE_V1), or a pack (NAME.ptpack; a shipped file that is packed "
                             "is unpacked through its own base)")
    parser.add_argument("--step", type=float, default=DEFAULT_STEP,
                        help=f"the quantisation step of every tensor's difference (default {DEFAULT_STEP})")
    parser.add_argument("-o", "--out", type=Path, required=True, help="the quantised weights file to write (Q)")
    parser.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    args = parser.parse_args(argv)
    if args.out.exists() and not args.force:
        parser.error(f"{args.out} exists (--force overwrites it)")
    try:
        base_path, base_name = resolve_weights(args.base)  # once: quantise() takes the resolved file
        out = quantise(args.weights, base_path, args.out, step=args.step)
    except (UnknownWeightsError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    packed = pack(out.read_bytes(), base_path.read_bytes(), step=args.step)
    meta = read_weights_file(out)[2]["quantised"]
    print(f"{out}: sha256 {sha256_file(out)}, largest change {meta['largest_change']:.2e}; its pack against "
          f"{base_name}: {len(packed):,} bytes (python -m rnncodec.weights_pack {out} --base {args.base} "
          f"--step {args.step} writes it as {out.with_suffix(PACK_SUFFIX).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
