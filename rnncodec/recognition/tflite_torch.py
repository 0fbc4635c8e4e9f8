"""A differentiable torch copy of a (quantised) TFLite image classifier.

Our own converter, written for measuring and for training the codec against a frozen recognizer:
it reads the TFLite flatbuffer (with the ``tflite`` package's generated readers, no TensorFlow and
no interpreter), dequantises every constant (per-channel int8 weights, int32 biases) and rebuilds the
graph as torch operations in float32, so gradients flow from the recognizer's outputs back to its
input pixels.  Activations are *not* re-quantised: the copy is the float network the int8 one
approximates (top-1 agreement with the TFLite interpreter is measured by
``benchmarks/recognition.py --check-reference`` and tested in ``tests/recognition``).

Supported operators — the set MobileNet-style classifiers use: ``CONV_2D``, ``DEPTHWISE_CONV_2D``
(``SAME``/``VALID`` padding, strides, dilation, fused ReLU/ReLU6), ``ADD``, ``MEAN`` (spatial),
``AVERAGE_POOL_2D``, ``RESHAPE``, ``SOFTMAX``, ``QUANTIZE``/``DEQUANTIZE`` (identities in float).
Anything else raises :class:`UnsupportedGraphError` naming the operator.

Layout: 4-D tensors run as NCHW inside (TFLite's are NHWC).  Input: RGB pixels as floats in
``[0, 255]``, shape ``(N, 3, H, W)``; the input tensor's quantisation gives the normalisation the
network was trained with (MobileNetV2: ``(x − 127) / 127.5``).  Any spatial size works (padding is
computed per call, as TFLite's ``SAME`` does); 224 is what the network was trained at.

    >>> net = load_tflite_classifier("tf2_mobilenet_v2_1.0_224_ptq.tflite")       # doctest: +SKIP
    >>> logits, features = net(pixels, return_features=True)                       # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .errors import RecognitionError

__all__ = ["TFLiteClassifier", "load_tflite_classifier", "classifier_input", "UnsupportedGraphError"]

#: Largest TFLite file we read (bytes): a classifier for edge devices is a few MB.
MAX_MODEL_BYTES = 256 * 2**20


class UnsupportedGraphError(RecognitionError, ValueError):
    """The TFLite file uses an operator or option this converter does not implement."""


@dataclass
class _Tensor:
    shape: tuple[int, ...]
    scale: Optional[np.ndarray]      # per-tensor (1 value) or per-channel
    zero_point: Optional[np.ndarray]
    axis: int
    data: Optional[np.ndarray]       # constants only


@dataclass
class _Op:
    kind: str
    inputs: list[int]
    outputs: list[int]
    options: dict


_ACTIVATIONS = {0: None, 1: "relu", 3: "relu6"}  # tflite ActivationFunctionType: NONE, RELU, RELU6


def _read_graph(path: Union[str, Path]) -> tuple[dict[int, _Tensor], list[_Op], int]:
    try:
        import tflite
    except ImportError as exc:  # an optional dependency: say how to get it
        raise RecognitionError("reading a TFLite model needs the 'tflite' package: pip install 'rnncodec[bench]'") from exc
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise UnsupportedGraphError(f"{path}: {size:,} bytes is over the {MAX_MODEL_BYTES:,}-byte limit for a TFLite model")
    buffer = path.read_bytes()
    try:
        model = tflite.Model.GetRootAsModel(buffer, 0)
        if model.SubgraphsLength() != 1:
            raise UnsupportedGraphError(f"{path}: {model.SubgraphsLength()} subgraphs, expected 1")
        graph = model.Subgraphs(0)
        names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
        tensors = {}
        for index in range(graph.TensorsLength()):
            t = graph.Tensors(index)
            shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            q = t.Quantization()
            scale = zero_point = None
            axis = 0
            if q is not None and q.ScaleLength():
                scale = q.ScaleAsNumpy().astype(np.float64)
                zero_point = q.ZeroPointAsNumpy().astype(np.float64)
                axis = q.QuantizedDimension()
            raw = model.Buffers(t.Buffer()).DataAsNumpy() if t.Buffer() else 0
            data = None
            if not isinstance(raw, int) and raw.size:
                dtype = {tflite.TensorType.INT8: np.int8, tflite.TensorType.UINT8: np.uint8,
                         tflite.TensorType.INT32: np.int32, tflite.TensorType.FLOAT32: np.float32,
                         tflite.TensorType.INT64: np.int64}.get(t.Type())
                if dtype is None:
                    raise UnsupportedGraphError(f"{path}: constant tensor {index} has unsupported type {t.Type()}")
                data = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)
            tensors[index] = _Tensor(shape, scale, zero_point, axis, data)
        ops = []
        for index in range(graph.OperatorsLength()):
            op = graph.Operators(index)
            code = model.OperatorCodes(op.OpcodeIndex())
            kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            ops.append(_Op(kind, [int(i) for i in op.InputsAsNumpy()], [int(i) for i in op.OutputsAsNumpy()],
                           _options(tflite, kind, op)))
        return tensors, ops, int(graph.Inputs(0))
    except UnsupportedGraphError:
        raise
    except Exception as exc:  # a malformed flatbuffer raises whatever the generated reader hits
        raise UnsupportedGraphError(f"{path}: not a readable TFLite model ({exc})") from exc


def _options(tflite, kind: str, op) -> dict:
    table = op.BuiltinOptions()
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        cls = tflite.Conv2DOptions if kind == "CONV_2D" else tflite.DepthwiseConv2DOptions
        o = cls()
        o.Init(table.Bytes, table.Pos)
        options = {"padding": "SAME" if o.Padding() == tflite.Padding.SAME else "VALID",
                   "stride": (o.StrideH(), o.StrideW()), "dilation": (o.DilationHFactor(), o.DilationWFactor()),
                   "activation": o.FusedActivationFunction()}
        if kind == "DEPTHWISE_CONV_2D":
            options["depth_multiplier"] = o.DepthMultiplier()
        return options
    if kind == "AVERAGE_POOL_2D":
        o = tflite.Pool2DOptions()
        o.Init(table.Bytes, table.Pos)
        return {"padding": "SAME" if o.Padding() == tflite.Padding.SAME else "VALID",
                "stride": (o.StrideH(), o.StrideW()), "kernel": (o.FilterHeight(), o.FilterWidth()),
                "activation": o.FusedActivationFunction()}
    if kind == "ADD":
        o = tflite.AddOptions()
        o.Init(table.Bytes, table.Pos)
        return {"activation": o.FusedActivationFunction()}
    if kind == "SOFTMAX":
        o = tflite.SoftmaxOptions()
        o.Init(table.Bytes, table.Pos)
        return {"beta": o.Beta()}
    if kind == "MEAN":
        o = tflite.ReducerOptions()
        o.Init(table.Bytes, table.Pos)
        return {"keep_dims": bool(o.KeepDims())}
    return {}


def _dequantize(t: _Tensor) -> np.ndarray:
    if t.data is None:
        raise UnsupportedGraphError("an operator expects a constant where the graph has none")
    values = t.data.astype(np.float64)
    if t.scale is None or t.data.dtype == np.float32:
        return values.astype(np.float32)
    shape = [1] * values.ndim
    if t.scale.size > 1:
        shape[t.axis] = t.scale.size
    return ((values - t.zero_point.reshape(shape)) * t.scale.reshape(shape)).astype(np.float32)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _activate(x: torch.Tensor, code: int) -> torch.Tensor:
    if code not in _ACTIVATIONS:
        raise UnsupportedGraphError(f"fused activation {code} is not supported")
    kind = _ACTIVATIONS[code]
    if kind == "relu":
        return F.relu(x)
    if kind == "relu6":
        return F.relu6(x)
    return x


class TFLiteClassifier(nn.Module):
    """The float, differentiable copy of a TFLite classifier graph (see the module docstring).

    ``forward(pixels, return_features=False)`` returns the logits (the input of the graph's final
    ``SOFTMAX``), shape ``(N, classes)``; with ``return_features=True`` also the outputs of every
    residual ``ADD`` and of the last feature map before pooling (NCHW), the intermediate features a
    distillation loss can match.  Weights are frozen buffers — a measuring instrument — until
    :meth:`trainable_` makes them parameters (to adapt the classifier to decoded images); either
    way ``state_dict()`` has the same keys, so an adapted copy is saved and loaded as a plain state
    dict (:func:`load_tflite_classifier`'s ``state_dict``).
    """

    def __init__(self, tensors: dict[int, _Tensor], ops: list[_Op], input_index: int):
        super().__init__()
        self._ops = ops
        self._input_index = input_index
        self._shapes = {i: t.shape for i, t in tensors.items()}
        first = tensors[input_index]
        scale = float(first.scale[0]) if first.scale is not None else 1.0
        zero = float(first.zero_point[0]) if first.zero_point is not None else 0.0
        self.input_scale, self.input_zero_point = scale, zero
        self._reshape_targets: dict[int, tuple[int, ...]] = {}
        self._softmax_input: Optional[int] = None
        supported = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MEAN", "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX",
                     "QUANTIZE", "DEQUANTIZE"}
        for n, op in enumerate(ops):
            if op.kind not in supported:
                raise UnsupportedGraphError(f"operator {op.kind} (#{n}) is not supported by the converter")
            if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                weight = _dequantize(tensors[op.inputs[1]])
                if op.kind == "CONV_2D":  # O, kh, kw, I → O, I, kh, kw
                    weight = weight.transpose(0, 3, 1, 2)
                else:  # 1, kh, kw, C·m → C·m, 1, kh, kw
                    weight = weight.transpose(3, 0, 1, 2)
                self.register_buffer(f"w{n}", torch.from_numpy(np.ascontiguousarray(weight)))
                bias = tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
                if bias is not None:
                    self.register_buffer(f"b{n}", torch.from_numpy(_dequantize(bias)))
            elif op.kind == "RESHAPE":
                self._reshape_targets[n] = self._shapes[op.outputs[0]]
            elif op.kind == "SOFTMAX":
                self._softmax_input = op.inputs[0]
        if self._softmax_input is None:
            raise UnsupportedGraphError("the graph has no SOFTMAX: not a classifier")

    def trainable_(self) -> "TFLiteClassifier":
        """Make every weight and bias a trainable :class:`~torch.nn.Parameter` (in place; returns self)."""
        for name, buffer in list(self.named_buffers(recurse=False)):
            delattr(self, name)
            self.register_parameter(name, nn.Parameter(buffer.detach().clone()))
        return self

    @property
    def num_classes(self) -> int:
        return int(self._shapes[self._softmax_input][-1])

    def forward(self, pixels: torch.Tensor, return_features: bool = False):
        values = {self._input_index: (pixels - self.input_zero_point) * self.input_scale}
        features = []
        for n, op in enumerate(self._ops):
            x = values[op.inputs[0]]
            if op.kind in ("QUANTIZE", "DEQUANTIZE"):
                y = x
            elif op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                weight = getattr(self, f"w{n}")
                bias = getattr(self, f"b{n}", None)
                o = op.options
                kh, kw = weight.shape[-2:]
                if o["padding"] == "SAME":
                    top, bottom = _same_padding(x.shape[2], kh, o["stride"][0], o["dilation"][0])
                    left, right = _same_padding(x.shape[3], kw, o["stride"][1], o["dilation"][1])
                    x = F.pad(x, (left, right, top, bottom))
                groups = x.shape[1] if op.kind == "DEPTHWISE_CONV_2D" else 1
                y = _activate(F.conv2d(x, weight, bias, o["stride"], 0, o["dilation"], groups), o["activation"])
            elif op.kind == "ADD":
                y = _activate(x + values[op.inputs[1]], op.options["activation"])
                features.append(y)
            elif op.kind == "MEAN":
                features.append(x)
                y = x.mean(dim=(2, 3), keepdim=op.options["keep_dims"])
            elif op.kind == "AVERAGE_POOL_2D":
                o = op.options
                y = _activate(F.avg_pool2d(x, o["kernel"], o["stride"]), o["activation"])
            elif op.kind == "RESHAPE":
                target = self._reshape_targets[n]
                if x.dim() == 4:  # back to TFLite's NHWC order before reshaping
                    x = x.permute(0, 2, 3, 1)
                y = x.reshape((x.shape[0],) + tuple(target[1:]))
                if y.dim() == 4:
                    y = y.permute(0, 3, 1, 2)
            else:  # SOFTMAX: the logits are its input; the probabilities are not needed
                break
            values[op.outputs[0]] = y
        logits = values[self._softmax_input].reshape(pixels.shape[0], -1)
        return (logits, features) if return_features else logits


def classifier_input(rgb: np.ndarray, side: int = 224, resize: int = 256) -> np.ndarray:
    """The usual ImageNet preprocessing of an ``(H, W, 3)`` uint8 image: short side to ``resize``
    (bilinear), centre crop ``side``; uint8 HWC, what the TFLite interpreter takes."""
    from PIL import Image

    image = Image.fromarray(rgb)
    w, h = image.size
    scale = resize / min(w, h)
    image = image.resize((max(side, round(w * scale)), max(side, round(h * scale))), Image.BILINEAR)
    w, h = image.size
    left, top = (w - side) // 2, (h - side) // 2
    return np.array(image.crop((left, top, left + side, top + side)))


def load_tflite_classifier(path: Union[str, Path], state_dict: Union[None, str, Path, dict] = None) -> TFLiteClassifier:
    """Read a TFLite classifier and return its frozen float torch copy (eval mode, no gradients to its weights).

    Args:
        state_dict: weights to use instead of the file's (a dict or a file saved from an adapted copy,
            see :meth:`TFLiteClassifier.trainable_`); its keys and shapes must be the graph's.

    Raises:
        RecognizerWeightsError: ``state_dict`` does not fit the graph.
    """
    from .hub import load_network, read_state_dict

    graph = _read_graph(path)
    if state_dict is None:
        model = TFLiteClassifier(*graph).eval()
        for buffer in model.buffers():
            buffer.requires_grad_(False)
        return model
    weights = state_dict if isinstance(state_dict, dict) else read_state_dict(Path(state_dict))
    return load_network(lambda: TFLiteClassifier(*graph), {k: v.float() for k, v in weights.items()},
                        f"the classifier graph of {Path(path).name}")
