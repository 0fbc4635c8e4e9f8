"""Hostile input, bounded: crafted files (time, peak memory) and a server under attack, loopback only.

    python benchmarks/hostile.py                      # everything, about 5 minutes on 2 cores
    python benchmarks/hostile.py --skip-server        # only the crafted files
    python benchmarks/hostile.py --skip-big-png       # without the 169-megapixel encode

**Crafted files** (built here, never stored), each read in a fresh process whose peak resident
memory (``VmHWM``) and wall time are recorded, with a time limit: the decoding bombs of issue 17 —
a header declaring 65535×4096 pixels and 64 iterations of empty context payloads, the same with
255 bits per block and one iteration, a photo's header edited to 16-pixel tiles — and a bomb the
limits admit (1024², 8 empty iterations: all-zero codes) decoded beside a real file of the same
declared size; then a 13000×13000 PNG (169 megapixels) encoded at one iteration.  The codec is a
random ``tiny`` network (``--codec-weights`` for another): the figures are the container's and the
tiling's, not a trained network's speed.

**Server** (``rnc serve`` in its own process on 127.0.0.1, a random ResNet-50, ``--timeout`` 5 s,
``--header-timeout`` 3 s): the p95 latency of ordinary requests (128×96 photos, 2 iterations) from
``--clients`` clients, idle and while 4 clients send 2048²×16-iteration bombs without pause; then
200 streams that get their first answer and reset the connection (server RSS before and after);
2,000 connections that trickle their headers (when the server closes each); a PNG bomb (status).

Printed as a table and written to ``results/hostile/files.json`` and ``results/hostile/server.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import free_port, load, random_weights, server_memory, start_server, stop_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "hostile"

#: What a child process does with a crafted file: ``codes`` decodes the payloads only, ``decode``
#: runs the codec, ``encode`` encodes an image at one iteration (zstd).  The clock starts once the
#: modules and weights are loaded; ``work_mib`` is the peak resident memory above the memory then.
CHILD = """
import json, sys, time
mode, path, weights = sys.argv[1:4]


def memory(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key)) / 1024


if mode == "codes":
    from rnncodec.formats import read
else:
    from rnncodec.codec import codec_for, decode
    weights = None if weights == "default" else weights  # the shipped default network
    codec = codec_for(weights=weights)  # loaded before the clock starts, as in a server
baseline = memory("VmRSS:")
start = time.perf_counter()
try:
    if mode == "codes":
        codes = read(path).codes()
        outcome = f"{len(codes)} iterations of {codes[0].shape if codes else ()} decoded"
    elif mode == "decode":
        image = decode(path, weights=weights)
        outcome = f"decoded {image.width}x{image.height}"
    else:
        data = codec.encode(path, 1)  # coder "auto": every coder tried, the smallest kept
        outcome = f"encoded: {len(data):,} bytes"
except Exception as exc:
    outcome = f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
seconds = time.perf_counter() - start
peak = memory("VmHWM:")
print(json.dumps({"outcome": outcome, "seconds": round(seconds, 3), "peak_mib": round(peak, 1),
                  "work_mib": round(peak - baseline, 1)}))
"""


def child(mode: str, path: Path, weights: Path | str, limit_s: float) -> dict:
    """Run :data:`CHILD` on ``path``; killed after ``limit_s`` seconds.  Its resident memory is
    sampled every second (``rss_mib``: [seconds, MiB] pairs), so a killed run still shows its trend."""
    process = subprocess.Popen([sys.executable, "-c", CHILD, mode, str(path), str(weights)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    start, samples = time.monotonic(), []
    while process.poll() is None and time.monotonic() - start < limit_s:
        try:
            samples.append([round(time.monotonic() - start), round(server_memory(process.pid) / 2**20, 1)])
        except (OSError, RuntimeError):
            pass
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
    trend = {"rss_mib": samples[::max(1, len(samples) // 30)]}  # at most ~30 points
    if process.poll() is None:
        process.kill()
        process.communicate()
        peak = max((mib for _, mib in samples), default=None)
        return {"outcome": f"killed after {limit_s:g} s", "seconds": limit_s, "peak_mib": peak, "work_mib": None,
                **trend}
    out, err = process.communicate()
    if process.returncode:
        return {"outcome": f"exit {process.returncode}: {err.strip().splitlines()[-1][:160]}",
                "seconds": None, "peak_mib": None, "work_mib": None, **trend}
    return {**json.loads(out), **trend}


def tiny_weights(path: Path) -> Path:
    import torch

    from rnncodec.configs import get_config
    from rnncodec.model import RecurrentCodec
    from rnncodec.weights import save_weights

    torch.manual_seed(0)
    return save_weights(RecurrentCodec(get_config("tiny")), path)


def bomb(weights: Path, *, width: int, height: int, iterations: int, bits: int = 32, tile: int = 1024,
         present: int | None = None, payload: bytes = b"") -> bytes:
    """A file of context iterations for ``weights`` carrying ``payload`` (empty: all-zero codes)."""
    from rnncodec.formats import Header
    from rnncodec.formats.crafted import crafted_iterations
    from rnncodec.weights import load_weights

    loaded = load_weights(weights)
    header = Header(width=width, height=height, mode="RGB", iterations=iterations, bits_per_block=bits,
                    tile_size=tile, coder="context", weights_id=loaded.weights_id, architecture=loaded.architecture)
    return crafted_iterations(header, payload, present)


#: A one-word context payload whose rANS state (256) is below every weight of a 0 the flat
#: symbols have: every declared bit decodes as 0, the state never reaches 0, and the decoder can
#: refuse the payload only after its last symbol.
STUCK_PAYLOAD = (256).to_bytes(4, "little")


def tiled_codes_file(codec, side: int) -> bytes:
    """A valid context-coded 1-iteration ``side × side`` file whose code is a real photo's code
    (1024², ``codec``) tiled: the entropy decoder's work for a real file of that declared size."""
    import numpy as np

    from rnncodec.formats import write_bytes
    from rnncodec.imageio import load_image

    source = load_image(photo(1024, 1024))
    code = next(iter(codec.iter_codes(source.rgb, 1)))
    reps = side // 1024
    big = type(source)(np.zeros((side, side, 3), np.uint8), "RGB")
    return write_bytes(codec.header_for(big, 1, "context"), [np.tile(code, (1, reps, reps))])


