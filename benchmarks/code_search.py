"""How far are the encoder's first-iteration codes from the best codes for its own decoder?

The encoder computes a photo's first 32 bits a block in one pass; the decoder would render any other code
as faithfully.  This searches the code itself, photo by photo, with the decoder frozen: the encoder's
outputs ``y`` start a search over ``a = atanh(y)``, the code is ``sign(a)`` (gradient straight through
``tanh``), and Adam lowers the training loss of ``rnc train`` at one iteration — the distortion
(``msssim-psnr``, weight 0.35) plus ``--distill-weight`` λ times the distillation term with the torch copy
of the reference classifier at ``--scale`` — for ``--steps`` steps, keeping the code with the lowest loss.
Both codes are then measured as a file would carry them: bytes of coder 2's payload, PSNR, and the
benchmark's own instruments on the 8-bit decode (``benchmarks/recognition.py``): the TFLite classifier at
its preprocessing (the probability kept for its top-1 on the original, top-1 agreement) and the detector
(its boxes scoring ≥ 0.3 on the original as the truth; F1 of the decode's boxes, same class, IoU ≥ 0.5).
It also counts which bits the search changed, by the encoder's confidence ``|y|`` in them.

λ = 0 measures what a better encoder could give the eyes at the same decoder; λ > 0 what the first
iteration's bits could give the classifier — and the detector, which is in no loss here, says whether
that is more of the photo or only more of what that one network reads.  A diagnostic for training,
not an encoder mode: the search runs the decoder and the classifier dozens of times per photo.

    python benchmarks/code_search.py --codec-weights GRU_S_V4 --codec-weights GRU_S_MACHINE_V2 --distill-weight 0,2

Photos: the first ``--photos`` of ``--data`` (default ``bsds500/val``, no benchmark's photos), cut to a
multiple of 16.  Writes ``results/code_search/<weights>.json``; prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from rnncodec.data import find_images, load_rgb
from rnncodec.formats import get_coder
from rnncodec.metrics import psnr
from rnncodec.model import RecurrentCodec, binarize
from rnncodec.recognition.scoring import bootstrap_interval, match_detections
from rnncodec.recognition.tflite_torch import load_tflite_classifier
from rnncodec.train import recognition_loss, recognizer_pixels, training_loss
from rnncodec.train_options import TrainOptions
from rnncodec.weights import load_weights

sys.path.insert(0, str(Path(__file__).resolve().parent))
import recognition as instruments  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RECOGNIZERS = ROOT.parent / "shared" / "recognizers"
LOSS = TrainOptions(data=[], out="code-search.pt", loss="msssim-psnr", msssim_weight=0.35)  # its loss only


def first_iteration(model: RecurrentCodec, x: torch.Tensor) -> torch.Tensor:
    """The encoder's outputs ``y ∈ (−1, 1)`` at the first iteration (the code is their sign)."""
    encoder_states, _ = model.initial_states()
    return model.encoder(model.encoder_inputs(x, torch.zeros_like(x)), encoder_states)[0]


def decode(model: RecurrentCodec, bits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return model.decode_step(bits, torch.zeros_like(x), model.initial_states()[1])[0]


def search(model, classifier, x: torch.Tensor, distill_weight: float, scale: float, steps: int, lr: float):
    """(the encoder's code, the searched code), each ``(1, bits, H/16, W/16)`` in {−1, +1}."""
    with torch.no_grad():
        teacher = classifier(recognizer_pixels(x, scale), return_features=True)
        y = first_iteration(model, x)

    def loss_of(bits):
        reconstruction = decode(model, bits, x)
        loss = training_loss(LOSS, [reconstruction], x)
        if distill_weight:
            loss = loss + distill_weight * recognition_loss(classifier, [reconstruction], teacher, [1.0], scale)
        return loss

    encoder_code = binarize(y)
    with torch.no_grad():
        best_loss, best = loss_of(encoder_code).item(), encoder_code
    a = torch.atanh(y.clamp(-0.97, 0.97)).requires_grad_(True)
    optimizer = torch.optim.Adam([a], lr=lr)
    for _ in range(steps):
        bits = binarize(torch.tanh(a), "sign")  # the sign of a, the gradient straight through tanh
        loss = loss_of(bits)
        if loss.item() < best_loss:
            best_loss, best = loss.item(), bits.detach().sign()  # exactly ±1 (y + (b − y) may round)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return encoder_code, best


def measure(model, x: torch.Tensor, code: torch.Tensor, original: dict) -> dict:
    """What a file with this first-iteration code gives: bytes, PSNR, the instruments' view."""
    with torch.no_grad():
        reconstruction = decode(model, code, x).clamp(-0.5, 0.5)
    rgb = ((reconstruction[0] + 0.5) * 255).round().byte().permute(1, 2, 0).numpy()
    probabilities = instruments.class_probabilities(rgb)
    boxes = instruments.box_counts(match_detections(instruments.detect(rgb), original["boxes"]))
    return {
        "bytes": len(get_coder("context").encode((code[0] > 0).numpy().astype(np.uint8), [])),
        "psnr": psnr(reconstruction + 0.5, x + 0.5),
        "kept": float(probabilities[original["answer"]]),
        "agree": int(np.argmax(probabilities) == original["answer"]),
        "boxes": [int(n) for n in boxes],  # (matched, found, truth), boxes scoring >= AGREE_DETECTION_SCORE
    }


CONFIDENCE_EDGES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)  # bins of the encoder's |y|


