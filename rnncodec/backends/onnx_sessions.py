"""ONNX Runtime sessions of the onnx backend: their optimised graphs cached, their memory shared.

**Optimised graphs, cached between processes.**  Making a session optimises its graph (constant
folding, fusions, and the blocked ``NCHWc`` layout of the CPU's vector width) — the same work with
the same result in every process on a machine.  The first session of a graph saves the optimised
graph (``SessionOptions.optimized_model_filepath``) into the user's cache (``onnx/`` in
:func:`rnncodec.cache.cache_root`); later sessions load it with optimisation off.  The same kernels
run on the same graph: the outputs are the uncached session's bit for bit
(tests/codec/test_onnx_sessions.py).  The optimised graph reads the weights it did not change from
the ``.pt`` beside the shipped graph, as the graph does (ONNX external data).

An optimised graph holds what only one machine and one ONNX Runtime may run, so a cache file is
used only where all of this is the same (its name is the SHA-256 of :func:`cache_key`): the
format of the cache file, ONNX Runtime's version and build, the machine and the CPU (model and
feature flags), the graph's own SHA-256, the weights' SHA-256, and every session option set
(:class:`SessionSettings`).  The file starts with the SHA-256 of its content: a damaged one (or one
ONNX Runtime refuses) is made again.  A cache that cannot be written costs the optimisation at
every start and nothing else: sessions are then made as without a cache, silently (and so they
are on ONNX Runtime older than :data:`MIN_CACHING_VERSION`).

**One arena for every session.**  Each session would otherwise keep its own memory arena, and a
cold ``rnc encode -n 2`` runs three graphs once each: every one took fresh memory from the system
and touched it (page faults, zeroing).  The sessions share one arena registered in ONNX Runtime's
environment (``session.use_env_allocators``), so the second and third graphs run in the memory the
first one touched: at 768×512, 0.40 GB of peak memory instead of 0.65 and 60 % of the page
faults, 0.88× the CPU time of a cold encode (docs/api.md).  Where the memory lives changes no output.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

from ..atomic import write_atomically
from ..cache import cache_root

__all__ = ["SessionSettings", "make_session", "cache_key", "cache_folder", "cpu_identity", "CACHE_FORMAT"]

#: The version of the cache files' layout (``MAGIC``, SHA-256 of the model, the model); part of the key.
CACHE_FORMAT = 1
MAGIC = b"RNCORTG1"
_DIGEST = 32
PROVIDERS = ("CPUExecutionProvider",)
#: The oldest ONNX Runtime whose optimised graphs are cached (older ones make every session anew).
MIN_CACHING_VERSION = (1, 20)
#: ``/proc/cpuinfo`` fields (x86 and Arm) that name the CPU and what it can run.
_CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags", "isa", "features",
               "cpu implementer", "cpu architecture", "cpu variant", "cpu part", "cpu revision")


@dataclass(frozen=True)
class SessionSettings:
    """Every option the onnx backend sets on a session (all of them part of the cache key)."""

    intra_op_threads: int = 0  # 0: ONNX Runtime's default (one per physical core)
    inter_op_threads: int = 1
    # Idle threads sleep instead of spinning: on a busy CPU, spinning took cores from the work
    # (a cold `rnc encode -n 2` 0.83× the wall and CPU time, load ≈ 6; docs/api.md).
    config: tuple[tuple[str, str], ...] = field(default=(("session.intra_op.allow_spinning", "0"),
                                                         ("session.use_env_allocators", "1")))

    def options(self) -> Any:
        """Fresh ``onnxruntime.SessionOptions`` with these settings."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = self.inter_op_threads
        if self.intra_op_threads:
            options.intra_op_num_threads = self.intra_op_threads
        for key, value in self.config:
            options.add_session_config_entry(key, value)
        return options


def cache_folder() -> Path:
    """Where optimised graphs are kept: ``onnx/`` in the user's cache folder."""
    return cache_root() / "onnx"


@lru_cache(maxsize=1)
def cpu_identity() -> str:
    """The machine and its CPU: architecture, then on Linux the first CPU's model and feature flags
    (``/proc/cpuinfo``), elsewhere what :func:`platform.processor` says."""
    lines = []
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    if lines:
                        break  # the first CPU's block is enough
                    continue
                key, _, value = line.partition(":")
                if key.strip().lower() in _CPU_FIELDS:
                    lines.append(f"{key.strip().lower()}={' '.join(value.split())}")
    except OSError:
        pass
    return "\n".join([sys.platform, platform.machine(), *(lines or [platform.processor()])])


