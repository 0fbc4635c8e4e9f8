"""ONNX Runtime sessions of the onnx backend, with one memory arena for all of them.

Each session would otherwise keep its own memory arena, and a cold ``rnc encode -n 2`` runs three
graphs once each: every one took fresh memory from the system and touched it (page faults,
zeroing).  The sessions share one arena registered in ONNX Runtime's environment
(``session.use_env_allocators``), so the second and third graphs run in the memory the first one
touched: at 768×512, 0.40 GB of peak memory instead of 0.65 and 60 % of the page faults, 0.88× the
CPU time of a cold encode (docs/api.md).  Where the memory lives changes no output.

Caching the optimised graphs between processes (``SessionOptions.optimized_model_filepath``) was
built and measured too: 0.017 s of CPU less per cold encode (1 %), for 14 MB of cache per weights
— not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["SessionSettings", "make_session"]

PROVIDERS = ("CPUExecutionProvider",)


@dataclass(frozen=True)
class SessionSettings:
    """Every option the onnx backend sets on a session."""

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


def make_session(graph: Path, settings: SessionSettings) -> Any:
    """An ``onnxruntime.InferenceSession`` of the graph file ``graph`` (its external data beside it),
    in the shared arena.  Raises what ``InferenceSession`` raises for a graph it cannot load."""
    import onnxruntime

    _share_arena()
    return onnxruntime.InferenceSession(str(graph), settings.options(), providers=list(PROVIDERS))


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
