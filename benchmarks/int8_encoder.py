"""An int8 encoder for weak clients (issue 13, optional): speed and quality against the float32 one.

The default weights' ONNX encoder step is quantised with ONNX Runtime's static quantisation (QDQ,
int8 weights per channel, uint8 activations, MinMax calibration on the encoder's inputs over 4
iterations of 16 random 128×128 crops of ``bsds500/train`` — never Kodak); the files it writes
carry the same weights_id and are decoded by the normal float32 decoder.

    python benchmarks/int8_encoder.py                          # both variants, 24 Kodak images
    python benchmarks/int8_encoder.py --variants conv --limit 6

Variants: ``all`` quantises every operator ONNX Runtime can (the GRU's gates too), ``conv`` only
the convolutions.  Speed: ``rnc encode``'s work (``Codec.encode`` at 2 iterations, so one float32
decoder step too) on kodim01 (768×512), ONNX Runtime with 1 and 2 threads, median of
``--repeats``, the encoders taking turns, as a ratio to the float32 encoder in the same run — wall
and CPU seconds (on a shared machine the CPU time is the steadier figure).
Quality: on the first ``--limit`` Kodak images, 4 iterations coded by each encoder; PSNR-RGB and
MS-SSIM after 1, 2 and 4 iterations of the float32 decoder, and the share of code bits that differ
from the float32 encoder's.  Writes ``results/int8_encoder/<weights>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnncodec.codec import Codec, _pad
from rnncodec.data import find_images
from rnncodec.imageio import load_image
from rnncodec.weights import RNCWeights, onnx_paths

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
COUNTS = (1, 2, 4)
VARIANTS = {"all": None, "conv": ["Conv"]}


def calibration_feeds(codec: Codec, images: int = 16, crop: int = 128, iterations: int = 4) -> list[dict]:
    """The float32 encoder's inputs at each of ``iterations`` on random crops of BSDS500 train."""
    backend, rng, feeds = codec.backend, np.random.default_rng(0), []
    paths = find_images([DATA / "bsds500" / "train"])
    names = [i.name for i in backend._encoder.get_inputs()]
    for index in rng.choice(len(paths), images, replace=False):
        rgb = load_image(paths[index]).rgb
        top, left = rng.integers(0, rgb.shape[0] - crop), rng.integers(0, rgb.shape[1] - crop)
        x = _pad(rgb[top:top + crop, left:left + crop])
        reconstruction = np.zeros_like(x)
        enc_states, dec_states = backend.initial_states(crop, crop)
        for t in range(iterations):
            if t:
                reconstruction, dec_states = backend.decoder_step(signs, reconstruction, dec_states)
            feed = {"x": x, "reconstruction": reconstruction, **{f"state_{i}": s for i, s in enumerate(enc_states)}}
            feeds.append({name: feed[name] for name in names})
            signs, enc_states = backend.encoder_step(x, reconstruction, enc_states)
    return feeds


def quantise(source: Path, target: Path, feeds: list[dict], op_types) -> Path:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(source), str(target), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, op_types_to_quantize=op_types)
    return target


def codec_with_encoder(graph: Path | None, threads: int | None = None) -> Codec:
    """An onnx codec of the default weights whose encoder step is ``graph`` (``None``: float32).
    The backend has no option for another encoder graph (none is shipped), so its session is swapped."""
    import onnxruntime

    from rnncodec.backends import set_threads

    set_threads(threads)
    codec = Codec(backend="onnx")
    if graph is not None:
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        if threads:
            options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        codec.backend._encoder = session
        codec.backend._inputs[session] = [i.name for i in session.get_inputs()]
    return codec


