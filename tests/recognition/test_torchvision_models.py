"""The built-in recognizers on random torchvision networks (the --weights path; no download)."""

from __future__ import annotations

import pytest
from PIL import Image

from rnncodec.recognition import Classification, Detections, RecognitionError, load_recognizer, recognize_batches
from rnncodec.recognition.inputs import Decoded
from rnncodec.recognition.labels import VOC_CLASSES
from rnncodec.recognition.results import Sample


@pytest.fixture(scope="module")
def resnet(resnet50_weights):
    return load_recognizer("resnet50", weights=resnet50_weights, download=False)


@pytest.fixture(scope="module")
def images(photo):
    rgb = Image.fromarray(photo)
    return [rgb, rgb.convert("L"), rgb.convert("RGBA").resize((40, 30))]


def test_resnet50_gives_top_k_imagenet_classes_per_image(resnet, images):
    results = resnet.predict(images, top_k=3)
    assert len(results) == 3 and all(isinstance(r, Classification) for r in results)
    assert len(resnet.labels) == 1000 and resnet.labels[0] == "tench"
    for result in results:
        assert len(result.top) == 3
        probabilities = [c.probability for c in result.top]
        assert probabilities == sorted(probabilities, reverse=True) and 0 < sum(probabilities) <= 1.0001
        assert all(resnet.labels[c.index] == c.label for c in result.top)
    assert resnet.predict([]) == []


def test_fp32_and_bf16_agree_on_the_top_class(resnet50_weights, images):
    fp32 = load_recognizer("resnet50", weights=resnet50_weights, download=False, precision="fp32")
    bf16 = load_recognizer("resnet50", weights=resnet50_weights, download=False, precision="bf16")
    (a,), (b,) = fp32.predict(images[:1], top_k=1), bf16.predict(images[:1], top_k=1)
    assert a.top[0].index == b.top[0].index and a.top[0].probability == pytest.approx(b.top[0].probability, abs=0.05)


def test_batches_keep_the_input_order(resnet, images):
    decoded = [Decoded(Sample(f"{i}.png", "image", im.width, im.height, 1, 1), im) for i, im in enumerate(images)]
    pairs = list(recognize_batches(resnet, decoded, batch_size=2, top_k=1))
    assert [item.sample.file for item, _ in pairs] == ["0.png", "1.png", "2.png"]
    assert pairs[2][1].top[0].label == resnet.predict(images[2:], top_k=1)[0].top[0].label


@pytest.mark.parametrize("labels", ["coco", "voc"])
def test_ssdlite_detects_boxes_in_pixels_with_coco_or_voc_labels(ssd_weights, images, labels):
    detector = load_recognizer("mobilenet-ssd", weights=ssd_weights, download=False, labels=labels)
    results = detector.predict(images, threshold=0.5)
    assert all(isinstance(r, Detections) for r in results)
    assert results[0].objects, "the fixture's detector is built to find people"
    for image, result in zip(images, results):
        scores = [d.score for d in result.objects]
        assert scores == sorted(scores, reverse=True) and min(scores) >= 0.5
        for d in result.objects:
            x0, y0, x1, y1 = d.box
            assert 0 <= x0 <= x1 <= image.width and 0 <= y0 <= y1 <= image.height
            assert d.label == "person" and detector.labels[d.index] == "person"
    expected = (20, True) if labels == "voc" else (91, False)
    assert (len(detector.labels), detector.labels == list(VOC_CLASSES)) == expected
    assert not detector.predict(images[:1], threshold=1.0)[0].objects


def test_unknown_label_set_and_precision_are_refused(ssd_weights):
    with pytest.raises(RecognitionError, match="no label set 'ade20k'"):
        load_recognizer("mobilenet-ssd", weights=ssd_weights, labels="ade20k")
    with pytest.raises(RecognitionError, match="precision"):
        load_recognizer("mobilenet-ssd", weights=ssd_weights, precision="fp8")
