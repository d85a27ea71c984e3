"""The ``[media]`` section of the hub configuration, validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fedi.config import ConfigError, Settings

MB = 1024 * 1024


@dataclass(frozen=True)
class MediaSettings:
    backend: str = "local"            # local · s3
    path: str = "media"
    max_bytes: int = 16 * MB          # image_size_limit
    max_pixels: int = 33_177_600      # image_matrix_limit (7680 x 4320)
    description_limit: int = 1500
    max_attachments: int = 4
    remote_cache_mb: int = 512
    remote_cache_days: int = 14
    s3_endpoint: str | None = None
    s3_bucket: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_region: str = "us-east-1"


def _int(section: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"media.{key}", f"must be a whole number from {low} to {high}")
    return value


def _str(section: dict[str, Any], key: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str):
        raise ConfigError(f"media.{key}", "must be a string")
    return value


def media_settings(settings: Settings) -> MediaSettings:
    section = settings.extra.get("media", {}) or {}
    if not isinstance(section, dict):
        raise ConfigError("media", "must be a table")
    backend = _str(section, "backend", "local")
    if backend not in ("local", "s3"):
        raise ConfigError("media.backend", 'must be "local" or "s3"')
    path = Path(_str(section, "path", "media"))
    if not path.is_absolute():
        base = Path(settings.config_path).resolve().parent if settings.config_path else Path.cwd()
        path = base / path
    out = MediaSettings(
        backend=backend, path=str(path),
        max_bytes=_int(section, "max_mb", 16, 1, 200) * MB,
        max_pixels=_int(section, "max_pixels", 33_177_600, 10_000, 100_000_000),
        remote_cache_mb=_int(section, "remote_cache_mb", 512, 0, 1_000_000),
        remote_cache_days=_int(section, "remote_cache_days", 14, 1, 3650),
        s3_endpoint=_str(section, "endpoint", "") or None,
        s3_bucket=_str(section, "bucket", ""),
        s3_access_key=_str(section, "access_key", ""),
        s3_secret_key=_str(section, "secret_key", ""),
        s3_region=_str(section, "region", "us-east-1"),
    )
    if backend == "s3" and not out.s3_bucket:
        raise ConfigError("media.bucket", "is required with backend = \"s3\"")
    return out
