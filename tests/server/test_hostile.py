"""Hostile clients: work that times out is cancelled, load is shed (503 + Retry-After), slow
clients are closed, image bombs get 413, and a stream gives everything back when it ends."""

from __future__ import annotations

import socket
import sys
import time

import httpx
import pytest

from rnncodec.edge.admission import Admission
from rnncodec.edge.errors import BusyError
from rnncodec.formats import Header
from rnncodec.formats.crafted import empty_iterations


@pytest.fixture(scope="module")
def bomb_weights():
    """The shipped network: its 16 iterations of a 1024² image take seconds on any CPU (the tiny test
    network's took 0.6 s on a Xeon, under the 1 s timeout, so the timeout was never reached)."""
    from rnncodec.weights import RNCWeights

    return RNCWeights.GRU_S_V4.value.path


@pytest.fixture(scope="module")
def strict_server(bomb_weights, resnet50_weights):
    """Classification with tight budgets: 1 s per request, 0.5 s per header, one 1024² image decoding at a time."""
    from rnncodec.edge.config import RecognizerSpec, ServerConfig
    from rnncodec.edge.runner import BackgroundServer

    config = ServerConfig(recognizers={"classify": RecognizerSpec("resnet50", str(resnet50_weights))},
                          codec_weights=str(bomb_weights), download=False, timeout=1.0, header_timeout=0.5,
                          max_pixels=1024 * 1024, max_pixels_in_flight=1024 * 1024, max_requests=3)
    with BackgroundServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def http(strict_server):
    with httpx.Client(base_url=strict_server.url, timeout=30) as client:
        yield client


def _bomb(codec_weights, side: int = 1024, iterations: int = 16) -> bytes:
    """A valid file of a few hundred bytes: side² pixels, ``iterations`` empty (all-zero) context iterations."""
    from rnncodec.weights import load_weights

    weights = load_weights(codec_weights)
    return empty_iterations(Header(width=side, height=side, mode="RGB", iterations=iterations, coder="context",
                                   weights_id=weights.weights_id, architecture=weights.architecture,
                                   tile_size=1024))


def _wait_idle(http, seconds: float) -> tuple[dict, float]:
    start = time.monotonic()
    while (health := http.get("/v1/health").json())["pixels_decoding"] and time.monotonic() - start < seconds:
        time.sleep(0.02)
    return health, time.monotonic() - start


def test_a_request_that_times_out_stops_decoding(http, bomb_weights):
    bomb = _bomb(bomb_weights)
    assert len(bomb) < 400
    start = time.monotonic()
    response = http.post("/v1/classify", content=bomb)
    assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
    assert time.monotonic() - start < 5
    health, waited = _wait_idle(http, 10)
    # 16 iterations of a 1024² tile would take several seconds more; cancelled, the thread stops
    # at its next iteration
    assert health["pixels_decoding"] == 0 and waited < 3, (health, waited)


def test_a_second_large_decode_is_shed_with_retry_after(http, bomb_weights, strict_server):
    import threading

    bomb = _bomb(bomb_weights)
    first = threading.Thread(target=lambda: httpx.post(f"{strict_server.url}/v1/classify", content=bomb, timeout=30))
    first.start()
    try:
        deadline = time.monotonic() + 5
        while not http.get("/v1/health").json()["pixels_decoding"] and time.monotonic() < deadline:
            time.sleep(0.01)
        response = http.post("/v1/classify", content=bomb)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "busy" and response.headers["retry-after"] == "1"
        assert "--max-pixels-in-flight" in response.json()["error"]["message"]
    finally:
        first.join()
    _wait_idle(http, 10)


def test_requests_over_max_requests_are_shed_before_their_body_is_read(http, strict_server):
    host, port = strict_server.url.removeprefix("http://").split(":")
    held = []
    try:
        for _ in range(3):  # each sends its headers and part of a body, then waits: a request slot each
            sock = socket.create_connection((host, int(port)))
            sock.sendall(b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"\x89PNG")
            held.append(sock)
        time.sleep(0.2)
        response = http.post("/v1/classify", content=b"x")
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert "--max-requests" in response.json()["error"]["message"]
        # a body that pauses longer than the header timeout is answered 408 and the slot freed
        answers = [sock.recv(4096) for sock in held]
        assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers
    finally:
        for sock in held:
            sock.close()


