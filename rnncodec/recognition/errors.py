"""Typed errors of :mod:`rnncodec.recognition`.

All derive from :class:`rnncodec.formats.errors.RNCError`, so the ``rnc`` command shows them as
one ``Error: …`` line with exit status 1; the second base is the builtin a caller would expect.
"""

from __future__ import annotations

from pathlib import Path

from ..formats.errors import RNCError

__all__ = ["RecognitionError", "UnknownRecognizerError", "MissingWeightsError", "RecognizerWeightsError",
           "DatasetError", "NotTrainableError"]


class RecognitionError(RNCError):
    """Root of the recognition errors."""


class UnknownRecognizerError(RecognitionError, LookupError):
    """No recognizer of that name is registered (entry-point group ``rnncodec.recognizers``)."""


class MissingWeightsError(RecognitionError, FileNotFoundError):
    """A recognizer's weights file is not in the cache and could not (or may not) be downloaded.

    Attributes:
        weights_file: the file name the cache should hold (e.g. ``resnet50-11ad3fa6.pth``).
        folder: the cache folder to put it in (``$TORCH_HOME/hub/checkpoints``).
    """

    def __init__(self, recognizer: str, weights_file: str, folder: Path, reason: str) -> None:
        super().__init__(f"{recognizer} weights {weights_file} are missing ({reason}); put the file in "
                         f"{folder} or pass --weights FILE")
        self.weights_file = weights_file  # not OSError's ``filename``: that would change the message
        self.folder = folder


class RecognizerWeightsError(RecognitionError, ValueError):
    """A ``--weights`` file that is not a state dict for the recognizer's network."""


class DatasetError(RecognitionError, ValueError):
    """Evaluation data that cannot be used: an unreadable label or annotation file, no images, …"""


class NotTrainableError(RecognitionError, TypeError):
    """A recognizer that exposes no trainable torch module (:meth:`Recognizer.trainable`)."""