def changes_by_confidence(y: torch.Tensor, encoder_code: torch.Tensor, searched: torch.Tensor) -> list[list[int]]:
    """Per bin of the encoder's confidence ``|y|`` (:data:`CONFIDENCE_EDGES`, each bin holding its lower edge): how
    many bits it holds and how many of them the search changed, ``[[bits, changed], …]``."""
    bins = torch.bucketize(y.abs().flatten(), torch.tensor(CONFIDENCE_EDGES[1:-1]), right=True)
    changed = (searched != encoder_code).flatten()
    total = torch.bincount(bins, minlength=len(CONFIDENCE_EDGES) - 1)
    flipped = torch.bincount(bins[changed], minlength=len(CONFIDENCE_EDGES) - 1)
    return [[int(n), int(c)] for n, c in zip(total, flipped)]


def _paired_interval(photos: list[dict], statistic) -> list[float]:
    """95 % bootstrap interval of the searched code's gain in ``statistic``, the photos resampled."""
    def gain(sample: list[dict]) -> float:
        return statistic(sample, "searched") - statistic(sample, "encoder")

    return list(bootstrap_interval(photos, gain, resamples=2000))


def _mean_of(key: str):
    return lambda photos, side: float(np.mean([p[side][key] for p in photos]))


def _box_f1_of(photos: list[dict], side: str) -> float:
    """F1 of all the photos' boxes together (``benchmarks/recognition.py --tasks agree-detect``'s box F1)."""
    return instruments.f1_of(np.sum([p[side]["boxes"] for p in photos], axis=0))


def summary(photos: list[dict]) -> dict:
    """Means over the photos for each code, box F1 over all their boxes together, and the searched code's gains
    with paired 95 % intervals."""
    out = {side: {"bytes": _mean_of("bytes")(photos, side), "psnr": _mean_of("psnr")(photos, side),
                  "kept": _mean_of("kept")(photos, side), "agree": _mean_of("agree")(photos, side),
                  "box_f1": _box_f1_of(photos, side)} for side in ("encoder", "searched")}
    for name, statistic in (("kept", _mean_of("kept")), ("agree", _mean_of("agree")), ("box_f1", _box_f1_of)):
        out[f"{name}_gain"] = {"mean": statistic(photos, "searched") - statistic(photos, "encoder"),
                               "ci95": _paired_interval(photos, statistic)}
    out["bits_changed"] = float(np.mean([p["bits_changed"] for p in photos]))
    bits, changed = np.sum([p["by_confidence"] for p in photos], axis=0).T
    out["by_confidence"] = [{"confidence": [low, high], "share_of_bits": float(n / bits.sum()),
                             "changed": float(c / n) if n else 0.0}
                            for low, high, n, c in zip(CONFIDENCE_EDGES, CONFIDENCE_EDGES[1:], bits, changed)]
    return out


