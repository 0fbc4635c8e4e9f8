"""Recognition on decoded images: the recognizer interface, the built-ins, typed results.

An edge server decodes what a client sent — a ``.rnc`` file, possibly only its first iterations —
and recognises it::

    >>> from rnncodec.recognition import InputDecoder, load_recognizer, recognize_batches, build_record
    >>> recognizer = load_recognizer("resnet50")                 # doctest: +SKIP
    >>> decoder = InputDecoder()                                 # codec weights: the file's own
    >>> decoded = [decoder.decode(path, iterations=2) for path in paths]
    >>> for item, result in recognize_batches(recognizer, decoded, batch_size=16):
    ...     print(build_record(item.sample, result, recognizer=recognizer.name))

Recognizers are found through the entry-point group ``rnncodec.recognizers`` (see
:mod:`.registry`); the built-ins are ``resnet50`` and ``mobilenet-ssd`` (:mod:`.torchvision_models`).
Importing this package does not import torch.
"""

from __future__ import annotations

from .base import PRECISIONS, TASKS, Recognizer, to_rgb
from .draw import draw_detections
from .errors import (DatasetError, MissingWeightsError, NotTrainableError, RecognitionError, RecognizerWeightsError,
                     UnknownRecognizerError)
from .hub import OFFLINE_ENV, downloads_allowed
from .inputs import Decoded, InputDecoder, InputStream, is_rnc
from .pipeline import Outcome, decode_workers_for, recognize_batches, recognize_inputs, recognize_progressively
from .registry import ENTRY_POINT_GROUP, describe_recognizers, load_recognizer, recognizer_class, recognizer_names
from .results import (SCHEMA_VERSION, Classification, ClassScore, Detection, Detections, Result, Sample, Step,
                      build_record)
from .trainable import Trainable

__all__ = [
    "Recognizer", "TASKS", "PRECISIONS", "to_rgb",
    "ENTRY_POINT_GROUP", "load_recognizer", "recognizer_class", "recognizer_names", "describe_recognizers",
    "ClassScore", "Classification", "Detection", "Detections", "Result", "Sample", "Step", "build_record",
    "SCHEMA_VERSION",
    "InputDecoder", "InputStream", "Decoded", "is_rnc",
    "recognize_batches", "recognize_progressively", "draw_detections",
    "recognize_inputs", "decode_workers_for", "Outcome",
    "OFFLINE_ENV", "downloads_allowed",
    "RecognitionError", "UnknownRecognizerError", "MissingWeightsError", "RecognizerWeightsError", "DatasetError",
    "NotTrainableError", "Trainable",
]
