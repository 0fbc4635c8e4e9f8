"""Our TFLite → torch converter, checked against the real reference classifier and its interpreter.

The model file is the one in ``../shared/recognizers`` (CI has ``../shared`` beside the clone); the
photos are scikit-image's bundled ones.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from rnncodec.recognition.tflite_torch import UnsupportedGraphError, classifier_input, load_tflite_classifier

MODEL = Path(__file__).resolve().parents[3] / "shared" / "recognizers" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
pytestmark = pytest.mark.skipif(not MODEL.is_file(), reason=f"{MODEL} is not here")


def _photos():
    from PIL import Image
    from skimage import data

    names = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")
    return [classifier_input(np.asarray(Image.fromarray(getattr(data, name)()).convert("RGB"))) for name in names]


@pytest.fixture(scope="module")
def net():
    return load_tflite_classifier(MODEL)


def test_the_torch_copy_agrees_with_the_interpreter(net):
    interpreter_module = pytest.importorskip("ai_edge_litert.interpreter")
    interpreter = interpreter_module.Interpreter(model_path=str(MODEL), num_threads=1)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    agree = 0
    photos = _photos()
    for pixels in photos:
        interpreter.set_tensor(inp["index"], pixels[None])
        interpreter.invoke()
        expected = interpreter.get_tensor(out["index"])[0].astype(np.float64) * out["quantization"][0]
        with torch.no_grad():
            logits = net(torch.from_numpy(pixels).permute(2, 0, 1)[None].float())
        probabilities = torch.softmax(logits, 1)[0].numpy()
        agree += int(np.argmax(expected) == np.argmax(probabilities))
        # int8 activations vs float ones: the distributions agree to a few percent
        assert np.abs(probabilities - expected).max() < 0.15
    assert agree >= len(photos) - 1


def test_the_copy_is_differentiable_and_takes_any_size(net):
    pixels = (torch.rand(2, 3, 96, 128) * 255).requires_grad_()
    logits, features = net(pixels, return_features=True)
    assert logits.shape == (2, net.num_classes) == (2, 1001)
    assert len(features) >= 10 and all(f.dim() == 4 for f in features)
    logits[:, 1].sum().backward()
    assert pixels.grad is not None and pixels.grad.abs().sum() > 0
    assert not any(b.requires_grad for b in net.buffers())


def test_a_file_that_is_not_tflite_is_a_typed_error(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(UnsupportedGraphError, match="bad.tflite"):
        load_tflite_classifier(bad)


def test_an_adapted_copy_trains_saves_and_loads_as_a_state_dict(tmp_path):
    from rnncodec.recognition.errors import RecognizerWeightsError

    model = load_tflite_classifier(MODEL).trainable_()
    assert {name for name, _ in model.named_parameters()} == set(model.state_dict())
    pixels = torch.rand(2, 3, 64, 64) * 255
    before = model(pixels).detach()
    loss = model(pixels)[:, 7].sum()
    loss.backward()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter -= 1e-3 * parameter.grad
    after = model(pixels).detach()
    assert not torch.allclose(before, after)
    path = tmp_path / "adapted.pt"
    torch.save(model.state_dict(), path)
    loaded = load_tflite_classifier(MODEL, state_dict=path)
    assert torch.allclose(loaded(pixels), after, atol=1e-4)
    assert not any(p.requires_grad for p in loaded.parameters()) and not list(loaded.parameters())

    torch.save({"w0": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(RecognizerWeightsError, match="do not fit"):
        load_tflite_classifier(MODEL, state_dict=tmp_path / "wrong.pt")
