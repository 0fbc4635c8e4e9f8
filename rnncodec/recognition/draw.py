"""Drawing detections: labelled boxes on a copy of the image."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import to_rgb

if TYPE_CHECKING:
    from PIL import Image

    from .results import Detections

__all__ = ["draw_detections"]

_COLOURS = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45",
            "#fabed4", "#469990", "#dcbeff", "#9a6324", "#800000", "#aaffc3", "#808000", "#000075")


def draw_detections(image: "Image.Image", detections: "Detections") -> "Image.Image":
    """An RGB copy of ``image`` with each object's box and ``label score`` drawn on it.

    A class keeps one colour (by class index); the label sits above the box, or inside it at the
    top of the image.
    """
    from PIL import ImageDraw, ImageFont

    canvas = to_rgb(image).copy()
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    width = max(1, round(min(canvas.size) / 250))
    for detection in detections.objects:
        colour = _COLOURS[detection.index % len(_COLOURS)]
        x0, y0, x1, y1 = detection.box
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        text = f"{detection.label} {detection.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        text_y = y0 - (bottom - top) - 2 if y0 - (bottom - top) - 2 >= 0 else y0
        draw.rectangle((x0, text_y, x0 + right - left + 4, text_y + bottom - top + 2), fill=colour)
        draw.text((x0 + 2, text_y - top + 1), text, fill="white", font=font)
    return canvas
