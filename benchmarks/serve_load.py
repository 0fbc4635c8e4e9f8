"""Load on ``rnc serve`` over loopback: 500 POSTs from 32 concurrent clients, then 200 abandoned streams.

    python benchmarks/serve_load.py                              # classify, random ResNet-50
    python benchmarks/serve_load.py --task detect --requests 200 --clients 8
    python benchmarks/serve_load.py --checkpoint runs/r1/gru-s.ckpt   # a codec being trained

Setup (not timed): codec weights (``--codec-weights``, else exported from ``--checkpoint``, else a
random ``tiny`` network), recognizer weights (``--weights``, else a randomly initialised network of
the same cost as torchvision's: no download), and small ``.rnc`` bodies: crops of the example
photos (``--size``), encoded at ``--iterations``.  The server is the real command, ``rnc serve``, in
its own process on a free port of 127.0.0.1 — nothing leaves the machine.

Timed: ``--requests`` POSTs from ``--clients`` concurrent clients (each sends its next request
when the previous is answered); stops early after ``--max-seconds``.  Printed and written to
``results/serve/<task>.json``: errors, latency p50/p95/p99, throughput, and the server's mean batch
size.  Then ``--disconnects`` clients open a stream and vanish mid-way (after the header, inside an
iteration, or while theirs is recognised; half drop the TCP connection, half close it); the
server's asyncio task count and resident memory are read before and after.  The 1-minute load
average is recorded: other work on the machine inflates every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnncodec.edge.config import DEFAULT_RECOGNIZERS
from rnncodec.edge.protocol import HEALTH_PATH, stream_path, task_path

ROOT = Path(__file__).resolve().parents[1]


def random_weights(task: str, path: Path) -> Path:
    """A randomly initialised torchvision network for ``task`` (as the tests make them)."""
    import torch
    from torchvision.models import resnet50
    from torchvision.models.detection import ssdlite320_mobilenet_v3_large

    torch.manual_seed(0)
    model = resnet50(weights=None) if task == "classify" else ssdlite320_mobilenet_v3_large(weights=None,
                                                                                           weights_backbone=None)
    torch.save(model.state_dict(), path)
    return path


def codec_weights(args: argparse.Namespace, work: Path) -> Path:
    if args.codec_weights:
        return args.codec_weights
    if args.checkpoint:
        from rnncodec.train import export_checkpoint

        return export_checkpoint(args.checkpoint, work / f"{args.checkpoint.stem}.pt")
    import torch

    from rnncodec.configs import get_config
    from rnncodec.model import RecurrentCodec
    from rnncodec.weights import save_weights

    torch.manual_seed(0)
    return save_weights(RecurrentCodec(get_config("tiny")), work / "tiny-random.pt")


def bodies(weights: Path, size: int, iterations: int) -> list[bytes]:
    """``.rnc`` files of ``size``-pixel crops (four per example photo)."""
    from PIL import Image

    from rnncodec.codec import Codec

    codec = Codec(weights)
    out = []
    for photo in sorted((ROOT / "examples").glob("*.png")):
        image = Image.open(photo).convert("RGB")
        for left, top in ((0, 0), (image.width - size, 0), (0, image.height - size), (image.width // 3, 40)):
            png = io.BytesIO()
            image.crop((left, top, left + size, top + size * 3 // 4)).save(png, format="PNG")
            out.append(codec.encode(png.getvalue(), iterations))
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(args: argparse.Namespace, weights: Path, codec: Path, port: int,
                 extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """``rnc serve`` in its own process (``extra``: more of its options), once it answers its health check."""
    command = [sys.executable, "-m", "rnncodec.cli", "serve", "--port", str(port), "--task", args.task,
               "--weights", f"{args.task}={weights}", "--codec-weights", str(codec), "--workers", str(args.workers),
               "--no-download", "--log-level", "warning", *extra]
    server = subprocess.Popen(command, env={**os.environ, "RNC_OFFLINE": "1"}, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        try:
            httpx.get(f"http://127.0.0.1:{port}{HEALTH_PATH}", timeout=2).raise_for_status()
            return server
        except httpx.HTTPError:
            time.sleep(0.25)
    stop_server(server)
    raise SystemExit("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    """SIGINT (uvicorn stops its workers), then SIGKILL to the whole group if it lingers."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


