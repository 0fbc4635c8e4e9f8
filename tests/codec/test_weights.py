"""Weights files and the shipped-weights registry (its schema is checked against the real files)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnncodec.errors import UnknownWeightsError
from rnncodec.weights import RNCWeights, load_weights, resolve_weights, sha256_file, weights_markdown
from rnncodec.zoo import gru_s, tiny

ROOT = Path(__file__).resolve().parents[2]
META_KEYS = {"num_params", "file_bytes", "recipe", "metrics"}
RECIPE_KEYS = {"command", "docs", "training_data", "validation_data", "steps", "options"}


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces → hyphens."""
    text = heading.lstrip("#").strip().lower()
    return "".join(c for c in text if c.isalnum() or c in " -_").replace(" ", "-")


def test_a_default_is_shipped():
    assert "DEFAULT" in RNCWeights.__members__
    path, name = resolve_weights(None)
    assert path.is_file() and name != "DEFAULT"


@pytest.mark.parametrize("member", list(RNCWeights), ids=lambda m: m.name)
def test_shipped_weights_match_their_registry_entry(member):
    value = member.value
    assert member.name.isupper()
    assert value.path.is_file(), value.path
    shipped = {value.sha256} if value.rounded is None else {value.sha256, value.rounded.sha256}  # wheel: rounded
    assert sha256_file(value.path) in shipped
    assert value.file == f"{value.architecture}-{value.sha256[:8]}.pt"
    assert value.path.stat().st_size == value.meta["file_bytes"] <= 25 * 2**20
    assert set(value.meta) - {"purpose"} == META_KEYS and set(value.meta["recipe"]) == RECIPE_KEYS
    page, _, anchor = value.meta["recipe"]["docs"].partition("#")
    assert anchor in {github_anchor(line) for line in (ROOT / page).read_text().splitlines() if line.startswith("#")}
    loaded = load_weights(member)
    assert loaded.sha256 == value.sha256  # what files name, rounded or not
    assert loaded.architecture == value.architecture
    assert loaded.model.num_parameters() == value.meta["num_params"]
    kodak = value.meta["metrics"]["kodak"]
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


@pytest.mark.parametrize("member", list(RNCWeights), ids=lambda m: m.name)
def test_for_id_finds_the_weights_a_header_names(member):
    assert RNCWeights.for_id(member.value.weights_id) is member
    assert RNCWeights.for_id(bytes.fromhex(member.value.sha256)) is member
    assert member.value.config.name == member.value.architecture


def test_for_id_of_weights_not_shipped_is_none():
    assert RNCWeights.for_id(bytes(16)) is None


def test_builders_make_fresh_networks_with_or_without_weights():
    loaded = load_weights(RNCWeights.DEFAULT).model
    for weights in (RNCWeights.DEFAULT, RNCWeights.DEFAULT.name.lower()):
        built = gru_s(weights=weights)
        assert built is not loaded and built.config == loaded.config
        for name, tensor in loaded.state_dict().items():
            assert torch.equal(built.state_dict()[name], tensor), name
    fresh = tiny()
    assert fresh.config.name == "tiny" and all(p.requires_grad for p in fresh.parameters())


def test_builders_refuse_weights_of_another_configuration():
    with pytest.raises(UnknownWeightsError, match="weights for 'gru-s', not for 'tiny'"):
        tiny(weights=RNCWeights.DEFAULT)
    with pytest.raises(UnknownWeightsError, match="unknown weights"):
        gru_s(weights="no_such_weights")


@pytest.mark.parametrize("damage", ["no config", "config not a dict", "state dict of another shape", "meta a list"])
def test_malformed_weights_files_raise_one_typed_error(tmp_path, weights_file, damage):
    payload = torch.load(weights_file, map_location="cpu", weights_only=True)
    if damage == "no config":
        del payload["config"]
    elif damage == "config not a dict":
        payload["config"] = 7
    elif damage == "state dict of another shape":
        key = next(iter(payload["state_dict"]))
        payload["state_dict"][key] = torch.zeros(3)
    else:
        payload["meta"] = [1, 2]
    path = tmp_path / f"{damage.replace(' ', '-')}.pt"
    torch.save(payload, path)
    with pytest.raises(UnknownWeightsError, match="malformed rnncodec weights file") as caught:
        load_weights(path)
    assert "\n" not in str(caught.value)
