"""Where media files live, behind one small interface: a local folder (default) or an
S3-compatible bucket. Names are always ours (``<random key>/<variant>.<ext>``)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from fedi.media.settings import MediaSettings

NAME_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}/[a-z]{1,16}\.[a-z]{2,5}$")


class Storage(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> None: ...
    def get(self, name: str) -> bytes | None: ...
    def delete(self, name: str) -> None: ...


def checked(name: str) -> str:
    """Refuse any name that is not one we generate (no separators, no dots to climb)."""
    if not NAME_RE.match(name):
        raise ValueError(f"not a media file name: {name!r}")
    return name


class LocalStorage:
    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        return self.root / checked(name)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)

    def get(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


class S3Storage:
    """Any S3 API (AWS, MinIO, Garage, Ceph…). Objects are private; the hub serves them."""

    def __init__(self, settings: MediaSettings) -> None:
        import boto3  # optional dependency: only hubs configured for S3 need it

        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3", endpoint_url=settings.s3_endpoint, region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key or None,
            aws_secret_access_key=settings.s3_secret_key or None)

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=checked(name), Body=data,
                               ContentType=content_type)

    def get(self, name: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=checked(name))
        except self.client.exceptions.NoSuchKey:
            return None
        return bytes(answer["Body"].read())

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=checked(name))


def make_storage(settings: MediaSettings) -> Storage:
    if settings.backend == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.path)
