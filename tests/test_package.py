"""The top-level package: version and lazy codec entry points."""

from __future__ import annotations

import importlib
from importlib.metadata import version

import pytest

import rnncodec


def test_version_matches_the_installed_metadata():
    assert rnncodec.__version__ == version("rnncodec")


def test_encode_and_decode_are_the_codec_functions():
    codec = importlib.import_module("rnncodec.codec")
    assert rnncodec.encode is codec.encode and rnncodec.decode is codec.decode


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rnncodec.nope  # noqa: B018


@pytest.mark.parametrize("name, module", [("Codec", "rnncodec.codec"), ("ProgressiveDecoder", "rnncodec.codec"),
                                          ("RNCWeights", "rnncodec.weights"), ("RNCError", "rnncodec.formats.errors"),
                                          ("CodecError", "rnncodec.errors"),
                                          ("RecognitionError", "rnncodec.recognition.errors"),
                                          ("EdgeError", "rnncodec.edge.errors")])
def test_the_public_names_are_exported_lazily(name, module):
    assert getattr(rnncodec, name) is getattr(importlib.import_module(module), name)
    assert name in rnncodec.__all__ and name in dir(rnncodec)


def test_every_error_root_derives_from_rnc_error():
    for root in (rnncodec.CodecError, rnncodec.RecognitionError, rnncodec.EdgeError):
        assert issubclass(root, rnncodec.RNCError)


def test_the_package_is_marked_typed():
    from importlib import resources

    assert resources.files("rnncodec").joinpath("py.typed").is_file()  # PEP 561: type checkers read our hints
