"""Export weights to the ONNX graphs the torch-free backend runs (needs torch and onnx).

    python -m rnncodec.onnx_export GRU_S_V4        # a registry entry: beside its .pt (weights/)
    python -m rnncodec.onnx_export --all           # every shipped entry
    python -m rnncodec.onnx_export my-weights.pt   # any weights file: my-weights.{encoder,decoder}[-first].onnx

Each weights file gives two graphs, one step each of the per-iteration loop the torch codec runs
(:meth:`rnncodec.model.RecurrentCodec.encode_step` / ``decode_step``), the recurrent states as
explicit inputs and outputs (``state_0`` … in, ``new_state_0`` … out), height and width dynamic,
float32, ONNX opset 17.  Each also comes as a first-iteration variant (``NAME.encoder-first.onnx``,
``NAME.decoder-first.onnx``) with no state inputs: the cells' ``state=None`` start, as the torch
codec runs it (h₀ = 0, so neither the state convolutions nor a GRU's reset gate count).  The
graphs' metadata names the weights' SHA-256 (``rnncodec.weights_sha256``) and the architecture
(``rnncodec.config``).  tests/codec/test_onnx_export.py checks that every shipped entry has graphs
that compute what its ``.pt`` does.

A ConvGRU cell is exported with each gate's convolutions apart (:class:`_GateSplitGRU`) rather
than one 3×-wide convolution whose output is cut into gates: no copies for the cuts (18 slices
of a general step), ONNX Runtime fuses a first step's activations into its convolutions, and
the first step skips the reset gate's third of the input convolution.  The same arithmetic
(:func:`rnncodec.model.gru_state`), the same codes; a cold ``rnc encode -n 2`` of a 768×512
photo took 0.69× the wall time (docs/api.md).

The graphs hold no copy of the weights: their initializers are ONNX *external data* pointing at
the tensors' bytes inside the ``.pt`` beside them (a ``torch.save`` file is an uncompressed zip
of raw little-endian tensors; a gate's convolution reads its output channels, a contiguous part
of the cell's tensor), so each graph is 7–22 KB and the weights are shipped once.  An
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

import numpy as np
import torch
from torch import nn

from .atomic import atomic_path
from .backends import state_shapes
from .backends.onnx_backend import CONFIG_KEY, SHA256_KEY
from .model import ConvGRUCell, gru_state
from .weights import ONNX_PARTS, RNCWeights, load_weights, onnx_paths, resolve_weights
from .weights_pack import tensor_regions

__all__ = ["export_onnx"]

OPSET = 17
_EXAMPLE_SIZE = 64  # height and width of the example tile the graphs are traced with (any multiple of 16)


class _Step(nn.Module):
    """One step of the encoder or decoder with flat state tensors (ONNX has no nested inputs);
    ``first``: the first step, from no states (the cells' ``state=None`` start)."""

    def __init__(self, model, part: str, first: bool):
        super().__init__()
        self.model, self.part, self.first = model, part, first
        self.per_cell = 2 if model.config.cell == "lstm" else 1

    def forward(self, first: torch.Tensor, reconstruction: torch.Tensor, *flat: torch.Tensor):
        encoder_states, decoder_states = self.model.initial_states()
        if self.part == "encoder":
            step, states = self.model.encode_step, encoder_states
        else:
            step, states = self.model.decode_step, decoder_states
        if not self.first:
            states = [tuple(flat[i:i + self.per_cell]) for i in range(0, len(flat), self.per_cell)]
        out, states = step(first, reconstruction, states)
        return (out, *(tensor for state in states for tensor in state))


def _digest(array) -> bytes:
    """SHA-256 of an array's bytes, little-endian."""
    array = np.asarray(array)
    return hashlib.sha256(array.astype(array.dtype.newbyteorder("<")).tobytes()).digest()


#: A parameter cut from a tensor of the weights by output channel, by its name in a :class:`_Step`:
#: (the SHA-256 of the whole tensor's bytes, the byte offset of the cut in them).
_Cuts = dict[str, tuple[bytes, int]]


def _output_channels(conv: nn.Conv2d, start: int, stop: int) -> nn.Conv2d:
    """A copy of ``conv`` with only its output channels ``start:stop``."""
    part = copy.deepcopy(conv)
    part.out_channels = stop - start
    part.weight = nn.Parameter(conv.weight.detach()[start:stop].clone())
    if conv.bias is not None:
        part.bias = nn.Parameter(conv.bias.detach()[start:stop].clone())
    return part


class _GateSplitGRU(nn.Module):
    """A ConvGRU cell with each gate's convolutions apart (the cell's tensors cut by output channel:
    reset, update, new); ``first``: the first step only, which needs neither the state
    convolution nor the reset gate.  Computes what the cell does (:func:`rnncodec.model.gru_state`).
    ``cuts``: each cut parameter's whole tensor's digest and byte offset in it, by the parameter's ``id``."""

    def __init__(self, cell: ConvGRUCell, first: bool):
        super().__init__()
        self.gates = (1, 2) if first else (0, 1, 2)
        self.cuts: dict[int, tuple[bytes, int]] = {}
        self.input_convs = self._cut(cell.input_conv, cell.hidden)
        self.hidden_convs = None if first else self._cut(cell.hidden_conv, cell.hidden)

    def _cut(self, conv: nn.Conv2d, hidden: int) -> nn.ModuleList:
        """``conv``'s output channels of each of :attr:`gates`, apart; notes the cuts in :attr:`cuts`."""
        parts = nn.ModuleList(_output_channels(conv, gate * hidden, (gate + 1) * hidden) for gate in self.gates)
        for kind in ("weight", "bias"):
            whole = getattr(conv, kind)
            if whole is None:
                continue
            digest, row = _digest(whole.detach().numpy()), whole[0].numel() * whole.element_size()
            for gate, part in zip(self.gates, parts):
                self.cuts[id(getattr(part, kind))] = (digest, gate * hidden * row)
        return parts

    def forward(self, x: torch.Tensor, state) -> tuple[torch.Tensor]:
        input_terms = [None] * (3 - len(self.gates)) + [conv(x) for conv in self.input_convs]
        if state is None:
            return (gru_state(input_terms),)
        (h,) = state
        return (gru_state(input_terms, [conv(h) for conv in self.hidden_convs], h),)


def _export_model(model: nn.Module, first: bool) -> tuple[nn.Module, _Cuts]:
    """A copy of ``model`` whose GRU cells run as :class:`_GateSplitGRU`, and its cut parameters
    by name in a :class:`_Step` of it."""
    model = copy.deepcopy(model)
    cuts_by_id: dict[int, tuple[bytes, int]] = {}
    for cells in (model.encoder.rnns, model.decoder.rnns):
        for index, cell in enumerate(cells):
            if isinstance(cell, ConvGRUCell):
                cells[index] = _GateSplitGRU(cell, first)
                cuts_by_id.update(cells[index].cuts)
    return model, {f"model.{name}": cuts_by_id[id(parameter)]
                   for name, parameter in model.named_parameters() if id(parameter) in cuts_by_id}


def _tensor_blobs(pt_path: Path) -> dict[bytes, tuple[int, int]]:
    """SHA-256 of each tensor storage in a ``torch.save`` zip → (offset, length) of its bytes in the file."""
    blobs = {}
    with open(pt_path, "rb") as fh:
        for offset, length in tensor_regions(fh).values():
            fh.seek(offset)
            blobs[hashlib.sha256(fh.read(length)).digest()] = (offset, length)
    return blobs


def _point_initializers_at(graph, pt_path: Path, blobs: dict[bytes, tuple[int, int]], cuts: _Cuts) -> None:
    """Make every initializer whose bytes are a tensor of ``pt_path`` (``blobs``: :func:`_tensor_blobs`),
    or a cut of one (``cuts``, by initializer name), external data read from there."""
    import onnx
    from onnx import numpy_helper

    for initializer in graph.graph.initializer:
        array = numpy_helper.to_array(initializer)
        found = blobs.get(_digest(array))
        if found is None and initializer.name in cuts:
            whole, start = cuts[initializer.name]
            whole_at = blobs.get(whole)
            if whole_at is not None:
                found = (whole_at[0] + start, array.nbytes)
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
    config = loaded.config
    targets = onnx_paths(path)
    size = _EXAMPLE_SIZE
    image = torch.zeros(1, config.colour_channels, size, size)
    signs = torch.ones(1, config.bits, size // 16, size // 16)
    encoder_shapes, decoder_shapes = state_shapes(config, size, size)
    exported = {first_step: _export_model(loaded.model, first_step) for first_step in (False, True)}
    blobs = _tensor_blobs(path)
    for part in ONNX_PARTS:
        role, first_step = part.split("-")[0], part.endswith("-first")  # "encoder" or "decoder"
        first_name, first, shapes = (("x", image, encoder_shapes) if role == "encoder" else
                                     ("signs", signs, decoder_shapes))
        states = [] if first_step else [torch.zeros(shape) for shape in shapes]
        inputs = [first_name, "reconstruction", *(f"state_{i}" for i in range(len(states)))]
        outputs = ["signs" if role == "encoder" else "new_reconstruction",
                   *(f"new_state_{i}" for i in range(len(shapes)))]
        model, cuts = exported[first_step]
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
            torch.onnx.export(_Step(model, role, first_step), (first, image, *states), buffer, dynamo=False,
                              opset_version=OPSET, input_names=inputs, output_names=outputs,
                              dynamic_axes={name: {2: f"{name}_height", 3: f"{name}_width"}
                                            for name in inputs + outputs})
        graph = onnx.load_from_string(buffer.getvalue())
        _point_initializers_at(graph, path, blobs, cuts)
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
