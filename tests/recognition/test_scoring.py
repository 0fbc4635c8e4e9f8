"""The recognition benchmark's scoring: matched-bytes search, VOC mAP, bootstrap intervals."""

import numpy as np
import pytest

from rnncodec.recognition.scoring import (bootstrap_interval, largest_within, match_detections,
                                          mean_average_precision)


def _sizes(table):
    calls = []

    def encode(quality):
        calls.append(quality)
        return b"x" * table[quality]

    return encode, calls


def test_largest_within_picks_the_highest_quality_that_fits():
    encode, _ = _sizes({q: 100 + 10 * q for q in range(101)})
    fit = largest_within(encode, list(range(101)), 555)
    assert (fit.quality, len(fit.data), fit.fits) == (45, 550, True)


@pytest.mark.parametrize("budget", [100, 101, 109, 110, 1099, 1100, 5000])
def test_largest_within_is_exact_at_every_boundary(budget):
    encode, _ = _sizes({q: 100 + 10 * q for q in range(101)})
    fit = largest_within(encode, list(range(101)), budget)
    best = max(q for q in range(101) if 100 + 10 * q <= budget)
    assert fit.quality == best and len(fit.data) <= budget and fit.fits


def test_largest_within_reports_when_nothing_fits():
    encode, _ = _sizes({q: 100 + q for q in range(1, 11)})
    fit = largest_within(encode, list(range(1, 11)), 50)
    assert (fit.quality, len(fit.data), fit.fits) == (1, 101, False)


def test_largest_within_probes_logarithmically_many_qualities():
    encode, calls = _sizes({q: 100 + 10 * q for q in range(101)})
    largest_within(encode, list(range(101)), 777)
    assert len(calls) <= 9


def test_a_perfect_detector_scores_100_and_a_blind_one_0():
    truth = [(0, (0, 0, 10, 10)), (1, (20, 20, 40, 40))]
    perfect = match_detections([(0, 0.9, (0, 0, 10, 10)), (1, 0.8, (20, 20, 40, 40))], truth)
    assert mean_average_precision([perfect]) == pytest.approx(1.0)
    blind = match_detections([], truth)
    assert mean_average_precision([blind]) == 0.0


def test_map_counts_duplicates_and_wrong_classes_as_false_positives():
    truth = [(0, (0, 0, 10, 10))]
    # the duplicate scores higher than the true box: precision at full recall is 1/2
    m = match_detections([(0, 0.9, (0, 0, 10, 10)), (0, 0.95, (50, 50, 60, 60)), (3, 0.99, (0, 0, 10, 10))], truth)
    assert m.true_positive[0].tolist() == [False, True]
    assert mean_average_precision([m]) == pytest.approx(0.5)


def test_iou_threshold_decides_a_match():
    truth = [(0, (0, 0, 10, 10))]
    half = (0, 0.9, (0, 0, 10, 5))  # IoU 0.5
    assert mean_average_precision([match_detections([half], truth, 0.5)]) == pytest.approx(1.0)
    assert mean_average_precision([match_detections([half], truth, 0.51)]) == 0.0


def test_map_pools_images_and_ranks_by_score_across_them():
    a = match_detections([(0, 0.9, (0, 0, 10, 10))], [(0, (0, 0, 10, 10))])
    b = match_detections([(0, 0.95, (0, 0, 10, 10))], [])  # a false alarm in an image with no objects
    # ranked: b's false positive (0.95), then a's hit: recall 1 at precision 1/2
    assert mean_average_precision([a, b]) == pytest.approx(0.5)
    assert mean_average_precision([a, a]) == pytest.approx(1.0)  # a bootstrap may repeat an image
    missed = match_detections([], [(0, (30, 30, 40, 40))])
    assert mean_average_precision([a, missed]) == pytest.approx(0.5)  # half the objects found


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = list(rng.random(20) < 0.6)
    large = list(rng.random(2000) < 0.6)
    lo_s, hi_s = bootstrap_interval(small, np.mean, resamples=300)
    lo_l, hi_l = bootstrap_interval(large, np.mean, resamples=300)
    assert lo_s <= np.mean(small) <= hi_s and lo_l <= np.mean(large) <= hi_l
    assert hi_l - lo_l < hi_s - lo_s
    assert bootstrap_interval([1.0] * 10, np.mean, resamples=50) == (1.0, 1.0)
