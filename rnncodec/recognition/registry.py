"""Finding recognizers: the entry-point group ``rnncodec.recognizers``.

Every recognizer, built-in or third-party, is an entry point ``name = "module:Class"`` in that
group, where ``Class`` subclasses :class:`~rnncodec.recognition.base.Recognizer`.  rnncodec
declares its own in ``pyproject.toml``; another distribution adds one the same way, and once it is
installed ``load_recognizer("its-name")`` and ``rnc classify/detect --recognizer its-name`` use it.
Nothing is cached: a distribution installed while the process runs is found by the next call.
"""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Any

from .base import TASKS, Recognizer
from .errors import RecognitionError, UnknownRecognizerError

__all__ = ["ENTRY_POINT_GROUP", "recognizer_names", "recognizer_class", "load_recognizer", "describe_recognizers"]

log = logging.getLogger(__name__)

#: The entry-point group recognizers are registered in.
ENTRY_POINT_GROUP = "rnncodec.recognizers"


def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in found:
            log.warning("recognizer %r is registered twice (%s and %s); using the first",
                        entry_point.name, found[entry_point.name].value, entry_point.value)
            continue
        found[entry_point.name] = entry_point
    return found


def recognizer_names() -> list[str]:
    """The names of the installed recognizers, sorted."""
    return sorted(_entry_points())


def recognizer_class(name: str) -> type[Recognizer]:
    """The class registered as ``name``, imported.

    Raises:
        UnknownRecognizerError: no recognizer has that name.
        RecognitionError: the entry point does not name a :class:`Recognizer` subclass with a task.
    """
    entry_point = _entry_points().get(name)
    if entry_point is None:
        raise UnknownRecognizerError(f"unknown recognizer {name!r} (installed: {', '.join(recognizer_names())})")
    cls = entry_point.load()
    if not (isinstance(cls, type) and issubclass(cls, Recognizer)) or getattr(cls, "task", None) not in TASKS:
        raise RecognitionError(f"recognizer {name!r} ({entry_point.value}) is not a Recognizer subclass "
                               f"with a task in {TASKS}")
    return cls


def load_recognizer(name: str, **options: Any) -> Recognizer:
    """Load the recognizer ``name`` once; ``options`` are :class:`Recognizer`'s keyword arguments."""
    return recognizer_class(name)(name=name, **options)


def describe_recognizers() -> list[dict[str, Any]]:
    """One dict per installed recognizer: name, task, summary, label sets, entry point, distribution.

    A recognizer that fails to import is listed with an ``error`` instead of its task.
    """
    rows = []
    for name, entry_point in sorted(_entry_points().items()):
        row: dict[str, Any] = {"name": name, "entry_point": entry_point.value,
                               "distribution": entry_point.dist.name if entry_point.dist else None}
        try:
            cls = recognizer_class(name)
        except Exception as exc:  # a broken plug-in must not hide the others
            row["error"] = " ".join(str(exc).split()) or type(exc).__name__
        else:
            row.update(task=cls.task, summary=cls.summary, label_sets=list(cls.label_sets))
        rows.append(row)
    return rows
