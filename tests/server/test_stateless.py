"""The service is stateless: requests and streams spread over two servers get the same answers."""

from __future__ import annotations

import itertools

import pytest

from rnncodec.edge.client import EdgeClient
from rnncodec.edge.config import RecognizerSpec, ServerConfig
from rnncodec.edge.errors import ServerError
from rnncodec.edge.runner import BackgroundServer


@pytest.fixture(scope="module")
def two_servers(weights_file, ssd_weights):
    """Two servers that serve detection only, each with its own models (as two machines would)."""
    config = ServerConfig(recognizers={"detect": RecognizerSpec("mobilenet-ssd", str(ssd_weights))},
                          codec_weights=str(weights_file), download=False)
    with BackgroundServer(config) as first, BackgroundServer(config) as second:
        yield first, second


def test_requests_and_streams_spread_over_two_servers_get_the_same_answers(two_servers, coded_photo):
    """A round-robin balancer: each request and each stream goes to the next server."""
    rnc = (coded_photo / "photo.rnc").read_bytes()
    png = (coded_photo / "photo.png").read_bytes()
    clients = [EdgeClient(server.url) for server in two_servers]
    balancer = itertools.cycle(clients)
    try:
        posted = [next(balancer).recognize(body, "detect").record for body in (rnc, png, rnc, png)]
        streamed = [next(balancer).stream(rnc, "detect", stop_at_confidence=1.01) for _ in range(2)]
        served = [client.health()["images"] for client in clients]
    finally:
        for client in clients:
            client.close()
    assert posted[0] == posted[2] and posted[1] == posted[3]
    assert streamed[0].record == streamed[1].record and streamed[0].steps == streamed[1].steps
    assert streamed[0].steps[-1]["results"] == posted[0]["results"]
    assert served == [2 + 4, 2 + 4]  # each did half of the work: two requests and a 4-iteration stream


def test_a_task_the_server_does_not_serve_is_a_404(two_servers, coded_photo):
    with EdgeClient(two_servers[0].url) as client, pytest.raises(ServerError) as caught:
        client.recognize((coded_photo / "photo.rnc").read_bytes(), "classify")
    assert (caught.value.status, caught.value.code) == (404, "task_not_served")