def _gain(gain: dict) -> str:
    low, high = gain["ci95"]
    return f"{100 * gain['mean']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def table(results: dict) -> str:
    lines = ["| weights | λ | bytes: encoder → searched | PSNR dB | kept % | top-1 agreement % | box F1 % "
             "| gains [paired 95 % CI]: kept, agreement, box F1 | bits changed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for weights, runs in results.items():
        for distill_weight, s in runs.items():
            e, f = s["encoder"], s["searched"]
            lines.append(
                f"| {weights} | {distill_weight} | {e['bytes']:,.0f} → {f['bytes']:,.0f} "
                f"| {e['psnr']:.2f} → {f['psnr']:.2f} "
                f"| {100 * e['kept']:.1f} → {100 * f['kept']:.1f} | {100 * e['agree']:.0f} → {100 * f['agree']:.0f} "
                f"| {100 * e['box_f1']:.1f} → {100 * f['box_f1']:.1f} "
                f"| {_gain(s['kept_gain'])}, {_gain(s['agree_gain'])}, {_gain(s['box_f1_gain'])} "
                f"| {100 * s['bits_changed']:.1f} % |")
    bins = [f"{low:g}–{high:g}" for low, high in zip(CONFIDENCE_EDGES, CONFIDENCE_EDGES[1:])]
    lines += ["", "Bits the search changed, by the encoder's confidence |y| (share of all bits: changed):",
              "| weights | λ | " + " | ".join(bins) + " |", "|---|---|" + "---|" * len(bins)]
    for weights, runs in results.items():
        for distill_weight, s in runs.items():
            lines.append(f"| {weights} | {distill_weight} | " + " | ".join(
                f"{100 * b['share_of_bits']:.1f} %: {100 * b['changed']:.1f} %" for b in s["by_confidence"]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codec-weights", action="append", help="registry name or file (repeatable)")
    parser.add_argument("--distill-weight", default="0,2", help="λ values, comma-separated (default 0,2)")
    parser.add_argument("--data", type=Path, default=DATA / "bsds500" / "val")
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--scale", type=float, default=0.8,
                        help="the classifier's scale in the loss (bsds500 photos' short side 320 → 256: 0.8)")
    parser.add_argument("--recognizers", type=Path, default=RECOGNIZERS)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "code_search")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    instruments._STATE["options"] = {"recognizers": str(args.recognizers)}
    classifier = load_tflite_classifier(args.recognizers / instruments.CLASSIFIER).eval().requires_grad_(False)
    distill_weights = [float(v) for v in args.distill_weight.split(",")]
    photos = []
    for path in find_images([args.data])[: args.photos]:
        rgb = load_rgb(path)
        h, w = rgb.shape[0] // 16 * 16, rgb.shape[1] // 16 * 16
        rgb = np.ascontiguousarray(rgb[:h, :w])
        photos.append((path.name, torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255 - 0.5,
                       {"answer": int(np.argmax(instruments.class_probabilities(rgb))),
                        "boxes": [(cls, box) for cls, score, box in instruments.detect(rgb)
                                  if score >= instruments.AGREE_DETECTION_SCORE]}))
    weights_list = args.codec_weights or ["GRU_S_MACHINE_V2"]
    record_names = instruments.record_names(weights_list)
    results, started = {}, time.time()
    for weights in weights_list:
        model = load_weights(weights).model  # eval mode, no gradients for its parameters
        results[weights] = {}
        for distill_weight in distill_weights:
            rows = []
            for name, x, original in photos:
                encoder_code, searched = search(model, classifier, x, distill_weight, args.scale, args.steps, args.lr)
                with torch.no_grad():
                    y = first_iteration(model, x)
                rows.append({"photo": name, "encoder": measure(model, x, encoder_code, original),
                             "searched": measure(model, x, searched, original),
                             "bits_changed": float((searched != encoder_code).float().mean()),
                             "by_confidence": changes_by_confidence(y, encoder_code, searched)})
                print(f"{weights} λ={distill_weight} {name}: PSNR {rows[-1]['encoder']['psnr']:.2f} → "
                      f"{rows[-1]['searched']['psnr']:.2f}, kept {rows[-1]['encoder']['kept']:.3f} → "
                      f"{rows[-1]['searched']['kept']:.3f}", file=sys.stderr, flush=True)
            results[weights][distill_weight] = {**summary(rows), "photos": rows}
        args.out.mkdir(parents=True, exist_ok=True)
        record = {"weights": weights, "data": str(args.data), "steps": args.steps, "lr": args.lr, "scale": args.scale,
                  "runs": {str(k): v for k, v in results[weights].items()}}
        (args.out / f"{record_names[weights]}.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"First iteration, {len(photos)} photos of {args.data}, {args.steps} search steps:")
    print(table({w: {k: {key: v for key, v in s.items() if key != "photos"} for k, s in r.items()}
                 for w, r in results.items()}))
    print(f"{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
