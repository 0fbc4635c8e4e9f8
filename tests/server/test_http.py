"""POST /v1/classify and /v1/detect, health and models, and every refusal as a 4xx JSON error."""

from __future__ import annotations

import io
import json
import re

import httpx
import pytest
from click.testing import CliRunner
from PIL import Image

from rnncodec import formats
from rnncodec.cli.main import cli
from rnncodec.formats.chunks import pack_chunk

RECORD_KEYS = {"schema", "file", "kind", "width", "height", "iterations", "iterations_in_file", "bytes_read",
               "file_bytes", "recognizer", "task", "confidence", "results"}


@pytest.fixture(scope="module")
def http(edge_server):
    with httpx.Client(base_url=edge_server.url, timeout=60) as client:
        yield client


def test_health_models_and_openapi(http):
    health = http.get("/v1/health").json()
    assert health["status"] == "ok" and health["tasks"] == ["classify", "detect"] and health["streams"] == 0
    models = http.get("/v1/models").json()
    assert models["tasks"]["classify"]["recognizer"] == "resnet50"
    assert models["tasks"]["detect"]["task"] == "detection" and models["codec"]["architecture"] == "tiny"
    paths = http.get("/openapi.json").json()["paths"]
    assert {"/v1/classify", "/v1/detect", "/v1/health", "/v1/models"} <= set(paths)
    assert "application/octet-stream" in paths["/v1/classify"]["post"]["requestBody"]["content"]
    assert http.get("/docs").status_code == 200


def test_classify_returns_the_record_of_rnc_classify_json(http, rnc, coded_photo, weights_file, resnet50_weights):
    response = http.post("/v1/classify", content=rnc, params={"iterations": 2, "name": "photo.rnc"})
    assert response.status_code == 200, response.text
    record = response.json()
    local = CliRunner().invoke(cli, ["classify", str(coded_photo / "photo.rnc"), "-n", "2", "--json", "--weights",
                                str(resnet50_weights), "--codec-weights", str(weights_file)])
    expected = json.loads(local.output)
    assert set(record) == set(expected) == RECORD_KEYS
    for key in RECORD_KEYS - {"file", "confidence", "results"}:
        assert record[key] == expected[key], key
    assert [r["label"] for r in record["results"]] == [r["label"] for r in expected["results"]]
    assert record["confidence"] == pytest.approx(expected["confidence"], abs=0.02)


def test_detect_an_rnc_file_and_a_plain_image(http, rnc, coded_photo):
    record = http.post("/v1/detect", content=rnc, params={"threshold": 0.5}).json()
    assert (record["task"], record["kind"], record["iterations"]) == ("detection", "rnc", 4)
    assert record["results"] and {"index", "label", "score", "box"} == set(record["results"][0])
    png = (coded_photo / "photo.png").read_bytes()
    image = http.post("/v1/detect", content=png).json()
    assert (image["kind"], image["iterations"], image["bytes_read"]) == ("image", None, len(png))


def _corrupt(data: bytes) -> bytes:
    """``data`` with one payload byte of the last iteration flipped (its CRC no longer matches)."""
    broken = bytearray(data)
    broken[-20] ^= 0xFF
    return bytes(broken)


@pytest.fixture(scope="module")
def bad_bodies(rnc, make_header, other_weights_file, coded_photo, edge_server):
    """A body of each kind the server refuses, under the error code it must answer with."""
    from rnncodec.codec import Codec

    huge_header = formats.spec.SIGNATURE + pack_chunk(formats.spec.CHUNK_HEADER,
                                                      make_header(width=5000, height=5000).to_bytes())
    return {
        "empty_body": b"",
        "unsupported_body": b"just some text, neither a .rnc file nor an image",
        "truncated_rnc": rnc[: len(rnc) - 30],
        "corrupt_rnc": _corrupt(rnc),
        "weights_mismatch": Codec(other_weights_file).encode(coded_photo / "photo.png", 1),
        "limit_exceeded": huge_header,
        "body_too_large": b"\0" * (edge_server.engine.config.max_body_bytes + 1),
    }


@pytest.mark.parametrize("code, status, words", [
    ("empty_body", 400, "empty"),
    ("unsupported_body", 415, "neither a .rnc file"),
    ("truncated_rnc", 400, "truncated RNC file"),
    ("corrupt_rnc", 400, "bad CRC in chunk RITR #4"),
    ("weights_mismatch", 422, "encoded with weights"),
    ("limit_exceeded", 413, "max_pixels"),
    ("body_too_large", 413, "--max-body-bytes"),
])
def test_bad_bodies_get_a_4xx_json_error_naming_the_problem(http, bad_bodies, rnc, code, status, words):
    response = http.post("/v1/classify", content=bad_bodies[code])
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and words in error["message"], error
    assert http.post("/v1/classify", content=rnc, params={"top_k": 1}).status_code == 200  # still serving


def test_an_image_over_max_pixels_is_refused_before_it_is_decoded(http):
    out = io.BytesIO()
    Image.new("L", (2100, 2100)).save(out, format="PNG")
    error = http.post("/v1/detect", content=out.getvalue()).json()["error"]
    assert error["code"] == "limit_exceeded" and "2100×2100" in error["message"]


def test_bad_parameters_and_paths_are_json_errors_too(http, rnc):
    response = http.post("/v1/classify", content=rnc, params={"top_k": 0})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_parameter"
    assert "top_k" in response.json()["error"]["message"]
    missing = http.get("/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert http.get("/v1/classify").json()["error"]["code"] == "method_not_allowed"


def test_a_cut_file_is_read_leniently_when_asked(http, rnc):
    cut = rnc[: len(rnc) - 30]  # inside the last iteration: 3 whole ones remain
    record = http.post("/v1/classify", content=cut, params={"lenient": "true"}).json()
    assert (record["iterations"], record["iterations_in_file"]) == (3, 3)


def test_a_file_from_weights_the_server_does_not_have_is_a_422(make_header):
    from rnncodec.edge.config import ServerConfig
    from rnncodec.edge.errors import UnknownCodecWeightsError, as_request_error
    from rnncodec.errors import UnknownWeightsError
    from rnncodec.recognition import InputDecoder

    config = ServerConfig()  # no --codec-weights: the shipped weights the file names, and these are not
    with pytest.raises(UnknownWeightsError) as caught:
        InputDecoder(config.codec_weights, limits=config.limits).codec_for(make_header())
    refusal = as_request_error(caught.value)
    assert isinstance(refusal, UnknownCodecWeightsError) and re.search("not shipped.*--codec-weights", str(refusal))
    assert (refusal.status, refusal.code) == (422, "unknown_codec_weights")
