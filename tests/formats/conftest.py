"""The conformance vector generator, ``scripts/conformance_vectors.py``, is a developer script and
not part of the installed package: load it once so that this folder's tests can
``import conformance_vectors`` (its code generators build their test codes too)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

GENERATOR = Path(__file__).resolve().parents[2] / "scripts" / "conformance_vectors.py"

if "conformance_vectors" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("conformance_vectors", GENERATOR)
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["conformance_vectors"] = _module  # before running it: its dataclasses look themselves up
    _spec.loader.exec_module(_module)
