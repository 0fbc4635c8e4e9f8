"""The page at / (in a real headless browser), its progressive upload, and /docs without a CDN."""

from __future__ import annotations

import json
import os
import re
import shutil

import httpx
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def http(edge_server):
    with httpx.Client(base_url=edge_server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def png(tmp_path_factory, photo):
    path = tmp_path_factory.mktemp("page") / "photo.png"
    Image.fromarray(photo).save(path)
    return path


def _lines(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def test_progressive_upload_streams_every_iteration(http, png):
    lines = _lines(http.post("/v1/classify/progressive", content=png.read_bytes(), params={"iterations": 3}))
    steps, done = lines[:-1], lines[-1]
    assert [s["iterations"] for s in steps] == [1, 2, 3] and done == {"type": "done", "reason": "iterations",
                                                                       "stop_at_confidence": None}
    sizes = [s["bytes_sent"] for s in steps]
    assert sizes == sorted(sizes) and all(s["original_bytes"] == png.stat().st_size for s in steps)
    assert all(s["image"].startswith("data:image/png;base64,") for s in steps)
    assert steps[-1]["stop"] and not steps[0]["stop"] and steps[0]["results"][0]["label"]


def test_progressive_upload_stops_when_sure(http, png):
    lines = _lines(http.post("/v1/classify/progressive", content=png.read_bytes(),
                             params={"iterations": 4, "stop_at_confidence": 0.5}))
    assert [line["type"] for line in lines] == ["step", "done"]
    assert lines[0]["confidence"] >= 0.5 and lines[0]["stop"] and lines[1]["reason"] == "confident"


def test_progressive_upload_refuses_what_is_not_an_image(http):
    response = http.post("/v1/detect/progressive", content=b"no image here")
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_body"


def test_page_and_swagger_ui_load_nothing_from_elsewhere(http):
    for path in ("/", "/docs", "/static/page.js"):
        response = http.get(path)
        assert response.status_code == 200
        assert not re.search(r"(src|href)=[\"']?(https?:)?//", response.text), path  # no CDN, no other host
        assert "cdn" not in response.text.lower(), path
    for asset in re.findall(r"[\"'](/static/[^\"']+)[\"']", http.get("/docs").text + http.get("/").text):
        assert http.get(asset).status_code == 200, asset
    assert "iteration by iteration" in http.get("/openapi.json").json()["paths"]["/v1/classify/progressive"]["post"]["summary"]


def _browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.mark.slow
@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("RNC_REQUIRE_BROWSER"),
                    reason="needs chromium and chromedriver (.ci/run installs them)")
def test_a_person_sends_a_photo_and_sees_it_sharpen(edge_server, png, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser(tmp_path / "profile")
    try:
        browser.get(edge_server.url + "/")
        assert "rnncodec" in browser.title
        browser.find_element(By.ID, "photo").send_keys(str(png))
        iterations = browser.find_element(By.ID, "iterations")
        iterations.clear()
        iterations.send_keys("3")
        browser.find_element(By.ID, "stop-at").clear()  # empty: never sure enough, every iteration
        browser.find_element(By.ID, "send").click()
        WebDriverWait(browser, 180).until(
            lambda b: b.find_element(By.ID, "status").text == "Every iteration sent.")
        steps = browser.find_elements(By.CSS_SELECTOR, ".step")
        assert len(steps) == 3
        for number, step in enumerate(steps, start=1):
            assert f"iteration {number}" in step.text
            assert re.search(r"\S+ \d+\.\d%", step.find_element(By.CLASS_NAME, "answer").text)
            assert "confidence 0." in step.text
            assert re.search(rf"sent of the original's {png.stat().st_size:,} B", step.text)
            image = step.find_element(By.TAG_NAME, "img")
            assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 100
        browser.save_screenshot(str(tmp_path / "page.png"))
        browser.get(edge_server.url + "/docs")  # Swagger UI renders offline (no CDN to reach here)
        WebDriverWait(browser, 60).until(
            lambda b: "rnncodec edge server" in b.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text)
        assert "/v1/classify/progressive" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui").text
    finally:
        browser.quit()
    with Image.open(tmp_path / "page.png") as shot:
        assert shot.size[0] >= 800
    if os.environ.get("RNC_PAGE_SCREENSHOT"):  # keep one to look at
        shutil.copy(tmp_path / "page.png", os.environ["RNC_PAGE_SCREENSHOT"])


def test_a_server_without_codec_weights_codes_uploads_with_the_recognition_weights():
    from types import SimpleNamespace

    from PIL import Image

    from rnncodec.edge.page import _start_encoding
    from rnncodec.weights import RECOGNITION_WEIGHTS, RNCWeights

    state = SimpleNamespace(engine=SimpleNamespace(codec=None))  # rnc serve without --codec-weights
    codes, writer, _, _ = _start_encoding(state, Image.new("RGB", (40, 24), "gray"), 2, 100)
    codes.close()
    assert writer.header.weights_id == RNCWeights.from_name(RECOGNITION_WEIGHTS).value.weights_id