async def load(url: str, task: str, payloads: list[bytes], requests: int, clients: int, max_seconds: float) -> dict:
    """``requests`` POSTs from ``clients`` concurrent clients: latencies and errors."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    issued = 0
    started = time.perf_counter()

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() - started < max_seconds:
            body = payloads[issued % len(payloads)]
            issued += 1
            sent = time.perf_counter()
            try:
                response = await http.post(task_path(task), content=body)
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - sent)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    return {"requests": len(latencies), "errors": len(errors), "first_errors": errors[:5], "wall_s": round(wall, 2),
            "throughput_rps": round(len(latencies) / wall, 2), "latency_ms": {
                "p50": round(1000 * cuts[49], 1), "p95": round(1000 * cuts[94], 1), "p99": round(1000 * cuts[98], 1),
                "mean": round(1000 * statistics.fmean(latencies), 1), "max": round(1000 * max(latencies), 1)}}


def server_memory(pid: int) -> int:
    """Resident bytes of process ``pid`` (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def abandon_streams(url: str, task: str, payload: bytes, count: int) -> None:
    """``count`` streams left mid-way, in the three places and the two manners of the module docstring."""
    from websockets.sync.client import connect

    from rnncodec.edge.client import split_iterations

    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # the client's side of a dropped socket is noisy
    head, chunks = split_iterations(payload)
    places = [[head], [head, chunks[0][: len(chunks[0]) // 2]], [head + chunks[0]]]
    stream = url.replace("http", "ws", 1) + stream_path(task) + "?stop_at_confidence=1.01"
    for index in range(count):
        with connect(stream) as websocket:
            for frame in places[2 if index % 20 == 0 else index % 2]:
                websocket.send(frame)
            if index % 4 < 2:
                websocket.socket.shutdown(socket.SHUT_RDWR)


def disconnects(url: str, task: str, payload: bytes, count: int) -> dict:
    """Server task count and RSS around ``count`` abandoned streams (after 20 to warm up)."""
    import httpx

    def settled() -> dict:
        deadline = time.monotonic() + 30
        while (health := httpx.get(f"{url}{HEALTH_PATH}").json())["streams"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return {**health, "rss_bytes": server_memory(health["pid"])}

    abandon_streams(url, task, payload, 20)
    before = settled()
    started = time.perf_counter()
    abandon_streams(url, task, payload, count)
    seconds = time.perf_counter() - started
    after = settled()
    return {"count": count, "seconds": round(seconds, 2), "open_streams_after": after["streams"],
            "asyncio_tasks": [before["asyncio_tasks"], after["asyncio_tasks"]],
            "rss_mib": [round(before["rss_bytes"] / 2**20, 1), round(after["rss_bytes"] / 2**20, 1)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=list(DEFAULT_RECOGNIZERS), default="classify")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=600, help="Stop sending after this long.")
    parser.add_argument("--disconnects", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="Server processes (RSS is read with 1 only).")
    parser.add_argument("--size", type=int, default=128, help="Width of the crops (height: 3/4 of it).")
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--weights", type=Path, default=None, help="Recognizer state dict (default: random).")
    parser.add_argument("--codec-weights", type=Path, default=None)
    parser.add_argument("--checkpoint", type=Path, default=None, help="Export the codec from this training checkpoint.")
    parser.add_argument("--out", type=Path, default=None, help="Default: results/serve/<task>.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = args.weights or random_weights(args.task, work / f"{args.task}-random.pth")
        codec = codec_weights(args, work)
        payloads = bodies(codec, args.size, args.iterations)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(args, weights, codec, port)
        try:
            asyncio.run(load(url, args.task, payloads[:4], 4, 1, 60))  # warm up
            result = asyncio.run(load(url, args.task, payloads, args.requests, args.clients, args.max_seconds))
            import httpx

            health = httpx.get(f"{url}{HEALTH_PATH}").json()
            result["mean_batch"] = round(health["images"] / max(health["batches"], 1), 2)
            if args.disconnects and args.workers == 1:
                result["disconnects"] = disconnects(url, args.task, payloads[0], args.disconnects)
        finally:
            stop_server(server)

    result.update(task=args.task, recognizer=DEFAULT_RECOGNIZERS[args.task], recognizer_weights=args.weights and
                  args.weights.name or "random", codec_weights=codec.name, clients=args.clients,
                  workers=args.workers, body_bytes_mean=round(statistics.fmean(map(len, payloads))),
                  image=f"{args.size}x{args.size * 3 // 4}", iterations=args.iterations, cpu_count=os.cpu_count(),
                  load_average_1min=round(os.getloadavg()[0], 2))
    out = args.out or ROOT / "results" / "serve" / f"{args.task}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    latency = result["latency_ms"]
    print(f"{result['requests']} requests from {args.clients} clients, {result['errors']} errors, "
          f"{result['wall_s']} s: {result['throughput_rps']} requests/s, latency p50 {latency['p50']} ms, "
          f"p95 {latency['p95']} ms, p99 {latency['p99']} ms; mean batch {result['mean_batch']} "
          f"(load average {result['load_average_1min']})")
    if "disconnects" in result:
        gone = result["disconnects"]
        print(f"{gone['count']} abandoned streams in {gone['seconds']} s: open streams after "
              f"{gone['open_streams_after']}, asyncio tasks {gone['asyncio_tasks'][0]} → {gone['asyncio_tasks'][1]}, "
              f"server RSS {gone['rss_mib'][0]} → {gone['rss_mib'][1]} MiB")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
