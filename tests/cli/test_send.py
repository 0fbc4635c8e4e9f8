"""rnc send (against a server in this process) and rnc serve (its options; a real run is slow)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from rnncodec.cli.main import cli


def _free_port() -> int:
    """A loopback port nobody listens on (free when probed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def send(runner, edge_server, weights_file):
    def run(*args):
        return runner.invoke(cli, ["send", *map(str, args), "--server", edge_server.url,
                                   "--codec-weights", str(weights_file)])
    return run


def test_an_image_is_encoded_sent_and_answered(send, coded_photo):
    png = coded_photo / "photo.png"
    result = send(png, "--top-k", "2")
    assert result.exit_code == 0, result.output
    answer, costs = result.output.splitlines()
    assert answer.startswith("photo.png  2/2 it  ") and answer.count("%") == 2
    assert costs.startswith("sent ") and f"of the original image ({png.stat().st_size:,} bytes)" in costs


def test_progressive_json_stops_when_sure_and_counts_the_bytes(send, coded_photo):
    result = send(coded_photo / "photo.rnc", "--stop-at-confidence", "0", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["stopped"] == "confident" and out["record"]["iterations"] == 1
    assert out["bytes_sent"] == out["record"]["bytes_read"] < out["file_bytes"]
    assert out["file_bytes"] == (coded_photo / "photo.rnc").stat().st_size
    assert out["original_bytes"] == (coded_photo / "photo.png").stat().st_size  # from the file's metadata


def test_progressive_table_shows_every_step(send, coded_photo):
    result = send(coded_photo / "photo.png", "--task", "detect", "--progressive", "-n", "3",
                  "--stop-at-confidence", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "photo.png  streamed, 3 iterations in the file"
    assert [int(m[1]) for line in lines if (m := re.match(r" +(\d+) it +[\d,]+ B", line))] == [1, 2, 3]
    assert "confidence target not reached in 3 iterations" in result.output


def test_an_image_is_sent_within_a_byte_budget_downscaled_if_it_must(send, coded_photo):
    png = coded_photo / "photo.png"
    whole = json.loads(send(png, "-n", "1", "--json").output)["bytes_sent"]
    record = json.loads(send(png, "--max-bytes", whole + 40, "--json").output)
    assert whole < record["bytes_sent"] <= whole + 40
    # the test network's files shrink too little downscaled to pay for the source_size they must
    # carry (the client strips the rest): the budget reaches the encoder, which says so
    result = send(png, "--max-bytes", whole - 1, "--downscale-to-fit")
    assert result.exit_code == 1 and "below the smallest file at any size" in result.output, result.output
    small = json.loads(send(png, "--shorter-side", 16, "-n", 1, "--json").output)["record"]
    assert min(small["width"], small["height"]) == 16 and "source_width" in small
    result = send(png, "--downscale-to-fit")
    assert result.exit_code == 2 and "--downscale-to-fit goes with --max-bytes" in result.output


def test_a_server_of_other_weights_says_which_option_to_use(runner, edge_server, coded_photo):
    result = runner.invoke(cli, ["send", str(coded_photo / "photo.png"), "--server", edge_server.url])
    assert result.exit_code == 1 and "(weights_mismatch, 422)" in result.output  # the server's own weights
    assert "name its weights with --codec-weights" in result.output and result.output.count("\n") == 1


def test_a_cut_rnc_file_and_the_original_image(send, coded_photo):
    cut = send(coded_photo / "photo.rnc", "-n", "2", "--json")
    record = json.loads(cut.output)["record"]
    assert (record["iterations"], record["iterations_in_file"]) == (2, 2)
    original = json.loads(send(coded_photo / "photo.png", "--original", "--json").output)
    assert original["record"]["kind"] == "image"
    assert original["bytes_sent"] == (coded_photo / "photo.png").stat().st_size


def test_errors_are_one_line(runner, send, coded_photo, tmp_path):
    (tmp_path / "junk.bin").write_bytes(b"junk")
    refused = send(tmp_path / "junk.bin", "--original")
    assert refused.exit_code == 1 and "unsupported_body, 415" in refused.output
    port = _free_port()
    down = runner.invoke(cli, ["send", str(coded_photo / "photo.rnc"), "--server", f"http://127.0.0.1:{port}"])
    assert down.exit_code == 1 and "Error: cannot reach" in down.output
    usage = send(coded_photo / "photo.png", "--original", "--progressive")
    assert usage.exit_code == 2


@pytest.mark.parametrize("args, words", [
    (["--weights", "classify"], "TASK=VALUE"),
    (["--recognizer", "segment=x"], "TASK=VALUE"),
    (["--task", "classify", "--weights", "detect=x.pth"], "detect is not served"),
    (["--weights", "classify=missing.pth"], "no such file"),
])
def test_serve_checks_its_options_before_loading_anything(runner, args, words):
    result = runner.invoke(cli, ["serve", *args])
    assert result.exit_code == 2 and words in result.output


@pytest.mark.slow
def test_rnc_serve_with_two_workers_answers_and_stops(tmp_path, weights_file, ssd_weights, coded_photo):
    """The real command: two worker processes on a loopback port; SIGINT stops it."""
    port = _free_port()
    command = [sys.executable, "-m", "rnncodec.cli", "serve", "--port", str(port), "--workers", "2", "--task",
               "detect", "--weights", f"detect={ssd_weights}", "--codec-weights", str(weights_file),
               "--threads", "1", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=tmp_path, env={**os.environ, "RNC_OFFLINE": "1"}, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        pids = set()
        for _ in range(8):  # a new connection each time: the two workers share the port
            record = httpx.post(f"{url}/v1/detect", content=(coded_photo / "photo.rnc").read_bytes(), timeout=60)
            assert record.status_code == 200, record.text
            pids.add(httpx.get(f"{url}/v1/health", timeout=10).json()["pid"])
        assert server.pid not in pids
    finally:
        server.send_signal(signal.SIGINT)
        try:
            output = server.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:  # never leave it (or its workers) behind
            os.killpg(server.pid, signal.SIGKILL)
            output = server.communicate()[0]
    assert server.returncode == 0, output
