"""The progressive WebSocket stream: stop when sure, all iterations when not, errors, disconnects."""

from __future__ import annotations

import json
import os
import socket
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from rnncodec import formats
from rnncodec.edge.client import EdgeClient, split_iterations
from rnncodec.edge.config import ServerConfig
from rnncodec.edge.errors import InvalidParameterError, ServerError
from rnncodec.edge.streaming import StreamOptions


@pytest.fixture(scope="module")
def client(edge_server):
    with EdgeClient(edge_server.url) as client:
        yield client


def test_a_threshold_met_at_once_stops_after_one_iteration(client, rnc):
    answer = client.stream(rnc, "classify", stop_at_confidence=0.0)
    head, chunks = split_iterations(rnc)
    assert answer.reason == "confident" and len(answer.steps) == 1 and answer.steps[0]["stop"]
    assert answer.bytes_sent == len(head) + len(chunks[0]) < len(rnc)
    record = answer.record
    assert (record["iterations"], record["iterations_in_file"], record["target_reached"]) == (1, 4, True)
    assert record["bytes_read"] == answer.bytes_sent and [s["iterations"] for s in record["progressive"]] == [1]


def test_a_threshold_never_met_sends_every_iteration(client, rnc):
    seen = []
    answer = client.stream(rnc, "classify", stop_at_confidence=1.01, on_step=seen.append)
    assert answer.reason == "complete" and [s["iterations"] for s in seen] == [1, 2, 3, 4]
    assert [s["stop"] for s in seen] == [False, False, False, True]
    assert answer.bytes_sent == len(rnc) - formats.spec.CHUNK_FRAMING_BYTES  # all but the end chunk
    bytes_read = [s["bytes_read"] for s in answer.record["progressive"]]
    assert bytes_read == sorted(bytes_read) and bytes_read[-1] == answer.bytes_sent
    assert answer.record["target_reached"] is False


def test_the_streamed_answer_is_the_answer_to_the_same_iterations_posted(client, rnc):
    streamed = client.stream(rnc, "detect", stop_at_confidence=1.01).steps
    posted = client.recognize(rnc, "detect", iterations=2).record
    assert streamed[1]["results"] == posted["results"]  # incremental decoding, same pixels


def test_a_cut_file_ends_with_the_end_message(client, rnc):
    cut = rnc[: len(rnc) - 30]  # 3 whole iterations
    answer = client.stream(cut, "detect")
    assert answer.reason == "end" and answer.record["iterations"] == 3 and "target_reached" not in answer.record


def _first_message(url: str, *frames) -> dict:
    with connect(url.replace("http", "ws", 1) + "/v1/classify/stream") as websocket:
        for frame in frames:
            websocket.send(frame)
        return json.loads(websocket.recv(timeout=30))


@pytest.mark.parametrize("frame, code", [
    (b"GIF89a, not a .rnc file", "not_rnc"),
    ('{"type": "end"}', "protocol_error"),
    ('{"type": "what"}', "protocol_error"),
])
def test_a_bad_stream_gets_an_error_message_and_the_server_goes_on(edge_server, client, rnc, frame, code):
    message = _first_message(edge_server.url, frame)
    assert message["type"] == "error" and message["error"]["code"] == code, message
    assert client.stream(rnc, "classify", stop_at_confidence=0.0).reason == "confident"


def test_unknown_weights_are_refused_at_the_header(client, other_weights_file, coded_photo):
    from rnncodec.codec import Codec

    other = Codec(other_weights_file).encode(coded_photo / "photo.png", 2)
    with pytest.raises(ServerError) as caught:
        client.stream(other, "classify")
    assert caught.value.code == "weights_mismatch" and caught.value.status == 1008


