"""Uploaded images: the type read from the bytes, a pixel cap before decoding, metadata
stripped, orientation applied, a resized copy and a small preview, blurhash and ``meta``."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

from fedi.media.blurhash import encode as blurhash_encode

MAX_SIDE = 1920
SMALL_SIDE = 400
# What apps are told (instance.configuration.media_attachments) and what we accept.
SUPPORTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
# Stored format per detected type: a GIF is kept as its first frame (PNG).
STORED = {"image/jpeg": ("JPEG", "image/jpeg", "jpg"), "image/png": ("PNG", "image/png", "png"),
          "image/webp": ("WEBP", "image/webp", "webp"), "image/gif": ("PNG", "image/png", "png")}
PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}


class MediaError(Exception):
    """The upload is refused; ``status`` is the HTTP answer (413 too large, 422 otherwise)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ProcessedImage:
    original: bytes
    small: bytes
    content_type: str
    extension: str
    blurhash: str
    meta: dict[str, Any] = field(default_factory=dict)


def sniff(data: bytes) -> str | None:
    """The image type of these bytes by their signature, or None; never from a name."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check(data: bytes, *, max_bytes: int, max_pixels: int) -> tuple[str, int, int]:
    """(type, width, height) after the cheap checks: size, signature, header dimensions.

    Nothing is decoded here: Image.open reads the header only, so a 30,000 x 30,000 PNG of a
    few kB is refused before a single pixel is allocated."""
    if len(data) > max_bytes:
        raise MediaError(f"File is larger than {max_bytes} bytes", 413)
    kind = sniff(data)
    if kind is None:
        raise MediaError("Validation failed: File content type is not a supported image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[PIL_FORMAT[kind]])
            width, height = image.size
            image.close()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError("Validation failed: Image has too many pixels") from None
    except Exception:  # noqa: BLE001 - any parse error of untrusted bytes is the same refusal
        raise MediaError("Validation failed: File is not a readable image") from None
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise MediaError("Validation failed: Image has too many pixels")
    return kind, width, height


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()  # no exif= / pnginfo= given: no metadata is written


def _normalise(image: Image.Image, fmt: str) -> Image.Image:
    if fmt == "JPEG":
        return image.convert("RGB")
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image.convert("RGBA" if "transparency" in image.info or "A" in image.mode
                             else "RGB")
    return image


def _fit(image: Image.Image, side: int) -> Image.Image:
    if max(image.size) <= side:
        return image.copy()
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _dims(image: Image.Image, data: bytes) -> dict[str, Any]:
    w, h = image.size
    return {"width": w, "height": h, "size": f"{w}x{h}", "aspect": round(w / h, 6),
            "bytes": len(data)}


def process(data: bytes, *, max_bytes: int, max_pixels: int) -> ProcessedImage:
    """Checked, decoded once, re-encoded without metadata: the stored copies."""
    kind, _w, _h = check(data, max_bytes=max_bytes, max_pixels=max_pixels)
    fmt, content_type, ext = STORED[kind]
    try:
        with Image.open(io.BytesIO(data), formats=[PIL_FORMAT[kind]]) as source:
            source.seek(0)
            source.load()
            upright = ImageOps.exif_transpose(source) or source
            image = _normalise(upright, fmt)
    except MediaError:
        raise
    except Exception:  # noqa: BLE001 - a truncated or corrupt image body
        raise MediaError("Validation failed: File is not a readable image") from None
    original = _fit(image, MAX_SIDE)
    small = _fit(image, SMALL_SIDE)
    original_bytes, small_bytes = _encode(original, fmt), _encode(small, fmt)
    hash_source = small.convert("RGB")
    hash_source.thumbnail((32, 32))
    return ProcessedImage(
        original=original_bytes, small=small_bytes, content_type=content_type, extension=ext,
        blurhash=blurhash_encode(hash_source),
        meta={"original": _dims(original, original_bytes), "small": _dims(small, small_bytes)})
