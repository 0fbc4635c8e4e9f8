"""The ONNX graphs: every shipped weights entry has them and they compute what its .pt does; the
first-step graphs take no states and give what the general graphs give from zero states;
rnncodec.onnx_export makes them for any weights file, every weight read from the .pt; stale or
missing graphs are refused."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rnncodec.backends import BackendUnavailableError
from rnncodec.backends.onnx_backend import OnnxBackend
from rnncodec.backends.torch_backend import TorchBackend
from rnncodec.codec import _pad
from rnncodec.weights import RNCWeights, onnx_paths

SHIPPED = [member for name, member in RNCWeights.__members__.items() if name != "DEFAULT"]


def _steps_agree(torch_backend, onnx_backend, image: np.ndarray, iterations: int = 2) -> None:
    """Run both backends side by side on ``image``, each fed the torch backend's codes and
    reconstruction (so a rare flipped bit cannot make the rest diverge); compare every output."""
    x = _pad(image)
    height, width = x.shape[-2:]
    t_x, t_rec = torch_backend.tensor(x), torch_backend.tensor(np.zeros_like(x))
    o_rec = np.zeros_like(x)
    (t_enc, t_dec), (o_enc, o_dec) = (backend.initial_states(height, width) for backend in (torch_backend,
                                                                                             onnx_backend))
    for _ in range(iterations):
        t_signs, t_enc = torch_backend.encoder_step(t_x, t_rec, t_enc)
        o_signs, o_enc = onnx_backend.encoder_step(x, o_rec, o_enc)
        signs = torch_backend.numpy(t_signs)
        assert (o_signs == signs).mean() >= 0.995
        for t_state, o_state in zip([s for state in t_enc for s in state], o_enc):
            np.testing.assert_allclose(o_state, torch_backend.numpy(t_state), atol=1e-3)
        t_rec, t_dec = torch_backend.decoder_step(t_signs, t_rec, t_dec)
        o_rec, o_dec = onnx_backend.decoder_step(signs, o_rec, o_dec)
        np.testing.assert_allclose(o_rec, torch_backend.numpy(t_rec), atol=1e-3)
        o_rec = torch_backend.numpy(t_rec)


@pytest.mark.parametrize("member", SHIPPED, ids=[m.name for m in SHIPPED])
def test_shipped_weights_have_onnx_graphs_that_match_their_pt(member, photo):
    for part, path in onnx_paths(member.value.path).items():
        if not path.is_file():
            pytest.fail(f"{member.name} has no ONNX {part} graph ({path.name}): make it with "
                        f"'python -m rnncodec.onnx_export {member.name}' and add it to weights/")
    _steps_agree(TorchBackend(member, precision="fp32"), OnnxBackend(member), photo)


def _first_steps_are_the_general_ones(backend: OnnxBackend, image: np.ndarray) -> None:
    """The first-step graphs (run on the states of initial_states) take no state inputs and give
    what the general ones give from the same zeros in a plain list: the same codes but for a rare
    bit at a float tie, reconstructions and states within float32 rounding — they skip the
    zero terms (the torch codec's ``state=None`` start), so they may round differently."""
    for part in ("encoder-first", "decoder-first"):
        _, inputs = backend._graphs.session(part)
        assert not [name for name in inputs if name.startswith("state_")], part
    x = _pad(image)
    reconstruction = np.zeros_like(x)
    encoder_states, decoder_states = backend.initial_states(*x.shape[-2:])
    signs, states = backend.encoder_step(x, reconstruction, encoder_states)
    general_signs, general_states = backend.encoder_step(x, reconstruction, list(encoder_states))
    assert (signs == general_signs).mean() >= 0.995
    for state, general in zip(states, general_states, strict=True):
        np.testing.assert_allclose(state, general, atol=1e-5)
    decoded, states = backend.decoder_step(signs, reconstruction, decoder_states)
    general, general_states = backend.decoder_step(signs, reconstruction, list(decoder_states))
    for output, general_output in zip([decoded, *states], [general, *general_states], strict=True):
        np.testing.assert_allclose(output, general_output, atol=1e-5)


@pytest.mark.parametrize("member", SHIPPED, ids=[m.name for m in SHIPPED])
def test_shipped_first_step_graphs_give_the_general_graphs_outputs(member, photo):
    _first_steps_are_the_general_ones(OnnxBackend(member), photo)


def test_export_any_weights_file(onnx_weights_file, weights_file, photo):
    backend = OnnxBackend(onnx_weights_file)
    assert backend.weights.sha256 == TorchBackend(weights_file).weights.sha256
    assert backend.weights.architecture == "tiny" and backend.weights.name == onnx_weights_file.name
    _steps_agree(TorchBackend(weights_file, precision="fp32"), backend, photo, iterations=3)
    _first_steps_are_the_general_ones(backend, photo)


def test_weights_without_graphs_are_refused_with_the_command(weights_file):
    with pytest.raises(BackendUnavailableError, match="python -m rnncodec.onnx_export"):
        OnnxBackend(weights_file)


def test_graphs_of_other_weights_are_refused(onnx_weights_file, other_weights_file, tmp_path):
    for path in onnx_paths(onnx_weights_file).values():
        shutil.copy(path, tmp_path)
    shutil.copy(other_weights_file, tmp_path / onnx_weights_file.name)  # the graphs are now stale
    with pytest.raises(BackendUnavailableError, match="made from other weights"):
        OnnxBackend(tmp_path / onnx_weights_file.name)


def test_export_command_names_what_it_wrote(weights_file, tmp_path, capsys):
    from rnncodec.onnx_export import main

    path = shutil.copy(weights_file, tmp_path)
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    for part, graph in onnx_paths(path).items():
        assert graph.is_file() and f"{part} → {graph}" in out
        assert graph.stat().st_size < 100_000  # the weights stay in the .pt (external data)
    with pytest.raises(SystemExit):
        main([])


def test_export_an_lstm_weights_file(tmp_path, photo):
    """ConvLSTM cells are exported as they are (only ConvGRU cells run with their gates apart)."""
    import dataclasses

    import torch

    from rnncodec.configs import get_config
    from rnncodec.model import RecurrentCodec
    from rnncodec.onnx_export import export_onnx
    from rnncodec.weights import save_weights

    torch.manual_seed(3)
    path = save_weights(RecurrentCodec(dataclasses.replace(get_config("tiny"), cell="lstm")), tmp_path / "lstm.pt",
                        meta={"note": "random, for tests"})
    export_onnx(path)
    backend = OnnxBackend(path)
    _steps_agree(TorchBackend(path, precision="fp32"), backend, photo, iterations=3)
    _first_steps_are_the_general_ones(backend, photo)