def speed(graphs: dict[str, Path | None], image, repeats: int) -> dict:
    result = {}
    for threads in (1, 2):
        codecs = {name: codec_with_encoder(graph, threads) for name, graph in graphs.items()}
        for codec in codecs.values():
            codec.encode(image, 2)  # warm-up
        times: dict[str, list[float]] = {name: [] for name in codecs}
        cpu: dict[str, list[float]] = {name: [] for name in codecs}
        for _ in range(repeats):
            for name, codec in codecs.items():
                started, started_cpu = time.perf_counter(), time.process_time()
                codec.encode(image, 2)
                times[name].append(time.perf_counter() - started)
                cpu[name].append(time.process_time() - started_cpu)
        medians = {name: statistics.median(values) for name, values in times.items()}
        cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
        result[threads] = {"seconds": medians, "ratio": {name: medians[name] / medians["fp32"] for name in medians},
                           "cpu_seconds": cpu_medians,
                           "cpu_ratio": {name: cpu_medians[name] / cpu_medians["fp32"] for name in cpu_medians}}
        print(f"{threads} thread(s): " + ", ".join(
            f"{name} {s:.3f} s wall ({result[threads]['ratio'][name]:.3f}×), {cpu_medians[name]:.3f} s CPU "
            f"({result[threads]['cpu_ratio'][name]:.3f}×)" for name, s in medians.items()), flush=True)
    return result


def quality(graphs: dict[str, Path | None], limit: int) -> dict:
    import torch

    from rnncodec.metrics import ms_ssim

    codecs = {name: codec_with_encoder(graph) for name, graph in graphs.items()}
    decoder = codecs["fp32"]
    rows = []
    for path in find_images([DATA / "kodak"])[:limit]:
        source = load_image(path)
        header = decoder.header_for(source, max(COUNTS), "raw")
        reference = torch.from_numpy(source.rgb).permute(2, 0, 1)[None].double() / 255
        codes = {name: list(codec.iter_codes(source.rgb, max(COUNTS))) for name, codec in codecs.items()}
        row: dict = {"image": path.name}
        for name in codecs:
            progressive = decoder.progressive_decoder(header)
            for k, bits in enumerate(codes[name], 1):
                image = progressive.add(bits)
                if k in COUNTS:
                    pixels = torch.from_numpy(np.asarray(image)).permute(2, 0, 1)[None].double() / 255
                    mse = float(torch.mean((pixels - reference) ** 2))
                    row[f"{name}/psnr/{k}"] = 10 * math.log10(1 / mse)
                    row[f"{name}/ms_ssim/{k}"] = ms_ssim(pixels, reference)
                    row[f"{name}/bits_differ/{k}"] = float(np.mean(np.stack(codes[name][:k]) != np.stack(codes["fp32"][:k])))
        rows.append(row)
        print(path.name + ": " + ", ".join(f"{name} Δ{row[f'{name}/psnr/4'] - row['fp32/psnr/4']:+.3f} dB at 4 it"
                                          for name in codecs if name != "fp32"), flush=True)
    means = {key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key != "image"}
    return {"images": len(rows), "mean": means, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--limit", type=int, default=24, help="Kodak images for quality (0: none)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="int8-encoder-"))
    fp32_graph = onnx_paths(RNCWeights.DEFAULT.value.path)["encoder"]
    feeds = calibration_feeds(codec_with_encoder(None))
    graphs: dict[str, Path | None] = {"fp32": None}
    for variant in args.variants:
        graphs[variant] = quantise(fp32_graph, work / f"encoder-int8-{variant}.onnx", feeds, VARIANTS[variant])
    sizes = {name: (graph or fp32_graph).stat().st_size for name, graph in graphs.items()}
    result = {"weights": RNCWeights.DEFAULT.name, "calibration": "16 random 128×128 crops of bsds500/train, 4 iterations",
              "graph_bytes": sizes, "speed": speed(graphs, load_image(find_images([DATA / "kodak"])[0]).rgb, args.repeats)}
    if args.limit:
        result["quality"] = quality(graphs, args.limit)
    out = ROOT / "results" / "int8_encoder" / f"{RNCWeights.DEFAULT.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    if args.limit:
        means = result["quality"]["mean"]
        print(f"\n{result['quality']['images']} Kodak images, float32 decoder; Δ against the float32 encoder's files:")
        print("| encoder | iterations | PSNR dB (Δ) | MS-SSIM (Δ) | code bits differing |")
        print("|---|---|---|---|---|")
        for name in graphs:
            for k in COUNTS:
                psnr, ssim = means[f"{name}/psnr/{k}"], means[f"{name}/ms_ssim/{k}"]
                print(f"| {name} | {k} | {psnr:.3f} ({psnr - means[f'fp32/psnr/{k}']:+.3f}) | {ssim:.4f} "
                      f"({ssim - means[f'fp32/ms_ssim/{k}']:+.4f}) | {100 * means[f'{name}/bits_differ/{k}']:.2f} % |")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
