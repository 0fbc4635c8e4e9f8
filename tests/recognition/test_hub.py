"""Recognizer weights: the torch hub cache, local state dicts, and never a download when offline."""

from __future__ import annotations

import pytest
import torch

from rnncodec.recognition import MissingWeightsError, RecognizerWeightsError, load_recognizer
from rnncodec.recognition.errors import RNCError
from rnncodec.recognition.hub import downloads_allowed, load_network, read_state_dict, resolve_state_dict

URL = "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to download."""

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


@pytest.mark.parametrize("value, allowed", [(None, True), ("", True), ("0", True), ("1", False), ("yes", False)])
def test_rnc_offline_turns_downloads_off(monkeypatch, value, allowed):
    if value is None:
        monkeypatch.delenv("RNC_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("RNC_OFFLINE", value)
    assert downloads_allowed() is allowed


def test_missing_weights_offline_names_the_file_and_the_folder(offline, no_network):
    with pytest.raises(MissingWeightsError) as caught:
        load_recognizer("resnet50")
    error = caught.value
    assert isinstance(error, RNCError) and isinstance(error, FileNotFoundError)
    assert error.weights_file == "resnet50-11ad3fa6.pth" and error.folder == offline
    message = str(error)
    assert "\n" not in message and "resnet50-11ad3fa6.pth" in message and str(offline) in message
    assert "--weights FILE" in message


def test_download_false_wins_over_the_environment(tmp_path, monkeypatch, no_network):
    monkeypatch.delenv("RNC_OFFLINE", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="downloads are off"):
        resolve_state_dict("resnet50", URL, None, download=False)


def test_a_cached_file_is_used_without_download(offline, no_network):
    offline.mkdir(parents=True)
    torch.save({"w": torch.ones(2)}, offline / "resnet50-11ad3fa6.pth")
    assert resolve_state_dict("resnet50", URL, None, download=False)["w"].tolist() == [1.0, 1.0]


def test_read_state_dict_unwraps_training_checkpoints(tmp_path):
    path = tmp_path / "ckpt.pt"
    torch.save({"model": {"w": torch.zeros(1)}, "step": 3}, path)
    assert list(read_state_dict(path)) == ["w"]


@pytest.mark.parametrize("payload", [[1, 2], {"w": 1}, {}])
def test_read_state_dict_refuses_what_is_not_one(tmp_path, payload):
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(RecognizerWeightsError, match="not a state dict"):
        read_state_dict(path)


def test_read_state_dict_refuses_a_non_torch_file(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a zip")
    with pytest.raises(RecognizerWeightsError, match="not a loadable state dict"):
        read_state_dict(path)


@pytest.mark.parametrize("skip_init", [False, True])
def test_load_network_reports_what_does_not_fit_on_one_line(skip_init):
    build = lambda: torch.nn.Linear(3, 2)  # noqa: E731
    with pytest.raises(RecognizerWeightsError) as caught:
        load_network(build, {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}, "the toy", skip_init=skip_init)
    assert str(caught.value) == ("the weights do not fit the toy: 1 missing keys (first: bias); "
                                 "1 unexpected keys (first: extra); 1 shape mismatches (first: weight)")
    model = load_network(build, {"weight": torch.ones(2, 3, dtype=torch.float16), "bias": torch.zeros(2)},
                         "the toy", skip_init=skip_init)
    assert model(torch.ones(1, 3)).tolist() == [[3.0, 3.0]] and not model.training
