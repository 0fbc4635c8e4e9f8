"""The result types and the one JSON record (the schema rnc classify/detect --json and rnc serve share)."""

from __future__ import annotations

import json

from rnncodec.recognition import (SCHEMA_VERSION, Classification, ClassScore, Detection, Detections, Sample, Step,
                                  build_record)

SAMPLE = Sample(file="a.rnc", kind="rnc", width=40, height=24, bytes_read=300, file_bytes=412, iterations=2,
                iterations_in_file=3)
TOP = Classification((ClassScore(3, "cat", 0.75), ClassScore(5, "dog", 0.125)))
BOXES = Detections((Detection((1.0, 2.0, 30.5, 20.25), 1, "person", 0.9), Detection((0, 0, 4, 4), 3, "car", 0.6)))


def test_confidence_is_top1_probability_or_lowest_kept_score():
    assert TOP.confidence == 0.75
    assert BOXES.confidence == 0.6
    assert Detections(()).confidence == 0.0


def test_classification_record_has_the_documented_fields():
    record = build_record(SAMPLE, TOP, recognizer="resnet50")
    assert record == {
        "schema": SCHEMA_VERSION, "file": "a.rnc", "kind": "rnc", "width": 40, "height": 24, "iterations": 2,
        "iterations_in_file": 3, "bytes_read": 300, "file_bytes": 412, "recognizer": "resnet50",
        "task": "classification", "confidence": 0.75,
        "results": [{"index": 3, "label": "cat", "probability": 0.75},
                    {"index": 5, "label": "dog", "probability": 0.125}],
    }
    assert json.loads(json.dumps(record)) == record


def test_detection_record_lists_boxes_in_pixels():
    record = build_record(SAMPLE, BOXES, recognizer="mobilenet-ssd")
    assert record["task"] == "detection" and record["confidence"] == 0.6
    assert record["results"][0] == {"index": 1, "label": "person", "score": 0.9, "box": [1.0, 2.0, 30.5, 20.25]}


def test_progressive_record_has_one_entry_per_step_and_the_target_outcome():
    steps = [Step(1, 200, Classification((ClassScore(5, "dog", 0.4),))), Step(2, 300, TOP)]
    record = build_record(SAMPLE, TOP, recognizer="resnet50", steps=steps, stop_at=0.7)
    assert [(s["iterations"], s["bytes_read"], s["confidence"]) for s in record["progressive"]] == [
        (1, 200, 0.4), (2, 300, 0.75)]
    assert record["progressive"][0]["results"] == [{"index": 5, "label": "dog", "probability": 0.4}]
    assert record["target_reached"] is True
    assert build_record(SAMPLE, TOP, recognizer="r", steps=steps, stop_at=0.8)["target_reached"] is False
    assert "progressive" not in build_record(SAMPLE, TOP, recognizer="r")
    assert "target_reached" not in build_record(SAMPLE, TOP, recognizer="r", steps=steps)


def test_a_downscaled_files_boxes_are_also_given_in_the_photos_pixels():
    import dataclasses

    sample = dataclasses.replace(SAMPLE, source_size=(400, 120))  # coded at 40×24: 10× wide, 5× high
    steps = [Step(1, 200, BOXES)]
    record = build_record(sample, BOXES, recognizer="mobilenet-ssd", steps=steps)
    assert (record["source_width"], record["source_height"]) == (400, 120)
    first = record["results"][0]
    assert first["box"] == [1.0, 2.0, 30.5, 20.25] and first["source_box"] == [10.0, 10.0, 305.0, 101.25]
    assert record["progressive"][0]["results"][0]["source_box"] == first["source_box"]
    assert "source_width" not in build_record(SAMPLE, BOXES, recognizer="r")
    assert "source_box" not in build_record(SAMPLE, BOXES, recognizer="r")["results"][0]
