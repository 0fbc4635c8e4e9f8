"""Ray Data for data-set-scale coding: a callable class mapped over jobs, on a local Ray or a cluster.

Ray is optional (``pip install 'rnncodec[ray]'``); this module imports it only when called.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .errors import RecognitionError

__all__ = ["RAY_INSTALL", "map_photos", "require_ray"]

RAY_INSTALL = "pip install 'rnncodec[ray]'"
#: At most this many blocks of jobs: one per batch for small runs (every worker gets work), bounded for
#: data sets of millions of photos (a block is a list of paths; workers still take ``batch_size`` at a time).
MAX_BLOCKS = 10_000


def require_ray():
    """The ``ray`` module; :class:`RecognitionError` saying how to install it when it is missing."""
    try:
        import ray
        import ray.data  # noqa: F401  (the [data] extra: pyarrow, pandas)
    except ImportError as exc:
        raise RecognitionError(f"running on Ray needs Ray Data ({exc.name or 'ray'} is not installed): "
                               f"{RAY_INSTALL}") from None
    return ray


def map_photos(jobs: Sequence[dict[str, Any]], coder: type, coder_args: Sequence[Any], *, address: str,
               workers: Optional[int] = None, batch_size: int = 4) -> Iterator[dict[str, Any]]:
    """Run ``coder(*coder_args)(batch)`` over ``jobs`` (dicts of equal keys) with Ray Data's
    ``map_batches`` — one instance per worker, so whatever it loads is loaded once per worker —
    and yield the result rows as they come back.

    ``address``: ``"local"`` starts a Ray instance on this machine (stopped at the end); anything else
    connects to a running cluster (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``).  An already
    initialised Ray (``ray.init`` called by the program) is used as it is.
    ``workers``: how many instances code at once (default: one per CPU Ray sees, at most one per batch).
    """
    ray = require_ray()
    started = not ray.is_initialized()
    if started:
        try:
            with _neutral_working_directory():
                ray.init(address=None if address == "local" else address, include_dashboard=False,
                         log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise RecognitionError(f"cannot start or reach Ray at {address!r}: {' '.join(str(exc).split())[:200]}") \
                from None
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        batches = -(-len(jobs) // batch_size)
        size = workers or max(1, min(int(ray.cluster_resources().get("CPU", 1)), batches))
        dataset = ray.data.from_items(list(jobs), override_num_blocks=min(batches, MAX_BLOCKS)).map_batches(
            coder, fn_constructor_args=tuple(coder_args), batch_size=batch_size, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=size), num_cpus=1)
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                names = list(batch)
                for values in zip(*(batch[name] for name in names)):
                    yield dict(zip(names, values))
        except ray.exceptions.RayError as exc:  # a worker that died, a cluster that went away, …
            raise RecognitionError(f"the Ray job failed: {type(exc).__name__}: "
                                   f"{' '.join(str(exc).split())[:300]}") from None
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _neutral_working_directory() -> Iterator[None]:
    """Start Ray from the folder holding the rnncodec package this process runs: Ray puts the
    driver's working directory on its workers' ``sys.path`` (and its processes keep it as theirs),
    so a source checkout there (``./rnncodec`` without its installed ``formats``) would shadow the
    installed package in every worker; this folder holds the very package the driver imported."""
    here = os.getcwd()
    os.chdir(Path(__file__).resolve().parents[2])
    try:
        yield
    finally:
        os.chdir(here)
