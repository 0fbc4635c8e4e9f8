"""benchmarks/recognition.py's scoring on tiny made-up inputs (the benchmark itself needs ../shared)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("recognition")


def _photo(original: int, decoded: dict[str, int], size: int) -> dict:
    out = {"original": {"bytes": 100_000, "fits": True, "prediction": [original, 7, 8, 9, 10]}}
    for name, top1 in decoded.items():
        out[name] = {"bytes": size, "fits": True, "prediction": [top1, 1, 2, 3, 4]}
    return out


def test_agreement_takes_the_originals_answer_as_the_label(bench):
    photos = [_photo(5, {"rnc W 1": 5, "rnc W 2": 5}, 2000), _photo(6, {"rnc W 1": 1, "rnc W 2": 6}, 2200),
              _photo(9, {"rnc W 1": 3, "rnc W 2": 9}, 2400), _photo(2, {"rnc W 1": 2, "rnc W 2": 4}, 2600)]
    scores = bench.score_agreement(photos, resamples=200)
    assert scores["original"]["top1"] == 100.0
    assert scores["rnc W 1"]["top1"] == 50.0 and scores["rnc W 2"]["top1"] == 75.0
    assert scores["rnc W 1"]["mean_bytes"] == 2300.0 and scores["rnc W 1"]["images"] == 4
    low, high = scores["rnc W 1"]["top1_ci"]
    assert 0 <= low <= 50.0 <= high <= 100


def test_agreement_is_compared_at_the_same_bytes_and_tabled(bench):
    results = {"agree": {
        "original": {"mean_bytes": 9e4, "images": 4, "top1": 100.0, "top1_ci": [100.0, 100.0], "over": 0},
        "rnc A 1": {"mean_bytes": 1000.0, "top1": 20.0, "top1_ci": [0.0, 40.0], "over": 0, "over_mean_bytes": None},
        "rnc A 2": {"mean_bytes": 4000.0, "top1": 60.0, "top1_ci": [30.0, 90.0], "over": 0, "over_mean_bytes": None},
        "rnc B 1": {"mean_bytes": 2000.0, "top1": 50.0, "top1_ci": [20.0, 80.0], "over": 0, "over_mean_bytes": None},
    }}
    deltas = bench.against_first(results, ["A", "B"])["B"]["agree"]
    assert deltas == [pytest.approx(50.0 - 40.0)]  # A's curve at 2000 bytes, halfway in log(bytes)
    table = bench.agreement_table(results)
    assert "| rnc B, 1 it | 2.0 | 50.0 [20–80] | — | 0 |  |" in table and "original" not in table


def _kept(original: int, decoded: dict[str, tuple[int, float, int]]) -> dict:
    """A photo whose settings carry (top-1, kept probability, bytes)."""
    out = {"original": {"bytes": 100_000, "fits": True, "prediction": [original, 7, 8, 9, 10], "kept": 0.9}}
    for name, (top1, kept, size) in decoded.items():
        out[name] = {"bytes": size, "fits": True, "prediction": [top1, 1, 2, 3, 4], "kept": kept}
    return out


def test_kept_probability_is_compared_with_the_first_weights_photo_by_photo(bench):
    # B keeps 0.1 more of the original's answer on every photo (A's own spread is large) and agrees
    # on one photo more; its files are 10 % larger
    a_kept = [0.05, 0.6, 0.2, 0.8]
    photos = [_kept(3, {"rnc A 1": (3 if i else 0, kept, 1000), "rnc B 1": (3, kept + 0.1, 1100),
                        "rnc A 2": (3, kept, 2000)}) for i, kept in enumerate(a_kept)]
    scores = bench.score_agreement(photos, resamples=200, weights=["A", "B"])
    assert scores["rnc A 1"]["kept"] == pytest.approx(100 * sum(a_kept) / 4)
    paired = scores["rnc B 1"]["against_first"]
    assert paired["against"] == "A" and paired["bytes_ratio"] == pytest.approx(1.1)
    assert paired["kept"] == pytest.approx(10.0) and paired["kept_ci"] == pytest.approx([10.0, 10.0])
    assert paired["top1"] == pytest.approx(25.0) and paired["top1_ci"][0] >= 0
    low, high = scores["rnc B 1"]["kept_ci"]  # unpaired, the photos' spread stays in the interval
    assert high - low > 20
    assert "against_first" not in scores["rnc A 1"] and "against_first" not in scores["rnc A 2"]  # B has no 2nd
    table = bench.agreement_table({"agree": scores})
    assert "| rnc B, 1 it | 1.1 | 100.0 [100–100] |" in table and "A: ×1.100, +25.0 [" in table
    assert "+10.00 [+10.00, +10.00] |" in table


def test_top1_is_compared_with_the_first_weights_photo_by_photo_at_each_iteration_and_budget(bench, capsys):
    # labels 3: B is right where A is wrong on one photo of four at 1 iteration, wrong where A is right on
    # two at the 500-byte budget; A alone has a second iteration and a 900-byte budget
    photos = [_kept(3, {"rnc A 1": (0 if i == 0 else 3, 0.5, 1000), "rnc B 1": (3, 0.6, 1100),
                        "rnc A 2": (3, 0.7, 2000), "rnc A @500": (3, 0.4, 500),
                        "rnc B @500": (1 if i < 2 else 3, 0.3, 480), "rnc A @900": (3, 0.5, 900)})
              for i in range(4)]
    scores = bench.score_classification(photos, [3] * 4, resamples=200, weights=["A", "B"])
    at_one, at_budget = scores["rnc B 1"]["against_first"], scores["rnc B @500"]["against_first"]
    assert at_one["against"] == "A" and at_one["top1"] == pytest.approx(25.0) and at_one["top1_ci"][0] >= 0
    assert at_one["kept"] == pytest.approx(10.0) and at_one["bytes_ratio"] == pytest.approx(1.1)
    assert at_budget["top1"] == pytest.approx(-50.0) and at_budget["top1_ci"][1] <= 0
    assert at_budget["bytes_ratio"] == pytest.approx(0.96)
    assert not {"rnc A 1", "rnc A 2", "rnc A @500", "rnc A @900"} & {n for n, e in scores.items() if "against_first" in e}
    bench.print_summary({"classify": scores}, ["A", "B"], 1)
    out = capsys.readouterr().out
    assert "rnc B @500 against A, photo by photo: top-1 -50.0 [" in out and "files ×0.960" in out


def test_kept_probability_is_compared_at_the_same_bytes_photo_by_photo(bench):
    # A: 1,000 bytes keeping 0.2 (disagreeing), 4,000 keeping 0.6 (agreeing); B's files: 2,000 bytes keeping
    # 0.5 (agreeing) — A at 2,000 bytes is halfway in log(bytes): 0.4, half an agreement — and 8,000
    # keeping 0.9, beyond A's files: B at A's 4,000 instead, halfway: 0.7 against A's 0.6
    photo = _kept(3, {"rnc A 1": (1, 0.2, 1000), "rnc A 2": (3, 0.6, 4000),
                      "rnc B 1": (3, 0.5, 2000), "rnc B 2": (3, 0.9, 8000)})
    beside = _kept(3, {"rnc A 1": (1, 0.2, 1000), "rnc A 2": (3, 0.6, 4000),  # B's only file below A's: left out
                       "rnc B 1": (3, 0.5, 500), "rnc B 2": (3, 0.9, 700)})
    scores = bench.score_agreement([photo, photo, beside], resamples=200, weights=["A", "B"])
    first, second = scores["rnc B 1"]["same_bytes"], scores["rnc B 2"]["same_bytes"]
    assert first["against"] == "A" and first["photos"] == 2 and second["photos"] == 2
    assert first["kept"] == pytest.approx(10.0) and first["kept_ci"] == pytest.approx([10.0, 10.0])
    assert first["top1"] == pytest.approx(50.0)
    assert second["kept"] == pytest.approx(10.0) and second["top1"] == pytest.approx(0.0)
    assert scores["rnc B 1"]["against_first"]["kept"] == pytest.approx(100 * (0.3 + 0.3 + 0.3) / 3)  # same iteration
    assert "same_bytes" not in scores["rnc A 1"]
    table = bench.agreement_table({"agree": scores})
    assert "| +50.0 [+50.0, +50.0], +10.00 [+10.00, +10.00] (2) |" in table


def test_detections_are_scored_against_the_detectors_own_boxes_on_the_original(bench):
    box, elsewhere = (10.0, 10.0, 50.0, 50.0), (200.0, 200.0, 240.0, 240.0)
    original = {"bytes": 90_000, "fits": True, "prediction": [(1, 0.9, box), (2, 0.1, elsewhere)]}  # 2: below 0.3
    photos = [{"original": original,
               "rnc A 1": {"bytes": 1000, "fits": True, "prediction": [(1, 0.5, elsewhere)]},  # misses the box
               "rnc B 1": {"bytes": 900, "fits": True, "prediction": [(1, 0.5, box), (2, 0.4, elsewhere)]}}] * 3
    scores = bench.score_detection_agreement(photos, resamples=200, weights=["A", "B"])
    assert scores["original"]["map50"] == 100.0
    assert scores["rnc A 1"]["map50"] == 0.0 and scores["rnc B 1"]["map50"] == 100.0  # class 2 is no truth
    paired = scores["rnc B 1"]["against_first"]
    assert paired["against"] == "A" and paired["bytes_ratio"] == pytest.approx(0.9)
    assert paired["map50"] == 100.0 and paired["map50_ci"] == [100.0, 100.0]
    # box F1 at score 0.3: A finds none of the 3 boxes with 3 wrong ones (0), B the 3 with 3 extra (2·3/(6+3))
    assert scores["original"]["f1"] == 100.0 and scores["rnc A 1"]["f1"] == 0.0
    assert scores["rnc B 1"]["f1"] == pytest.approx(100 * 2 / 3) and paired["f1"] == pytest.approx(100 * 2 / 3)
    table = bench.detection_agreement_table({"agree-detect": scores})
    assert "| rnc B, 1 it | 0.9 | 100.0 [100.0–100.0] | 66.7 [66.7–66.7] | A: ×0.900, +100.0 [+100.0, +100.0], " \
           "+66.7 [+66.7, +66.7] |" in table


def test_box_f1_is_compared_at_the_same_bytes_photo_by_photo(bench):
    # A misses the box at 1,000 bytes and finds it at 4,000; B finds it at 2,000: A there, halfway in
    # log(bytes), has half a matched box of its one detection — F1 0.5 against B's 1.0
    box, elsewhere = (10.0, 10.0, 50.0, 50.0), (200.0, 200.0, 240.0, 240.0)
    original = {"bytes": 90_000, "fits": True, "prediction": [(1, 0.9, box)]}
    photos = [{"original": original,
               "rnc A 1": {"bytes": 1000, "fits": True, "prediction": [(1, 0.5, elsewhere)]},
               "rnc A 2": {"bytes": 4000, "fits": True, "prediction": [(1, 0.5, box)]},
               "rnc B 1": {"bytes": 2000, "fits": True, "prediction": [(1, 0.5, box)]}}] * 3
    scores = bench.score_detection_agreement(photos, resamples=200, weights=["A", "B"])
    same = scores["rnc B 1"]["same_bytes"]
    assert same["against"] == "A" and same["photos"] == 3
    assert same["f1"] == pytest.approx(50.0) and same["f1_ci"] == pytest.approx([50.0, 50.0])
    assert scores["rnc B 1"]["against_first"]["f1"] == pytest.approx(100.0)  # same iteration: A's 1st misses
    table = bench.detection_agreement_table({"agree-detect": scores})
    assert "| +50.0 [+50.0, +50.0] (3) |" in table


def test_records_of_weights_files_that_share_a_name_are_told_apart(bench):
    names = bench.record_names(["GRU_S_V4", "runs/c2/q.pt", "runs/c3/q.pt", "other/w.pt"])
    assert names == {"GRU_S_V4": "GRU_S_V4", "runs/c2/q.pt": "c2-q", "runs/c3/q.pt": "c3-q", "other/w.pt": "w"}
    with pytest.raises(ValueError, match="a/runs/q.pt and b/runs/q.pt would write the same record runs-q.json"):
        bench.record_names(["a/runs/q.pt", "b/runs/q.pt"])


def test_a_downscaled_run_is_recorded_and_reported_apart_from_the_full_size_one(bench, tmp_path, capsys):
    import json

    photos = [_photo(5, {"rnc W 1": 5}, 2000), _photo(6, {"rnc W 1": 1}, 2200)]
    results = {"agree": bench.score_agreement(photos, 50)}
    bench.write_records(results, ["W"], 1, {"agree": 2}, 1.0, {}, tmp_path / "full")
    bench.write_records(results, ["W"], 1, {"agree": 2}, 1.0, {}, tmp_path / "small", ("shorter", 256))
    record = json.loads((tmp_path / "small" / "W-shorter256.json").read_text())
    assert record["downscale"] == {"side": "shorter", "pixels": 256}
    assert json.loads((tmp_path / "full" / "W.json").read_text())["downscale"] is None
    bench.write_records(results, ["W"], 1, {"agree": 2}, 1.0, {}, tmp_path / "bare", None, strip=True)
    assert json.loads((tmp_path / "bare" / "W-stripped.json").read_text())["strip"] is True
    runs = [tmp_path / "full" / "W.json", tmp_path / "small" / "W-shorter256.json", tmp_path / "bare" / "W-stripped.json"]
    bench.report(runs, {}, tmp_path / "all", None)
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == ["W-shorter256.json", "W-stripped.json", "W.json"]
    out = capsys.readouterr().out
    assert "W-shorter256" in out and "W-stripped" in out


def test_webp_within_a_budget_downscales_only_as_far_as_it_must(bench):
    import io

    import numpy as np
    from PIL import Image

    from rnncodec.imageio import load_image

    rng = np.random.default_rng(3)
    photo = load_image(np.clip(rng.normal(128, 60, (96, 160, 3)), 0, 255).astype(np.uint8))
    roomy = bench._webp_within(photo, 10**6)
    assert roomy.fits and roomy.quality == 100
    assert Image.open(io.BytesIO(roomy.data)).size == (160, 96)  # it fits whole: not downscaled
    smallest = len(bench._pillow(photo.rgb, "WEBP")(0))
    tight = bench._webp_within(photo, smallest // 3)
    width, height = Image.open(io.BytesIO(tight.data)).size
    assert tight.fits and len(tight.data) <= smallest // 3 and width < 160 and abs(width / height - 160 / 96) < 0.1


def test_budget_settings_go_to_their_weights_record(bench, tmp_path):
    import json

    photos = [_photo(5, {"rnc A 1": 5, "rnc B 1": 5, "rnc A @500": 5, "rnc B @500": 1, "webp @500": 2}, 500)]
    results = {"agree": bench.score_agreement(photos, 20)}
    bench.write_records(results, ["A", "B"], 1, {"agree": 1}, 1.0, {}, tmp_path)
    names = {w: set(json.loads((tmp_path / f"{w}.json").read_text())["results"]["agree"]) for w in "AB"}
    assert names["A"] == {"original", "rnc A 1", "rnc A @500", "webp @500"}
    assert names["B"] == {"original", "rnc B 1", "rnc B @500", "webp @500"}