def test_connections_that_trickle_their_headers_are_closed_within_the_header_timeout(strict_server):
    host, port = strict_server.url.removeprefix("http://").split(":")
    sockets = [socket.create_connection((host, int(port))) for _ in range(50)]
    start = time.monotonic()
    request = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
    closed_at = {}
    try:
        for step in range(40):  # a byte every 0.1 s per connection, never the end of the head
            for index, sock in enumerate(sockets):
                if index in closed_at:
                    continue
                try:
                    sock.sendall(request[step % len(request):][:1])
                    sock.settimeout(0.001)
                    if sock.recv(1) == b"":
                        closed_at[index] = time.monotonic() - start
                except (socket.timeout, BlockingIOError):
                    pass
                except OSError:
                    closed_at[index] = time.monotonic() - start
            if len(closed_at) == len(sockets):
                break
            time.sleep(0.1)
    finally:
        for sock in sockets:
            sock.close()
    assert len(closed_at) == len(sockets)
    assert max(closed_at.values()) < 0.5 + 0.5, max(closed_at.values())  # header timeout 0.5 s, plus slack


def test_a_connection_s_time_counts_from_its_first_bytes_not_from_its_accept():
    from rnncodec.edge.connections import queued_seconds

    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        client.sendall(b"GET / HTTP/1.1\r\n")
        time.sleep(0.3)  # the connection waits in the accept queue, as in a burst
        accepted, _ = listener.accept()
        with client, accepted:
            waited = queued_seconds(accepted)
    if sys.platform == "linux":
        assert 0.25 <= waited < 1.0, waited
    else:
        assert waited == 0.0
    assert queued_seconds(None) == 0.0


@pytest.mark.parametrize("side", [30000, 2000])
def test_an_image_bomb_gets_413_json(http, side, load_benchmark):
    """30000² is over Pillow's own bomb limit (DecompressionBombError), 2000² only over --max-pixels.
    The PNG is the hostile benchmark's (benchmarks/hostile.py): an 8×8 PNG whose IHDR declares
    ``side × side``, so Pillow reads the size, not pixels."""
    crafted = load_benchmark("hostile").png_declaring(side, side)
    response = http.post("/v1/classify", content=crafted)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "limit_exceeded"
    assert http.get("/v1/health").status_code == 200  # the keep-alive connection is still good


def test_a_stream_that_resets_gives_its_pixels_back(strict_server, http, bomb_weights):
    from websockets.sync.client import connect

    from rnncodec.edge.client import split_iterations

    head, chunks = split_iterations(_bomb(bomb_weights, side=512, iterations=4))
    url = strict_server.url.replace("http", "ws", 1) + "/v1/classify/stream?stop_at_confidence=1.01"
    for _ in range(3):
        with connect(url) as websocket:
            websocket.send(head)
            websocket.recv(timeout=10)
            websocket.send(chunks[0])
            websocket.socket.shutdown(socket.SHUT_RDWR)  # gone without a close frame, mid-iteration
            start = time.monotonic()  # released once the iteration in progress ends (about 1 s here)
            while (health := http.get("/v1/health").json())["streams"] and time.monotonic() - start < 10:
                time.sleep(0.01)
        assert health["streams"] == 0 and health["pixels_decoding"] == 0


def test_admission_takes_one_large_job_and_small_ones_beside_it():
    admission = Admission(max_requests=2, max_pixels=150)
    admission.take(120)  # alone, even over the budget it would be admitted
    admission.take(30)
    with pytest.raises(BusyError, match="--max-pixels-in-flight"):
        admission.take(1)
    admission.give(120)
    with admission.decoding(100):
        assert admission.pixels == 130
    admission.give(30)
    admission.take(10**9)  # nothing else decoding: admitted
    with admission.request(), admission.request(), pytest.raises(BusyError, match="--max-requests"):
        with admission.request():
            pass
    assert admission.requests == 0 and admission.shed == 2
