"""Micro-batching: the predictions that arrive together run as one ``Recognizer.predict`` call.

A network classifies 8 images in much less than 8 times the time of one, so a server that runs
each request alone wastes the CPU under load.  :class:`MicroBatcher` queues the images of all
requests (and streams) of one recognizer; a single worker task takes the first, waits
``wait_s`` for others when none is queued yet, takes up to ``max_batch`` and runs them in the
thread pool.  While a batch runs the next one queues, so under load batches fill without waiting.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from PIL import Image

    from ..recognition import Recognizer, Result

__all__ = ["MicroBatcher"]


@dataclass
class _Item:
    image: "Image.Image"
    options: tuple[int, float]  # top_k, threshold: one predict call per distinct pair
    future: asyncio.Future


class MicroBatcher:
    """One recognizer's queue of images to recognise, and the task that batches them.

    Args:
        recognizer: the network (only this batcher calls its ``predict``: one batch at a time).
        executor: the pool ``predict`` runs in.
        max_batch: most images per call.
        wait_s: how long a lone request waits for company.
    """

    def __init__(self, recognizer: "Recognizer", executor: Executor, *, max_batch: int, wait_s: float) -> None:
        self.recognizer = recognizer
        self.executor = executor
        self.max_batch = max_batch
        self.wait_s = wait_s
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._task: Optional[asyncio.Task] = None
        self.batches = 0
        self.images = 0

    @property
    def queued(self) -> int:
        """Images waiting for the next batch."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the worker task (in the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self.recognizer.name}")

    async def stop(self) -> None:
        """Stop the worker; requests still queued are cancelled."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def predict(self, image: "Image.Image", *, top_k: int, threshold: float) -> "Result":
        """The recognizer's result on ``image``, computed in a batch with whatever else is queued."""
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(image, (top_k, threshold), future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.empty() and self.wait_s > 0:
                await asyncio.sleep(self.wait_s)
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            live = sorted((item for item in batch if not item.future.done()), key=lambda item: item.options)
            for options, group in itertools.groupby(live, key=lambda item: item.options):
                await self._run_group(list(group), *options)

    async def _run_group(self, group: list[_Item], top_k: int, threshold: float) -> None:
        predict = functools.partial(self.recognizer.predict, [item.image for item in group], top_k=top_k,
                                    threshold=threshold)
        try:
            results = await asyncio.get_running_loop().run_in_executor(self.executor, predict)
        except asyncio.CancelledError:
            for item in group:
                item.future.cancel()
            raise
        except Exception as exc:  # the requests fail, the batcher goes on
            for item in group:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self.batches += 1
        self.images += len(group)
        for item, result in zip(group, results):
            if not item.future.done():  # its request may have timed out or gone
                item.future.set_result(result)
