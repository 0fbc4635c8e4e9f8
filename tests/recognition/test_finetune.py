"""Fine-tuning on decoded images (rnncodec.recognition.finetune): tiny photos, the tiny random codec,
a tiny classifier (fast) and the random torchvision networks of the conftest (slow ones marked)."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from rnncodec.recognition import DatasetError, NotTrainableError, load_recognizer
from rnncodec.recognition.datasets import Box
from rnncodec.recognition.finetune import (FinetuneError, _boxes_in_crop, _split, checkpoint_path,
                                           finetune_classifier, finetune_detector)
from rnncodec.recognition.trainable import Trainable, class_index

NAMES = ("astronaut", "chelsea", "coffee", "rocket", "camera", "hubble_deep_field")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six 56×40 photos (scikit-image's), as PNG files."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for name in NAMES:
        pixels = np.asarray(Image.fromarray(getattr(data, name)()).convert("RGB").resize((56, 40)))
        Image.fromarray(pixels).save(folder / f"{name}.png")
        paths.append(folder / f"{name}.png")
    return paths


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def _tiny(seed: int = 1) -> Trainable:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(8, 4))
    return Trainable(net, input_size=32, labels=["a", "b", "c", "d"])


def _run(photos, cache, weights_file, tmp_path, trainable=None, **options):
    losses = []
    settings = dict(out=tmp_path / "out.pth", iterations=[1, 2], steps=30, batch_size=4, lr=3e-3,
                    codec_weights=str(weights_file), val_fraction=0.34, val_every=10, progress=False, log=None,
                    on_step=lambda step, loss: losses.append(loss))
    report = finetune_classifier(trainable or _tiny(), photos, cache, **{**settings, **options})
    return report, losses


def test_label_free_distillation_lowers_the_loss_and_writes_a_loadable_state_dict(photos, cache, weights_file,
                                                                                  tmp_path):
    report, losses = _run(photos, cache, weights_file, tmp_path, original_share=0.0)
    assert report.steps == 30 and len(losses) == 30
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert [entry["step"] for entry in report.history] == [0, 10, 20, 30]
    first = report.history[0]
    assert first["metric"] == "top-1 agreement with the original" and first["original"] == 1.0
    assert set(first["decoded"]) == {1, 2}
    state = torch.load(report.out, weights_only=True)
    fresh = _tiny(seed=5).module
    fresh.load_state_dict(state)
    assert checkpoint_path(report.out).is_file() and report.checkpoint == checkpoint_path(report.out)


def test_validation_photos_of_their_own_are_never_trained_on(photos, cache, weights_file, tmp_path):
    assert _split(10, 0.5, 0, held_out=3) == (list(range(7)), [7, 8, 9])
    train, val = _split(10, 0.3, 0)
    assert len(val) == 3 and sorted(train + val) == list(range(10))
    report, _ = _run(photos[:4], cache, weights_file, tmp_path, val_photos=photos[4:], steps=2, val_every=2)
    assert [entry["step"] for entry in report.history] == [0, 2] and report.history[0]["original"] == 1.0


def test_labelled_cross_entropy_lowers_the_loss(photos, cache, weights_file, tmp_path):
    labels = {photo: i % 4 for i, photo in enumerate(photos)}
    report, losses = _run(photos, cache, weights_file, tmp_path, labels=labels, steps=40, crop_scale=(0.8, 1.0))
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.1
    assert report.history[-1]["metric"] == "top-1 accuracy"


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(photos, cache, weights_file, tmp_path):
    (tmp_path / "whole").mkdir()
    whole, _ = _run(photos, cache, weights_file, tmp_path / "whole", steps=6, val_every=0)

    def interrupt(step, loss):  # Ctrl-C: the run finishes the step, saves and stops
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)

    (tmp_path / "parts").mkdir()
    with pytest.raises(KeyboardInterrupt, match="stopped at step 3"):
        _run(photos, cache, weights_file, tmp_path / "parts", steps=6, val_every=0, on_step=interrupt)
    assert torch.load(checkpoint_path(tmp_path / "parts" / "out.pth"), weights_only=True)["step"] == 3
    steps = []
    resumed, _ = _run(photos, cache, weights_file, tmp_path / "parts", steps=6, val_every=0, resume=True,
                      on_step=lambda step, loss: steps.append(step))
    assert steps == [4, 5, 6] and resumed.steps == 6
    a, b = torch.load(whole.out, weights_only=True), torch.load(resumed.out, weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_resume_needs_the_checkpoint_and_the_same_settings(photos, cache, weights_file, tmp_path):
    with pytest.raises(FinetuneError, match="no checkpoint"):
        _run(photos, cache, weights_file, tmp_path, resume=True)
    _run(photos, cache, weights_file, tmp_path, steps=2, val_every=0)
    with pytest.raises(FinetuneError, match="other settings.*batch_size"):
        _run(photos, cache, weights_file, tmp_path, steps=4, batch_size=2, resume=True)


def test_bad_data_gets_typed_errors(photos, cache, weights_file, tmp_path):
    with pytest.raises(DatasetError, match="no photos"):
        _run([], cache, weights_file, tmp_path)
    with pytest.raises(DatasetError, match="2 photos have no label"):
        _run(photos, cache, weights_file, tmp_path, labels={p: 0 for p in photos[:4]})
    with pytest.raises(FinetuneError, match="needs a classifier"):
        _run(photos, cache, weights_file, tmp_path, trainable=Trainable(nn.Linear(1, 1), task="detection"))
    frozen = _tiny()
    frozen.module.requires_grad_(False)
    with pytest.raises(FinetuneError, match="no trainable parameters"):
        _run(photos, cache, weights_file, tmp_path, trainable=frozen)


def test_class_names_match_case_spacing_voc_names_and_indices():
    labels = ["__background__", "person", "dining table", "tv"]
    assert class_index(labels, "Person") == 1 and class_index(labels, "dining_table") == 2
    assert class_index(labels, "diningtable") == 2 and class_index(labels, "tvmonitor") == 3
    assert class_index(labels, "3") == 3
    with pytest.raises(DatasetError, match="no class 'unicorn'"):
        class_index(labels, "unicorn")


def test_boxes_follow_the_crop_and_the_flip():
    boxes = np.array([[10, 10, 30, 30], [0, 0, 4, 4], [50, 50, 60, 60]], float)
    moved, keep = _boxes_in_crop(boxes, (10, 10, 50, 50), 80, flip=False)
    assert keep.tolist() == [True, False, False]
    assert moved.tolist() == [[0, 0, 40, 40]]
    flipped, _ = _boxes_in_crop(boxes, (10, 10, 50, 50), 80, flip=True)
    assert flipped.tolist() == [[40, 0, 80, 40]]


def test_recognizers_that_expose_no_network_are_not_trainable():
    from rnncodec.recognition import Recognizer

    class Fixed(Recognizer):
        task = "classification"

        def load(self):
            pass

        labels = ["x"]

        def predict(self, images, *, top_k=5, threshold=0.5):
            return []

    with pytest.raises(NotTrainableError, match="cannot be fine-tuned"):
        Fixed(name="fixed").trainable()


@pytest.mark.slow
@pytest.mark.parametrize("labelled", [False, True])
def test_detector_fine_tuning_lowers_the_loss(photos, cache, weights_file, ssd_weights, tmp_path, labelled):
    trainable = load_recognizer("mobilenet-ssd", weights=ssd_weights, download=False).trainable()
    truth = {photo: [Box("person", (5, 5, 40, 35)), Box("dog", (0, 0, 20, 20), ignore=True)]
             for photo in photos} if labelled else None
    losses = []
    report = finetune_detector(trainable, photos, cache, out=tmp_path / "ssd.pth", iterations=[2], steps=8,
                               batch_size=2, lr=1e-3, truth=truth, codec_weights=str(weights_file),
                               val_fraction=0.34, val_every=8, progress=False, log=None,
                               on_step=lambda step, loss: losses.append(loss))
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert report.history[-1]["metric"].startswith("mAP@0.5") and set(report.history[-1]["decoded"]) == {2}
    load_recognizer("mobilenet-ssd", weights=report.out, download=False)
