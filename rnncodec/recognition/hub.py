"""Recognizer weights: torchvision's files in the torch hub cache, or a local state dict.

The default weights of a built-in recognizer are torchvision's ``DEFAULT`` file, looked up where
torchvision itself caches it: ``$TORCH_HOME/hub/checkpoints/<file name of the URL>`` (``TORCH_HOME``
defaults to ``~/.cache/torch``).  A missing file is downloaded (hash checked) unless downloads
are off: ``download=False`` or the environment variable :data:`OFFLINE_ENV` set.  Offline, copy
the file into that folder, or pass a state dict with ``weights=``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Optional

from .errors import MissingWeightsError, RecognizerWeightsError

__all__ = ["OFFLINE_ENV", "downloads_allowed", "hub_checkpoints", "default_weights_path", "read_state_dict",
           "resolve_state_dict", "load_network"]

#: Set (to anything but ``0``) to forbid downloading weights.
OFFLINE_ENV = "RNC_OFFLINE"


def downloads_allowed() -> bool:
    """False when :data:`OFFLINE_ENV` is set to anything but an empty string or ``0``."""
    return os.environ.get(OFFLINE_ENV, "") in ("", "0")


def hub_checkpoints() -> Path:
    """The folder torch hub caches weights in (``$TORCH_HOME/hub/checkpoints``)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def default_weights_path(url: str) -> Path:
    """Where the cache keeps the file of ``url``."""
    return hub_checkpoints() / url.rsplit("/", 1)[-1]


def read_state_dict(path: os.PathLike) -> dict[str, Any]:
    """The state dict in ``path``: a plain one, or one under a ``"state_dict"``/``"model"`` key.

    Raises:
        RecognizerWeightsError: the file does not hold a state dict.
        OSError: the file cannot be read.
    """
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # pickle, zip, unsafe globals: all mean "not a state dict file"
        raise RecognizerWeightsError(f"{path}: not a loadable state dict ({type(exc).__name__})") from None
    if isinstance(payload, dict):
        for key in ("state_dict", "model"):
            if isinstance(payload.get(key), dict):
                payload = payload[key]
                break
    if not isinstance(payload, dict) or not payload or not all(torch.is_tensor(v) for v in payload.values()):
        raise RecognizerWeightsError(f"{path}: not a state dict (a mapping of parameter names to tensors)")
    return payload


def resolve_state_dict(recognizer: str, url: str, weights: Optional[Path], download: bool) -> dict[str, Any]:
    """The state dict of ``weights`` if given, else of the cached (or downloaded) file of ``url``.

    Raises:
        MissingWeightsError: the file is not cached and downloads are off, or the download failed.
    """
    if weights is not None:
        return read_state_dict(weights)
    path = default_weights_path(url)
    if path.is_file():
        return read_state_dict(path)
    if not download:
        raise MissingWeightsError(recognizer, path.name, path.parent,
                                  f"not in the cache and downloads are off: {OFFLINE_ENV} or --no-download")
    import torch

    try:
        return torch.hub.load_state_dict_from_url(url, model_dir=str(path.parent), map_location="cpu",
                                                  check_hash=True, weights_only=True)
    except (OSError, RuntimeError) as exc:  # no network, HTTP error, hash mismatch
        raise MissingWeightsError(recognizer, path.name, path.parent,
                                  f"download failed: {' '.join(str(exc).split())}") from None


def load_network(build: Callable[[], Any], state_dict: dict[str, Any], what: str, *, skip_init: bool = False) -> Any:
    """``build()`` with ``state_dict`` loaded, in eval mode, gradients off.

    Args:
        skip_init: build on the meta device and adopt the state dict's tensors, skipping the
            random initialisation (~1 s for ResNet-50); only for networks whose every tensor is in
            the state dict (no non-persistent buffers, no tensors kept in plain attributes).

    Raises:
        RecognizerWeightsError: the state dict does not fit the network (one line: what differs).
    """
    import torch

    with torch.device("meta") if skip_init else contextlib.nullcontext():
        model = build()
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    resized = [k for k in expected if k in state_dict and state_dict[k].shape != expected[k].shape]
    problems = [f"{len(keys)} {kind} (first: {keys[0]})"
                for kind, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                   ("shape mismatches", resized)) if keys]
    if problems:
        raise RecognizerWeightsError(f"the weights do not fit {what}: {'; '.join(problems)}")
    if skip_init:  # adopted tensors keep their dtype: make them the float32 the network expects
        state_dict = {k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()}
    model.load_state_dict(state_dict, assign=skip_init)
    return model.eval().requires_grad_(False)
