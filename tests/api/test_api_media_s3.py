"""Media in S3-compatible storage: a real S3 API server (moto, in server mode on
loopback); the upload lands in the bucket and is served with the same rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import ApiWorld, ok
from test_api_media import fetch, jpeg_with_gps, upload

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

BUCKET = "voisins-media"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from support.hubs import free_port

    port = free_port("127.0.0.1")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, s3_endpoint: str) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("media_s3")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}", extra={"media": {
        "backend": "s3", "endpoint": s3_endpoint, "bucket": BUCKET, "access_key": "test",
        "secret_key": "test", "path": str(path / "unused")}})
    yield w
    w.close()


def test_upload_lands_in_bucket_and_is_served_with_the_same_rules(
        world: ApiWorld, s3_endpoint: str) -> None:
    alice, follower, stranger = world.member("alice"), world.member("f"), world.member("s")
    world.follow(follower, alice)
    media = ok(upload(world, alice, jpeg_with_gps()))
    key = media["url"].split("/")[-2]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    names = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {f"{key}/original.jpg", f"{key}/small.jpg"} <= names
    stored = client.get_object(Bucket=BUCKET, Key=f"{key}/original.jpg")
    assert stored["ContentType"] == "image/jpeg"
    assert not (Path(world.settings.extra["media"]["path"])).exists()
    status = ok(world.post_form(alice, "/api/v1/statuses", {
        "status": "Atelier", "visibility": "private", "media_ids[]": [media["id"]]}))
    url = status["media_attachments"][0]["url"]
    assert fetch(world, url, follower).status_code == 200
    answer = fetch(world, url, stranger)
    assert answer.status_code == 404
    served = fetch(world, url, alice)
    assert served.content == stored["Body"].read()
    assert served.headers["x-content-type-options"] == "nosniff"
    ok(world.client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers))
    assert fetch(world, url).status_code == 404
