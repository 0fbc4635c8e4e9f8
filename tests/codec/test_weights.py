"""Weights files and the shipped-weights registry (its schema is checked against the real files)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnncodec.errors import UnknownWeightsError
from rnncodec.weights import RNCWeights, load_weights, resolve_weights, sha256_file, weights_markdown

ROOT = Path(__file__).resolve().parents[2]
META_KEYS = {"num_params", "file_bytes", "training_data", "validation_data", "steps", "train_hours", "trained_on",
             "command", "recipe", "kodak"}


def test_a_default_is_shipped():
    assert "DEFAULT" in RNCWeights.__members__
    path, name = resolve_weights(None)
    assert path.is_file() and name != "DEFAULT"


@pytest.mark.parametrize("member", list(RNCWeights), ids=lambda m: m.name)
def test_shipped_weights_match_their_registry_entry(member):
    value = member.value
    assert member.name.isupper()
    assert value.path.is_file(), value.path
    assert sha256_file(value.path) == value.sha256
    assert value.file == f"{value.architecture}-{value.sha256[:8]}.pt"
    assert value.path.stat().st_size == value.meta["file_bytes"] <= 25 * 2**20
    assert META_KEYS <= set(value.meta)
    loaded = load_weights(member)
    assert loaded.architecture == value.architecture
    assert loaded.model.num_parameters() == value.meta["num_params"]
    kodak = value.meta["kodak"]
    assert len(kodak["bpp"]) == len(kodak["psnr"]) == len(kodak["ms_ssim"]) >= 8


def test_docs_page_is_generated_from_the_registry():
    assert (ROOT / "docs" / "weights.md").read_text() == weights_markdown()


def test_member_names_resolve_case_insensitively():
    for member in RNCWeights:
        assert resolve_weights(member.name.lower())[0] == member.value.path


def test_unknown_name_and_missing_or_bad_files(tmp_path):
    with pytest.raises(UnknownWeightsError, match="unknown weights"):
        resolve_weights("no_such_weights")
    with pytest.raises(UnknownWeightsError, match="not found"):
        load_weights(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(UnknownWeightsError, match="not a loadable"):
        load_weights(garbage)
    other = tmp_path / "other.pt"
    torch.save({"hello": torch.zeros(2)}, other)
    with pytest.raises(UnknownWeightsError, match="not an rnncodec weights file"):
        load_weights(other)
