"""The default avatar and header: plain PNGs drawn once, served by every hub."""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageDraw

BACKGROUND = (233, 228, 216)
FIGURE = (170, 160, 140)


@functools.cache
def default_avatar() -> bytes:
    image = Image.new("RGB", (400, 400), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.ellipse((130, 70, 270, 210), fill=FIGURE)          # head
    draw.ellipse((60, 230, 340, 520), fill=FIGURE)          # shoulders
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


@functools.cache
def default_header() -> bytes:
    image = Image.new("RGB", (1500, 500), BACKGROUND)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
