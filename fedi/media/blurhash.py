"""BlurHash encoding (the public algorithm by Wolt): a short string apps draw as a
blurred placeholder until the image arrives."""

from __future__ import annotations

import math

from PIL import Image

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _base83(value: int, length: int) -> str:
    return "".join(DIGITS[(value // 83 ** (length - i - 1)) % 83] for i in range(length))


def _to_linear(value: int) -> float:
    v = value / 255
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    out = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
    return int(out * 255 + 0.5)


def _sign_pow(value: float, exp: float) -> float:
    return math.copysign(abs(value) ** exp, value)


def encode(image: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    """The BlurHash of a small RGB image (callers shrink it first: the cost is per pixel)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    raw = rgb.tobytes()
    table = [_to_linear(v) for v in range(256)]
    pixels = [(table[raw[i]], table[raw[i + 1]], table[raw[i + 2]])
              for i in range(0, len(raw), 3)]
    factors: list[tuple[float, float, float]] = []
    for j in range(y_components):
        for i in range(x_components):
            norm = 1.0 if i == 0 and j == 0 else 2.0
            r = g = b = 0.0
            for y in range(height):
                cy = math.cos(math.pi * j * y / height)
                row = y * width
                for x in range(width):
                    basis = cy * math.cos(math.pi * i * x / width)
                    pr, pg, pb = pixels[row + x]
                    r += basis * pr
                    g += basis * pg
                    b += basis * pb
            scale = norm / (width * height)
            factors.append((r * scale, g * scale, b * scale))
    dc, ac = factors[0], factors[1:]
    out = _base83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        actual_max = max(abs(v) for f in ac for v in f)
        quantised = max(0, min(82, int(actual_max * 166 - 0.5)))
        max_value = (quantised + 1) / 166
        out += _base83(quantised, 1)
    else:
        max_value = 1.0
        out += _base83(0, 1)
    out += _base83((_to_srgb(dc[0]) << 16) + (_to_srgb(dc[1]) << 8) + _to_srgb(dc[2]), 4)
    for f in ac:
        q = [max(0, min(18, math.floor(_sign_pow(v / max_value, 0.5) * 9 + 9.5)))
             for v in f]
        out += _base83(q[0] * 19 * 19 + q[1] * 19 + q[2], 2)
    return out