def cache_key(graph: bytes, weights_sha256: str, settings: SessionSettings) -> str:
    """The SHA-256 (hex) naming the optimised graph of ``graph`` (the ``.onnx`` file's bytes) that
    runs the weights ``weights_sha256`` with ``settings`` on this machine and ONNX Runtime."""
    import onnxruntime

    build = getattr(onnxruntime, "get_build_info", lambda: "")()
    identity = {"format": CACHE_FORMAT, "onnxruntime": onnxruntime.__version__, "build": build,
                "cpu": cpu_identity(), "graph_sha256": hashlib.sha256(graph).hexdigest(),
                "weights_sha256": weights_sha256, "settings": asdict(settings), "providers": PROVIDERS,
                "optimisation": "ORT_ENABLE_ALL, loaded with ORT_DISABLE_ALL"}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def make_session(graph: Path, weights_sha256: str, settings: SessionSettings) -> Any:
    """An ``onnxruntime.InferenceSession`` of the graph file ``graph`` (its external data beside it),
    from the cached optimised graph when there is a good one; else the graph is optimised and the
    result cached (when the cache can be written).  Raises what ``InferenceSession`` raises for a
    graph it cannot load."""
    _share_arena()
    if not _can_cache():
        return _new_session(str(graph), settings.options())
    target = cache_folder() / f"{graph.stem}.{cache_key(graph.read_bytes(), weights_sha256, settings)[:32]}.ort"
    session = _load_cached(target, graph.parent, settings)
    if session is None:
        session = _optimise_and_cache(graph, target, settings)
    return session


def _can_cache() -> bool:
    """Whether this ONNX Runtime loads a graph from bytes with its external data in a folder
    (``session.model_external_initializers_file_folder_path``; 1.20 is the oldest release relied on)."""
    import onnxruntime

    try:
        return tuple(int(part) for part in onnxruntime.__version__.split(".")[:2]) >= MIN_CACHING_VERSION
    except ValueError:
        return False


def _new_session(model: Any, options: Any) -> Any:
    import onnxruntime

    return onnxruntime.InferenceSession(model, options, providers=list(PROVIDERS))


def _load_cached(target: Path, external_folder: Path, settings: SessionSettings) -> Optional[Any]:
    """The session of a cached optimised graph, or ``None`` when there is none or it is damaged."""
    import onnxruntime

    try:
        with open(target, "rb") as fh:
            head, model = fh.read(len(MAGIC) + _DIGEST), fh.read()  # the model as its own bytes: no copy
    except OSError:
        return None
    if head[:len(MAGIC)] != MAGIC or hashlib.sha256(model).digest() != head[len(MAGIC):]:
        return None
    options = settings.options()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    # Loaded from bytes, the graph finds the weights it reads (the .pt) in the shipped graph's folder.
    options.add_session_config_entry("session.model_external_initializers_file_folder_path", str(external_folder))
    try:
        return _new_session(model, options)
    except Exception:  # onnxruntime raises its own (unexported) error classes: made again
        return None


def _optimise_and_cache(graph: Path, target: Path, settings: SessionSettings) -> Any:
    """A session of ``graph`` optimised here; its optimised graph written to ``target`` if possible."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, saved = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".", suffix=".tmp")
        os.close(handle)
    except OSError:  # an unwritable cache: no caching
        return _new_session(str(graph), settings.options())
    try:
        options = settings.options()
        options.optimized_model_filepath = saved
        options.log_severity_level = 3  # not the warning that the graph is for this machine only: it is keyed so
        try:
            session = _new_session(str(graph), options)
        except Exception:  # saving failed (or the graph is bad: then this raises it again)
            return _new_session(str(graph), settings.options())
        try:
            model = Path(saved).read_bytes()
            if model:
                write_atomically(target, MAGIC + hashlib.sha256(model).digest() + model)
        except OSError:
            pass
        return session
    finally:
        Path(saved).unlink(missing_ok=True)


@lru_cache(maxsize=1)
def _share_arena() -> None:
    """Register one CPU arena in ONNX Runtime's environment, which sessions with
    ``session.use_env_allocators`` share (once per process; one already there is used as it is)."""
    import onnxruntime

    info = onnxruntime.OrtMemoryInfo("Cpu", onnxruntime.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0,
                                     onnxruntime.OrtMemType.DEFAULT)
    try:
        onnxruntime.create_and_register_allocator(info, None)
    except Exception:  # already registered (by another library in this process): shared all the same
        pass
