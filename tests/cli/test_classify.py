"""rnc classify: tables, JSON Lines, progressive recognition, errors (random ResNet-50, no download)."""

from __future__ import annotations

import json

import pytest
import torch

from rnncodec import formats
from rnncodec.cli.main import cli

pytestmark = pytest.mark.usefixtures("offline")

RECORD_KEYS = {"schema", "file", "kind", "width", "height", "iterations", "iterations_in_file", "bytes_read",
               "file_bytes", "recognizer", "task", "confidence", "results"}


@pytest.fixture(scope="module")
def coded(tmp_path_factory, save_coded, photo):
    """a.png, b.png and their 3-iteration .rnc files (tiny random codec)."""
    folder = tmp_path_factory.mktemp("classify")
    save_coded(folder, "a", photo, 3)
    save_coded(folder, "b", photo[:48, :64], 3)
    return folder


@pytest.fixture
def classify(runner, weights_file, resnet50_weights):
    def run(*args):
        return runner.invoke(cli, ["classify", *map(str, args), "--weights", str(resnet50_weights),
                                   "--codec-weights", str(weights_file)])
    return run


def test_a_folder_gives_one_table_row_per_rnc_file_and_image(classify, coded):
    result = classify(coded, "--top-k", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0].rsplit("/", 1)[-1] for line in lines] == ["a.png", "a.rnc", "b.png", "b.rnc"]
    assert "3/3 it" in lines[1] and "image" in lines[0] and f"{(coded / 'a.png').stat().st_size:,} B" in lines[0]
    assert all(line.count("%") == 2 for line in lines)


def test_json_lines_follow_the_schema(classify, coded):
    result = classify(coded / "*.rnc", "-n", "2", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["file"].rsplit("/", 1)[-1] for r in records] == ["a.rnc", "b.rnc"]
    for record in records:
        assert set(record) == RECORD_KEYS
        rnc = formats.read(record["file"])
        assert (record["kind"], record["iterations"], record["iterations_in_file"]) == ("rnc", 2, 3)
        assert record["bytes_read"] == rnc.file_bytes - 12 - rnc.bytes_per_iteration[2]
        assert record["file_bytes"] == rnc.file_bytes and record["task"] == "classification"
        assert len(record["results"]) == 5 and record["confidence"] == record["results"][0]["probability"]
        assert set(record["results"][0]) == {"index", "label", "probability"}
    assert (records[0]["width"], records[0]["height"]) == (100, 72)


def test_progressive_reports_every_iteration_with_growing_bytes(classify, coded):
    result = classify(coded / "a.rnc", "--progressive", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    steps = record["progressive"]
    assert [s["iterations"] for s in steps] == [1, 2, 3]
    assert all(a["bytes_read"] < b["bytes_read"] for a, b in zip(steps, steps[1:]))
    assert (steps[-1]["bytes_read"], steps[-1]["results"]) == (record["bytes_read"], record["results"])
    assert "target_reached" not in record


def test_stop_at_confidence_stops_at_the_first_iteration_that_reaches_it(classify, coded):
    result = classify(coded / "a.rnc", "--stop-at-confidence", "0", "--json")
    record = json.loads(result.output)
    assert [s["iterations"] for s in record["progressive"]] == [1] and record["iterations"] == 1
    assert record["target_reached"] is True and record["bytes_read"] < record["file_bytes"]
    table = classify(coded / "a.rnc", "--stop-at-confidence", "1")
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0].endswith(f"3 iterations in the file, {record['file_bytes']:,} bytes")
    assert [line.split()[:2] for line in lines[1:4]] == [["1", "it"], ["2", "it"], ["3", "it"]]
    assert lines[4].startswith("  confidence 1.0 not reached in 3 iterations: ")


def test_missing_weights_offline_is_one_error_line_naming_file_and_folder(runner, coded, offline):
    result = runner.invoke(cli, ["classify", str(coded / "a.rnc")])
    assert result.exit_code == 1
    assert result.output == (f"Error: resnet50 weights resnet50-11ad3fa6.pth are missing (not in the cache and "
                             f"downloads are off: RNC_OFFLINE or --no-download); put the file in {offline} or "
                             f"pass --weights FILE\n")


@pytest.mark.parametrize("args, message", [
    (["--recognizer", "nope"], "unknown recognizer 'nope'"),
    (["--recognizer", "mobilenet-ssd"], "mobilenet-ssd is a detection recognizer"),
    (["--stop-at-confidence", "2"], "Invalid value for '--stop-at-confidence'"),
])
def test_usage_errors_exit_2(runner, coded, args, message):
    result = runner.invoke(cli, ["classify", str(coded / "a.rnc"), *args])
    assert result.exit_code == 2 and message in result.output


def test_a_bad_file_is_reported_and_the_others_classified(classify, coded, tmp_path):
    broken = tmp_path / "broken.rnc"
    broken.write_bytes((coded / "a.rnc").read_bytes()[:-30])
    result = classify(broken, coded / "b.rnc")
    assert result.exit_code == 1
    assert "Error: " in result.output and "truncated RNC file" in result.output
    assert sum("b.rnc" in line for line in result.output.splitlines()) == 1
    lenient = classify(broken, "--lenient", "--json")
    assert lenient.exit_code == 0 and json.loads(lenient.output)["iterations"] == 2


@pytest.mark.slow
def test_decode_workers_give_the_same_records(classify, coded, tmp_path):
    broken = tmp_path / "broken.rnc"
    broken.write_bytes((coded / "a.rnc").read_bytes()[:-30])
    inputs = [coded / "a.rnc", broken, coded / "b.png", coded / "b.rnc"]
    threads = torch.get_num_threads()
    try:  # decoding threads run one torch thread each: so does this process, for the same pixels
        alone = classify(*inputs, "--json", "-n", "2", "--threads", "1", "--decode-workers", "0")
        workers = classify(*inputs, "--json", "-n", "2", "--threads", "1", "--decode-workers", "3")
        default = classify(*inputs, "--json", "-n", "2", "--threads", "2")  # two decoding threads
        assert torch.get_num_threads() == 2  # restored after the run
    finally:
        torch.set_num_threads(threads)
    assert workers.exit_code == alone.exit_code == default.exit_code == 1
    assert workers.output == alone.output == default.output
    assert "Error: " in workers.output and "truncated RNC file" in workers.output
    refused = classify(coded / "a.rnc", "--decode-workers", "1", "--progressive")
    assert refused.exit_code == 2 and "does not apply to progressive" in refused.output
