"""Weights defined as a quantised difference from a base (``python -m rnncodec.weights_quantise``):
within half a step of the trained ones, exact multiples of the step from the base, refused for
another network; the command writes them and says how large their pack is."""

from __future__ import annotations

import numpy as np
import pytest

from rnncodec.errors import UnknownWeightsError
from rnncodec.weights import read_weights_file, sha256_file
from rnncodec.weights_pack import dequantise
from rnncodec.weights_quantise import main, quantise


def test_quantised_weights_are_the_base_plus_whole_steps(weights_file, other_weights_file, tmp_path):
    out = quantise(weights_file, other_weights_file, tmp_path / "q.pt", step=0.01)
    _, ours, meta = read_weights_file(out)
    _, trained, _ = read_weights_file(weights_file)
    _, base, _ = read_weights_file(other_weights_file)
    step = float(np.float32(0.01))
    assert meta["quantised"]["step"] == step and meta["note"] == "random, for tests"  # W's meta kept
    assert meta["quantised"]["base_sha256"] == sha256_file(other_weights_file)
    assert meta["quantised"]["source_sha256"] == sha256_file(weights_file)
    for key, values in ours.items():
        values, b = values.numpy(), base[key].numpy()
        q = np.rint((values.astype(np.float64) - b) / step).astype(np.int32)
        assert np.array_equal(dequantise(b, q, step), values)  # bit for bit
        assert np.max(np.abs(values - trained[key].numpy())) <= step / 2 * 1.001
    assert meta["quantised"]["largest_change"] <= step / 2 * 1.001


def test_weights_of_another_network_or_a_tiny_step_are_refused(weights_file, other_weights_file, tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not weights")
    with pytest.raises(UnknownWeightsError, match="not a loadable"):
        quantise(weights_file, junk, tmp_path / "q.pt")
    with pytest.raises(UnknownWeightsError, match="weights file not found"):
        quantise(weights_file, tmp_path / "nowhere.pt", tmp_path / "q.pt")
    with pytest.raises(ValueError, match="steps of"):
        quantise(weights_file, other_weights_file, tmp_path / "q.pt", step=1e-9)
    with pytest.raises(ValueError, match="positive"):
        quantise(weights_file, other_weights_file, tmp_path / "q.pt", step=-1)
    assert not (tmp_path / "q.pt").exists()


def test_the_command_writes_the_weights_and_tells_their_pack(weights_file, other_weights_file, tmp_path, capsys):
    out = tmp_path / "q.pt"
    args = [str(weights_file), "--base", str(other_weights_file), "--step", "0.01", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert sha256_file(out) in printed and "its pack against" in printed
    with pytest.raises(SystemExit) as exits:  # an existing output is kept unless --force
        main(args)
    assert exits.value.code == 2 and "--force" in capsys.readouterr().err
    assert main([*args, "--force", "--step", "0"]) == 1
    assert "positive" in capsys.readouterr().err