def test_stream_options_come_from_the_client_or_else_the_server():
    server = ServerConfig(stop_at_confidence=0.8, top_k=3)
    assert StreamOptions.parse({}, server).stop_at_confidence == 0.8
    chosen = StreamOptions.parse({"stop_at_confidence": "0.5", "top_k": "1"}, server)
    assert (chosen.stop_at_confidence, chosen.top_k) == (0.5, 1)
    with pytest.raises(InvalidParameterError, match="top_k"):
        StreamOptions.parse({"top_k": "zero"}, server)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _quiet(server, http) -> dict:
    """The health of a server with no stream left open (waits up to 10 s for the last to end)."""
    deadline = time.monotonic() + 10
    while (health := http.get("/v1/health").json())["streams"] and time.monotonic() < deadline:
        time.sleep(0.02)
    return health


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS read from /proc")
def test_200_clients_leaving_mid_stream_leave_no_task_and_no_memory_behind(edge_server, rnc):
    """Clients vanish after the header, inside an iteration, or while their iteration is being
    recognised; half close cleanly, half drop the TCP connection."""
    head, chunks = split_iterations(rnc)
    url = edge_server.url.replace("http", "ws", 1) + "/v1/detect/stream?stop_at_confidence=1.01"

    def frames(index: int) -> list[bytes]:
        if index % 20 == 0:
            return [head + chunks[0]]  # leaves while that iteration is decoded and recognised
        return [head] if index % 2 else [head, chunks[0][:20]]

    def leave(index: int) -> None:
        with connect(url) as websocket:  # leaving the block closes cleanly, if the socket is still there
            for frame in frames(index):
                websocket.send(frame)
            if index % 4 < 2:
                websocket.socket.shutdown(socket.SHUT_RDWR)  # gone without a close frame

    with httpx.Client(base_url=edge_server.url) as http:
        for index in range(20):  # warm up: buffers and pools reach their working size
            leave(index)
        before, rss_before = _quiet(edge_server, http), _rss_bytes()
        for index in range(200):
            leave(index)
        after, rss_after = _quiet(edge_server, http), _rss_bytes()
    assert after["streams"] == 0
    assert after["asyncio_tasks"] == before["asyncio_tasks"], (before, after)
    assert rss_after - rss_before < 40 << 20, f"RSS grew by {(rss_after - rss_before) / 2**20:.1f} MiB"
    print(f"200 disconnects: tasks {before['asyncio_tasks']} → {after['asyncio_tasks']}, "
          f"RSS {rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB")


@pytest.fixture(scope="module")
def strict_server(weights_file, ssd_weights):
    """A detection server with tight limits: one stream at a time, 1 s per message, 300 bytes."""
    from rnncodec.edge.config import RecognizerSpec
    from rnncodec.edge.runner import BackgroundServer

    config = ServerConfig(recognizers={"detect": RecognizerSpec("mobilenet-ssd", str(ssd_weights))},
                          codec_weights=str(weights_file), download=False, max_streams=1, timeout=1.0,
                          max_body_bytes=300)
    with BackgroundServer(config) as server:
        yield server


def test_limits_of_a_stream_busy_idle_and_too_big(strict_server, rnc):
    url = strict_server.url.replace("http", "ws", 1) + "/v1/detect/stream"
    head, chunks = split_iterations(rnc)
    with connect(url) as first:
        first.send(head)
        assert json.loads(first.recv(timeout=30))["type"] == "header"
        with connect(url) as second:
            refused = json.loads(second.recv(timeout=30))
            with pytest.raises(ConnectionClosed) as closed:
                second.recv(timeout=30)
        assert refused["error"]["code"] == "busy" and closed.value.rcvd.code == 1013
        idle = json.loads(first.recv(timeout=30))  # nothing sent for 1 s
        assert idle["error"]["code"] == "timeout"
    with pytest.raises(ServerError) as caught, EdgeClient(strict_server.url) as client:
        client.stream(rnc, "detect", stop_at_confidence=1.01)
    assert (caught.value.code, caught.value.status) == ("body_too_large", 1009)
    assert len(head) + sum(map(len, chunks[:2])) <= 300 < len(rnc)
