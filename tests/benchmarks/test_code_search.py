"""benchmarks/code_search.py: the search over a first-iteration code and its summary (tiny random weights made in
the test; the real reference classifier of ../shared/recognizers, as CI has it)."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
CLASSIFIER = Path(__file__).resolve().parents[3] / "shared" / "recognizers" / "tf2_mobilenet_v2_1.0_224_ptq.tflite"


@pytest.fixture(scope="module")
def code_search(load_benchmark):
    return load_benchmark("code_search")


@pytest.fixture(scope="module")
def classifier():
    pytest.importorskip("tflite")
    if not CLASSIFIER.exists():
        pytest.skip(f"no reference classifier at {CLASSIFIER}")
    from rnncodec.recognition.tflite_torch import load_tflite_classifier

    return load_tflite_classifier(CLASSIFIER).eval().requires_grad_(False)


def _smooth_photo(height: int = 64, width: int = 96) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    return torch.stack([x * 0.8 - 0.4, y * 0.6 - 0.3, torch.sin(6 * x * y) * 0.3])[None]


@pytest.mark.parametrize("distill_weight", [0.0, 2.0])
def test_the_searched_code_is_a_code_with_a_lower_loss_than_the_encoders(code_search, classifier, weights_file,
                                                                         distill_weight):
    torch.manual_seed(0)
    model = code_search.load_weights(weights_file).model
    x = _smooth_photo()
    encoder_code, searched = code_search.search(model, classifier, x, distill_weight, 0.8, steps=8, lr=0.05)
    assert searched.shape == encoder_code.shape == (1, model.config.bits, 4, 6)
    assert set(searched.unique().tolist()) <= {-1.0, 1.0}
    assert torch.equal(encoder_code, torch.where(code_search.first_iteration(model, x) >= 0, 1.0, -1.0))

    teacher = classifier(code_search.recognizer_pixels(x, 0.8), return_features=True)

    def loss(code):
        reconstruction = code_search.decode(model, code, x)
        value = code_search.training_loss(code_search.LOSS, [reconstruction], x)
        if distill_weight:
            value = value + distill_weight * code_search.recognition_loss(classifier, [reconstruction], teacher,
                                                                          [1.0], 0.8)
        return float(value)

    with torch.no_grad():
        assert loss(searched) < loss(encoder_code)
    assert not torch.equal(searched, encoder_code)


def test_summary_scores_box_f1_over_all_photos_and_the_kept_gain(code_search):
    def side(kept, boxes):
        return {"bytes": 100, "psnr": 20.0, "kept": kept, "agree": int(kept > 0.5), "boxes": boxes}

    no_changes = [[10, 0]] * (len(code_search.CONFIDENCE_EDGES) - 1)
    photos = [{"encoder": side(0.2, [1, 2, 2]), "searched": side(0.6, [2, 2, 2]), "bits_changed": 0.1,
               "by_confidence": no_changes},
              {"encoder": side(0.4, [0, 1, 0]), "searched": side(0.4, [0, 0, 0]), "bits_changed": 0.3,
               "by_confidence": no_changes}]
    s = code_search.summary(photos)
    assert s["encoder"]["box_f1"] == pytest.approx(2 * 1 / (3 + 2))
    assert s["searched"]["box_f1"] == pytest.approx(2 * 2 / (2 + 2))
    assert s["encoder"]["agree"] == 0 and s["searched"]["agree"] == 0.5
    assert s["kept_gain"]["mean"] == pytest.approx(0.2)
    low, high = s["kept_gain"]["ci95"]
    assert 0.0 <= low <= 0.2 <= high <= 0.4  # the photos' gains are 0.4 and 0
    assert s["agree_gain"]["mean"] == pytest.approx(0.5)
    assert s["box_f1_gain"]["mean"] == pytest.approx(1.0 - 0.4)
    low, high = s["box_f1_gain"]["ci95"]
    assert low <= 0.6 <= high
    assert s["bits_changed"] == pytest.approx(0.2)


def test_changes_by_confidence_counts_each_bit_once_in_its_bin(code_search):
    y = torch.tensor([0.0, 0.04, -0.05, 0.15, -0.25, 0.4, -0.6, 1.0]).reshape(1, 8, 1, 1)
    encoder_code = torch.where(y >= 0, 1.0, -1.0)
    searched = encoder_code.clone()
    searched[0, [0, 1, 4]] *= -1  # two bits in the first bin, one in 0.2–0.3
    counts = code_search.changes_by_confidence(y, encoder_code, searched)
    assert counts == [[2, 2], [1, 0], [1, 0], [1, 1], [1, 0], [2, 0]]
    assert sum(n for n, _ in counts) == y.numel()


def test_summary_pools_the_changes_by_confidence_over_photos(code_search):
    side = {"bytes": 100, "psnr": 20.0, "kept": 0.5, "agree": 1, "boxes": [1, 1, 1]}
    bins = len(code_search.CONFIDENCE_EDGES) - 1
    first = [[10, 5]] + [[10, 0]] * (bins - 1)
    second = [[30, 5]] + [[0, 0]] * (bins - 1)
    photos = [{"encoder": side, "searched": side, "bits_changed": 0.1, "by_confidence": counts}
              for counts in (first, second)]
    by_confidence = code_search.summary(photos)["by_confidence"]
    assert by_confidence[0] == {"confidence": [0.0, 0.05], "share_of_bits": pytest.approx(40 / (40 + 10 * (bins - 1))),
                                "changed": pytest.approx(10 / 40)}
    assert all(b["changed"] == 0 for b in by_confidence[1:])
    assert "| 0–0.05 |" in code_search.table({"W": {2.0: {**code_search.summary(photos), "photos": photos}}})
