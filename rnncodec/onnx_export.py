"""Export weights to the ONNX graphs the torch-free backend runs (needs torch and onnx).

    python -m rnncodec.onnx_export GRU_S_V4        # a registry entry: beside its .pt (weights/)
    python -m rnncodec.onnx_export --all           # every shipped entry
    python -m rnncodec.onnx_export my-weights.pt   # any weights file: my-weights.{encoder,decoder}[-first].onnx

Each weights file gives two graphs, one step each of the per-iteration loop the torch codec runs
(:meth:`rnncodec.model.RecurrentCodec.encode_step` / ``decode_step``), the recurrent states as
explicit inputs and outputs (``state_0`` … in, ``new_state_0`` … out; zeros before the first
iteration, which gives the codes of the cells' ``state=None`` start), height and width dynamic,
float32, ONNX opset 17.  Each also comes as a first-iteration variant (``NAME.encoder-first.onnx``,
``NAME.decoder-first.onnx``) for the zero states: the cells' state convolutions (bias-free, so
zeros on zero states) are replaced by zeros, and every other operation is the general graph's, so
its outputs are bit for bit the general graph's on zero states (tests/codec/test_onnx_export.py)
at a fraction of the work — 60 % of a decoder step at 768×512 is those convolutions.  The graphs'
metadata names the weights' SHA-256 (``rnncodec.weights_sha256``) and the architecture
(``rnncodec.config``).  tests/codec/test_onnx_export.py checks that every shipped entry has
graphs that compute what its ``.pt`` does.

The graphs hold no copy of the weights: their initializers are ONNX *external data* pointing at
the tensors' bytes inside the ``.pt`` beside them (a ``torch.save`` file is an uncompressed zip
of raw little-endian tensors), so each graph is 25–42 KB and the weights are shipped once.  An
initializer not found in the ``.pt`` (none, for the shipped architectures) stays in the graph.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Optional, Sequence, Union

import torch
from torch import nn

from .atomic import atomic_path
from .backends import state_shapes
from .backends.onnx_backend import CONFIG_KEY, SHA256_KEY
from .weights import ONNX_PARTS, RNCWeights, load_weights, onnx_paths, resolve_weights
from .weights_pack import tensor_regions

__all__ = ["export_onnx"]

OPSET = 17
_EXAMPLE_SIZE = 64  # height and width of the example tile the graphs are traced with (any multiple of 16)


class _Step(nn.Module):
    """One step of the encoder or decoder with flat state tensors (ONNX has no nested inputs)."""

    def __init__(self, model, part: str):
        super().__init__()
        self.model, self.part = model, part
        self.per_cell = 2 if model.config.cell == "lstm" else 1

    def forward(self, first: torch.Tensor, reconstruction: torch.Tensor, *flat: torch.Tensor):
        states = [tuple(flat[i:i + self.per_cell]) for i in range(0, len(flat), self.per_cell)]
        step = self.model.encode_step if self.part == "encoder" else self.model.decode_step
        out, states = step(first, reconstruction, states)
        return (out, *(tensor for state in states for tensor in state))


class _ZeroStateConv(nn.Module):
    """What a cell's bias-free state convolution gives on a zero state: zeros (of its output's shape)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.bias is not None or conv.stride != (1, 1):
            raise ValueError("a state convolution is bias-free and keeps the state's size")
        self.channels = conv.out_channels

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return state.new_zeros(state.shape[0], self.channels, state.shape[2], state.shape[3])


def _first_step_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` for the first iteration: its cells' state convolutions are zeros."""
    model = copy.deepcopy(model)
    for cell in (*model.encoder.rnns, *model.decoder.rnns):
        cell.hidden_conv = _ZeroStateConv(cell.hidden_conv)
    return model


def _tensor_blobs(pt_path: Path) -> dict[bytes, tuple[int, int]]:
    """SHA-256 of each tensor storage in a ``torch.save`` zip → (offset, length) of its bytes in the file."""
    blobs = {}
    with open(pt_path, "rb") as fh:
        for offset, length in tensor_regions(fh).values():
            fh.seek(offset)
            blobs[hashlib.sha256(fh.read(length)).digest()] = (offset, length)
    return blobs


def _point_initializers_at(graph, pt_path: Path) -> None:
    """Make every initializer whose bytes are a tensor of ``pt_path`` external data read from there."""
    import onnx
    from onnx import numpy_helper

    blobs = _tensor_blobs(pt_path)
    for initializer in graph.graph.initializer:
        array = numpy_helper.to_array(initializer)
        found = blobs.get(hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes()).digest())
        if found is None:
            continue
        initializer.ClearField("raw_data")
        initializer.data_location = onnx.TensorProto.EXTERNAL
        del initializer.external_data[:]
        for key, value in (("location", pt_path.name), ("offset", str(found[0])), ("length", str(found[1]))):
            entry = initializer.external_data.add()
            entry.key, entry.value = key, value


def export_onnx(weights: Union[None, str, os.PathLike, RNCWeights]) -> dict[str, Path]:
    """Write the encoder and decoder graphs of ``weights`` (and their first-iteration variants)
    beside its ``.pt``; returns their paths."""
    import onnx

    path, _ = resolve_weights(weights)
    loaded = load_weights(weights)
    model, config = loaded.model, loaded.config
    targets = onnx_paths(path)
    size = _EXAMPLE_SIZE
    image = torch.zeros(1, config.colour_channels, size, size)
    signs = torch.ones(1, config.bits, size // 16, size // 16)
    first_step_model = _first_step_model(model)
    encoder_shapes, decoder_shapes = state_shapes(config, size, size)
    for part in ONNX_PARTS:
        role = part.split("-")[0]  # "encoder" or "decoder"
        first_name, first, shapes = (("x", image, encoder_shapes) if role == "encoder" else
                                     ("signs", signs, decoder_shapes))
        states = [torch.zeros(shape) for shape in shapes]
        inputs = [first_name, "reconstruction", *(f"state_{i}" for i in range(len(states)))]
        outputs = ["signs" if role == "encoder" else "new_reconstruction",
                   *(f"new_state_{i}" for i in range(len(states)))]
        step = _Step(first_step_model if part.endswith("-first") else model, role)
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(step, (first, image, *states), buffer, dynamo=False,
                              opset_version=OPSET, input_names=inputs, output_names=outputs,
                              dynamic_axes={name: {2: f"{name}_height", 3: f"{name}_width"}
                                            for name in inputs + outputs})
        graph = onnx.load_from_string(buffer.getvalue())
        _point_initializers_at(graph, path)
        onnx.helper.set_model_props(graph, {SHA256_KEY: loaded.sha256, CONFIG_KEY: json.dumps(config.to_dict()),
                                            "rnncodec.part": part})
        with atomic_path(targets[part]) as tmp:
            onnx.save(graph, str(tmp))
    return targets


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rnncodec.onnx_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="*", help="registry entries (GRU_S_V4) or weights files")
    parser.add_argument("--all", action="store_true", help="every shipped registry entry")
    args = parser.parse_args(argv)
    entries = [*args.weights, *([name for name in RNCWeights.__members__ if name != "DEFAULT"] if args.all else [])]
    if not entries:
        parser.error("name weights to export, or --all")
    for entry in entries:
        for part, target in export_onnx(entry).items():
            print(f"{entry}: {part} → {target} ({target.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