def photo(width: int, height: int) -> bytes:
    """The astronaut example resized to ``width × height``, as PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(ROOT / "examples" / "astronaut.png").convert("RGB").resize((width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """An 8×8 PNG whose IHDR declares ``width × height`` (CRC fixed)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def big_png(path: Path, side: int) -> None:
    """A ``side × side`` PNG that compresses well (flat bands with a little texture)."""
    import numpy as np
    from PIL import Image

    row = (np.arange(side, dtype=np.uint32) * 255 // side).astype(np.uint8)
    pixels = np.broadcast_to(np.stack([row, row[::-1], np.full(side, 128, np.uint8)], axis=1), (side, side, 3))
    Image.fromarray(np.ascontiguousarray(pixels)).save(path, compress_level=1)


def crafted_files(weights: Path, work: Path, bombs: bool, big_png_weights: str | None) -> list[dict]:
    """The decoding bombs (with ``weights``) and the 169 MP PNG encoded with ``big_png_weights``."""
    from rnncodec.codec import Codec

    rows = []

    def run(name: str, data_or_path, mode: str, limit_s: float = 120, network: Path | str = weights) -> dict:
        path = data_or_path if isinstance(data_or_path, Path) else work / f"{name}.rnc"
        if not isinstance(data_or_path, Path):
            path.write_bytes(data_or_path)
        row = {"file": name, "bytes": path.stat().st_size, "mode": mode, "network": Path(network).name,
               **child(mode, path, network, limit_s)}
        rows.append(row)
        figures = [row[key] if row[key] is not None else "-" for key in ("seconds", "peak_mib", "work_mib")]
        print(f"{name:30s} {row['bytes']:>9,} B {mode:6s} {figures[0]:>8} s {figures[1]:>7} MiB peak "
              f"{figures[2]:>7} MiB work  {row['outcome']}", flush=True)
        return row

    if bombs:
        run("65535x4096-64it-context-empty", bomb(weights, width=65535, height=4096, iterations=64), "decode")
        run("65535x4096-64it-context-empty", bomb(weights, width=65535, height=4096, iterations=64), "codes")
        run("65535x4096-1it-bpb255-empty", bomb(weights, width=65535, height=4096, iterations=1, bits=255), "codes")
        run("65535x4096-1it-bpb255-empty", bomb(weights, width=65535, height=4096, iterations=1, bits=255), "decode")
        codec = Codec(weights, tile_size=1024)
        real = codec.encode(photo(1024, 1024), 8, coder="context")
        from rnncodec.formats import read_header

        edited = bytearray(real)
        header = read_header(bytes(real)).replace(tile_size=16)
        from rnncodec.formats import spec
        from rnncodec.formats.chunks import pack_chunk

        old = read_header(bytes(real)).to_bytes()
        start = len(spec.SIGNATURE)
        edited[start:start + 12 + len(old)] = pack_chunk(spec.CHUNK_HEADER, header.to_bytes())
        run("1024x1024-8it-photo-tile16", bytes(edited), "decode")
        real_row = run("1024x1024-8it-photo (real)", real, "decode")
        bomb_row = run("1024x1024-8it-context-empty", bomb(weights, width=1024, height=1024, iterations=8), "decode")
        if real_row["seconds"] and bomb_row["seconds"]:
            bomb_row["time_vs_real"] = round(bomb_row["seconds"] / real_row["seconds"], 2)
        real_row = run("8192x8192-1it-codes (real, tiled)", tiled_codes_file(codec, 8192), "codes")
        stuck_row = run("8192x8192-1it-context-stuck-word", bomb(weights, width=8192, height=8192, iterations=1,
                                                                 payload=STUCK_PAYLOAD), "codes")
        if real_row["seconds"] and stuck_row["seconds"]:
            stuck_row["time_vs_real"] = round(stuck_row["seconds"] / real_row["seconds"], 2)
    if big_png_weights:
        png = work / "13000x13000.png"
        big_png(png, 13000)
        run("13000x13000.png (169 MP)", png, "encode", limit_s=900, network=big_png_weights)
    return rows


# -- the server ---------------------------------------------------------------------------------------------


async def bomb_clients(url: str, body: bytes, clients: int, stop: asyncio.Event) -> dict:
    """``clients`` clients each sending ``body`` again as soon as answered, until ``stop``."""
    import httpx

    statuses: dict[str, int] = {}

    async def one(http: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                status = str((await http.post("/v1/classify", content=body)).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            statuses[status] = statuses.get(status, 0) + 1
            if status == "503":
                await asyncio.sleep(1)  # as Retry-After says

    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        await asyncio.gather(*(one(http) for _ in range(clients)))
    return statuses


async def under_bombs(url: str, normal: list[bytes], bomb_body: bytes, requests: int, clients: int) -> dict:
    stop = asyncio.Event()
    bombs = asyncio.create_task(bomb_clients(url, bomb_body, 4, stop))
    await asyncio.sleep(1)  # the bombs are in
    result = await load(url, "classify", normal, requests, clients, 120)
    stop.set()
    result["bomb_answers"] = await bombs
    return result


def reset_streams(url: str, payload: bytes, count: int) -> dict:
    """RSS of the server before and after ``count`` streams that get their first answer and reset."""
    import logging

    import httpx
    from websockets.sync.client import connect

    from rnncodec.edge.client import split_iterations

    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    head, chunks = split_iterations(payload)
    stream = url.replace("http", "ws", 1) + "/v1/classify/stream?stop_at_confidence=1.01"

    def settled() -> dict:
        deadline = time.monotonic() + 60
        while (health := httpx.get(f"{url}/v1/health").json())["streams"] and time.monotonic() < deadline:
            time.sleep(0.05)
        return {**health, "rss_mib": round(server_memory(health["pid"]) / 2**20, 1)}

    def run(n: int) -> int:
        answered = 0
        for _ in range(n):
            with connect(stream) as websocket:
                websocket.send(head)
                websocket.recv(timeout=30)
                websocket.send(chunks[0])
                answered += json.loads(websocket.recv(timeout=60))["type"] == "step"
                websocket.socket.shutdown(socket.SHUT_RDWR)  # gone without a close frame
        return answered

    run(10)
    before = settled()
    started = time.perf_counter()
    answered = run(count)
    seconds = time.perf_counter() - started
    after = settled()
    return {"count": count, "answered": answered, "seconds": round(seconds, 1),
            "rss_mib": [before["rss_mib"], after["rss_mib"]],
            "rss_growth_mib": round(after["rss_mib"] - before["rss_mib"], 1), "open_streams_after": after["streams"],
            "pixels_decoding_after": after["pixels_decoding"]}


def trickle(port: int, count: int, timeout_s: float) -> dict:
    """``count`` connections that send a request head a byte a second: when the server closes each."""
    selector = selectors.DefaultSelector()
    opened = time.monotonic()
    sockets, opened_at = [], {}
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        opened_at[sock.fileno()] = time.monotonic()
        sock.setblocking(False)
        sock.send(b"GET /v1/health HTTP/1.1\r\n")
        selector.register(sock, selectors.EVENT_READ)
        sockets.append(sock)
    opened_s = time.monotonic() - opened
    closed: dict[int, float] = {}  # seconds from each connection's opening to its closing by the server
    next_byte = time.monotonic() + 1
    deadline = time.monotonic() + timeout_s + opened_s + 10
    while len(closed) < count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.1):
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:
                closed[key.fileobj.fileno()] = time.monotonic() - opened_at[key.fileobj.fileno()]
                selector.unregister(key.fileobj)
        if time.monotonic() >= next_byte:
            next_byte += 1
            for sock in sockets:
                if sock.fileno() not in closed:
                    try:
                        sock.send(b"X")
                    except OSError:
                        pass
    for sock in sockets:
        sock.close()
    times = sorted(closed.values())
    return {"connections": count, "header_timeout_s": timeout_s, "opened_in_s": round(opened_s, 2),
            "closed": len(closed), "closed_after_s": {"min": round(times[0], 3) if times else None,
                                                       "max": round(times[-1], 3) if times else None}}


def attack(weights: Path, work: Path, args: argparse.Namespace) -> dict:
    import httpx

    from rnncodec.codec import Codec

    resnet = random_weights("classify", work / "resnet50-random.pth")
    codec = Codec(weights)
    normal = [codec.encode(photo(128, 96), 2), codec.encode(photo(96, 128), 2)]
    bomb_body = bomb(weights, width=2048, height=2048, iterations=16)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = argparse.Namespace(task="classify", workers=1)
    server = start_server(options, resnet, weights, port,
                          ("--timeout", "5", "--header-timeout", str(args.header_timeout), "--threads", "1"))
    try:
        asyncio.run(load(url, "classify", normal, 6, 1, 60))  # warm up
        idle = asyncio.run(load(url, "classify", normal, args.requests, args.clients, 120))
        print(f"idle: p95 {idle['latency_ms']['p95']} ms, {idle['errors']} errors", flush=True)
        bombed = asyncio.run(under_bombs(url, normal, bomb_body, args.requests, args.clients))
        print(f"4 bombs: p95 {bombed['latency_ms']['p95']} ms, {bombed['errors']} errors, bombs answered "
              f"{bombed['bomb_answers']}", flush=True)
        streams = reset_streams(url, codec.encode(photo(512, 384), 2), args.streams)
        print(f"{streams['count']} reset streams: RSS {streams['rss_mib'][0]} → {streams['rss_mib'][1]} MiB", flush=True)
        slow = trickle(port, args.trickle, args.header_timeout)
        print(f"{slow['connections']} trickling connections: {slow['closed']} closed after "
              f"{slow['closed_after_s']['min']}–{slow['closed_after_s']['max']} s", flush=True)
        png = httpx.post(f"{url}/v1/classify", content=png_declaring(30000, 30000), timeout=30)
        health = httpx.get(f"{url}/v1/health").json()
    finally:
        stop_server(server)
    return {"idle": idle, "under_4_bombs": bombed,
            "p95_ratio": round(bombed["latency_ms"]["p95"] / idle["latency_ms"]["p95"], 2),
            "reset_streams": streams, "trickling_headers": slow,
            "png_bomb": {"status": png.status_code, "body": png.json()}, "health_after": health,
            "bomb_bytes": len(bomb_body), "normal_bytes": [len(body) for body in normal]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec-weights", type=Path, default=None, help="Default: a random tiny network.")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--skip-files", action="store_true", help="Neither the bombs nor the big PNG.")
    parser.add_argument("--skip-bombs", action="store_true")
    parser.add_argument("--skip-big-png", action="store_true")
    parser.add_argument("--big-png-weights", default="default",
                        help="Network that encodes the 169 MP PNG: 'default' (the shipped default), a weights file "
                             "or 'tiny' (the random tiny network of the bombs).")
    parser.add_argument("--requests", type=int, default=60, help="Ordinary requests per phase.")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--trickle", type=int, default=2000)
    parser.add_argument("--header-timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"cpu_count": os.cpu_count(), "load_average_1min": None}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        weights = args.codec_weights or tiny_weights(work / "tiny-random.pt")
        if not args.skip_files:
            big = None if args.skip_big_png else weights if args.big_png_weights == "tiny" else args.big_png_weights
            rows = crafted_files(weights, work, not args.skip_bombs, big)
            meta["load_average_1min"] = round(os.getloadavg()[0], 2)
            # rows of a partial run replace their namesakes in an earlier run's results
            kept = json.loads((OUT / "files.json").read_text())["files"] if (OUT / "files.json").exists() else []
            key = lambda row: (row["file"], row["mode"], row.get("network"))  # noqa: E731
            rows = [row for row in kept if key(row) not in {key(new) for new in rows}] + rows
            (OUT / "files.json").write_text(json.dumps({"files": rows, **meta}, indent=2) + "\n")
            print(f"wrote {(OUT / 'files.json').relative_to(ROOT)}")
        if not args.skip_server:
            result = attack(weights, work, args)
            result.update(cpu_count=os.cpu_count(), load_average_1min=round(os.getloadavg()[0], 2))
            (OUT / "server.json").write_text(json.dumps(result, indent=2) + "\n")
            print(f"p95 idle {result['idle']['latency_ms']['p95']} ms, under 4 bombs "
                  f"{result['under_4_bombs']['latency_ms']['p95']} ms (×{result['p95_ratio']}); PNG bomb "
                  f"{result['png_bomb']['status']}")
            print(f"wrote {(OUT / 'server.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
