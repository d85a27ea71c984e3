"""Media through the client API, in process: uploads checked by their bytes, metadata
stripped, bombs refused before decoding, attachments, avatars, and who may fetch a file."""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import ApiWorld, Member, ok
from PIL import Image
from sqlalchemy import select

from fedi.models import MediaAttachment, OutboxActivity

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int | None = None) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 22.0, 10.0)}
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(side: int = 30_000) -> bytes:
    """A PNG header claiming side x side pixels, a few kB of zeros behind it."""
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 200_000, 9)) + _chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          module_database_url: str) -> Iterator[ApiWorld]:
    """On SQLite and on PostgreSQL (module_database_url)."""
    path: Path = tmp_path_factory.mktemp("media")
    w = ApiWorld(module_database_url,
                 extra={"media": {"path": str(path / "files"), "max_mb": 2}})
    yield w
    w.close()


def upload(world: ApiWorld, who: Member, data: bytes, name: str = "photo.jpg",
           mime: str = "image/jpeg", **fields: str) -> object:
    return world.client.post("/api/v2/media", headers=who.headers,
                             files={"file": (name, data, mime)}, data=fields)


def fetch(world: ApiWorld, url: str, who: Member | None = None) -> object:
    path = url.split(world.settings.domain, 1)[1]
    return world.client.get(path, headers=who.headers if who else {})


def test_jpeg_with_gps_comes_back_without_metadata(world: ApiWorld) -> None:
    alice = world.member("alice")
    media = ok(upload(world, alice, jpeg_with_gps(), description="Vitrine", focus="0.5,-0.25"))
    assert media["type"] == "image" and media["description"] == "Vitrine"
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert media["meta"]["original"]["width"] == 64 and media["meta"]["small"]["height"] == 48
    assert media["blurhash"] and len(media["blurhash"]) == 28
    for url in (media["url"], media["preview_url"]):
        answer = fetch(world, url, alice)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-disposition"].startswith("inline; filename=")
        assert "private" in answer.headers["cache-control"]
        exif = Image.open(io.BytesIO(answer.content)).getexif()
        assert GPS_IFD not in exif and len(exif) == 0
    # The key in the URL is ours: 32 random bytes, nothing of the upload's name.
    assert "photo" not in media["url"] and len(media["url"].split("/")[-2]) == 43


def test_orientation_is_applied(world: ApiWorld) -> None:
    alice = world.member("alice")
    media = ok(upload(world, alice, jpeg_with_gps((64, 48), orientation=6)))
    assert (media["meta"]["original"]["width"], media["meta"]["original"]["height"]) == (48, 64)


def test_pixel_bomb_is_refused_before_decoding(world: ApiWorld) -> None:
    alice = world.member("alice")
    bomb = png_bomb()
    assert len(bomb) < 5_000
    started = time.monotonic()
    answer = upload(world, alice, bomb, name="bomb.png", mime="image/png")
    assert answer.status_code == 422, answer.text
    assert "pixels" in answer.json()["error"]
    assert time.monotonic() - started < 2.0


def test_html_named_png_is_refused(world: ApiWorld) -> None:
    alice = world.member("alice")
    page = b"<!doctype html><html><script>alert(1)</script></html>"
    answer = upload(world, alice, page, name="cat.png", mime="image/png")
    assert answer.status_code == 422 and "content type" in answer.json()["error"]
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert upload(world, alice, svg, name="x.svg", mime="image/svg+xml").status_code == 422


def test_size_cap_answers_413(world: ApiWorld) -> None:
    alice = world.member("alice")
    answer = upload(world, alice, b"\xff\xd8\xff" + b"\0" * (3 * 1024 * 1024), name="big.jpg")
    assert answer.status_code == 413


def test_show_update_delete(world: ApiWorld) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    media = ok(upload(world, alice, png(), name="a.png", mime="image/png"))
    path = f"/api/v1/media/{media['id']}"
    assert ok(world.get(alice, path))["id"] == media["id"]
    assert world.get(bob, path).status_code == 404
    changed = ok(world.client.put(path, headers=alice.headers,
                                  data={"description": "Le comptoir", "focus": "-1,1"}))
    assert changed["description"] == "Le comptoir" and changed["meta"]["focus"] == {"x": -1.0,
                                                                                    "y": 1.0}
    too_long = world.client.put(path, headers=alice.headers, data={"description": "x" * 1501})
    assert too_long.status_code == 422
    assert world.client.put(path, headers=alice.headers,
                            data={"focus": "2,0"}).status_code == 422
    assert world.client.delete(path, headers=bob.headers).status_code == 404
    assert ok(world.client.delete(path, headers=alice.headers))["id"] == media["id"]
    assert world.get(alice, path).status_code == 404
    assert fetch(world, media["url"], alice).status_code == 404


def test_attachments_on_statuses_and_audience(world: ApiWorld) -> None:
    alice, follower, stranger = world.member("alice"), world.member("f"), world.member("s")
    world.follow(follower, alice)
    ids = [ok(upload(world, alice, png(color=(i * 40, 0, 0)), name="p.png",
                     mime="image/png"))["id"] for i in range(5)]
    too_many = world.post_form(alice, "/api/v1/statuses",
                               {"status": "x", "visibility": "private", "media_ids[]": ids})
    assert too_many.status_code == 422
    others = ok(upload(world, stranger, png(), name="s.png", mime="image/png"))["id"]
    assert world.post_form(alice, "/api/v1/statuses", {
        "status": "x", "media_ids[]": [others]}).status_code == 422
    status = ok(world.post_form(alice, "/api/v1/statuses", {
        "status": "Ma vitrine", "visibility": "private", "media_ids[]": ids[:2]}))
    assert [m["id"] for m in status["media_attachments"]] == ids[:2]
    url = status["media_attachments"][0]["url"]
    assert fetch(world, url, alice).status_code == 200
    assert fetch(world, url, follower).status_code == 200
    assert fetch(world, url, stranger).status_code == 404
    assert fetch(world, url).status_code == 200  # no credential: the URL is the capability
    # Attached media cannot be deleted nor reused on another status.
    assert world.client.delete(f"/api/v1/media/{ids[0]}",
                               headers=alice.headers).status_code == 422
    assert world.post_form(alice, "/api/v1/statuses", {
        "status": "again", "media_ids[]": [ids[0]]}).status_code == 422
    # The Create carries Documents.
    with world.session() as s:
        creates = s.scalars(select(OutboxActivity.payload).where(
            OutboxActivity.type == "Create")).all()
    doc = next(c["object"] for c in creates if c["object"]["id"] == status["uri"])
    assert [a["type"] for a in doc["attachment"]] == ["Document", "Document"]
    assert doc["attachment"][0]["mediaType"] == "image/png"
    assert doc["attachment"][0]["width"] == 40 and doc["attachment"][0]["blurhash"]
    # An edit changes the attachments; the dropped one is the owner's again.
    edited = ok(world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                                 data={"status": "Ma vitrine", "media_ids[]": [ids[1]]}))
    assert [m["id"] for m in edited["media_attachments"]] == [ids[1]]
    assert ok(world.client.delete(f"/api/v1/media/{ids[0]}", headers=alice.headers))
    # A deleted status takes its media with it for everyone.
    ok(world.client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers))
    assert fetch(world, edited["media_attachments"][0]["url"], alice).status_code == 404
    assert fetch(world, edited["media_attachments"][0]["url"]).status_code == 404
    # ...and the upload is the owner's again for a redraft, under a new URL.
    redraft = ok(world.post_form(alice, "/api/v1/statuses", {
        "status": "Ma vitrine", "visibility": "private", "media_ids[]": [ids[1]]}))
    new_url = redraft["media_attachments"][0]["url"]
    assert new_url != edited["media_attachments"][0]["url"]
    assert fetch(world, new_url, follower).status_code == 200
    assert fetch(world, new_url, stranger).status_code == 404
    with world.session() as s:
        assert s.get(MediaAttachment, int(ids[1])).status_id == int(redraft["id"])


def test_media_only_post(world: ApiWorld) -> None:
    alice = world.member("alice")
    media_id = ok(upload(world, alice, png(), name="p.png", mime="image/png"))["id"]
    status = ok(world.post_json(alice, "/api/v1/statuses", {"status": "",
                                                            "media_ids": [media_id]}))
    assert status["media_attachments"][0]["id"] == media_id


def test_avatar_and_header(world: ApiWorld) -> None:
    alice = world.member("alice")
    before = ok(world.get(alice, "/api/v1/accounts/verify_credentials"))
    assert before["avatar"].endswith("/media/default/avatar.png")
    default = fetch(world, before["avatar"])
    assert default.status_code == 200 and default.headers["content-type"] == "image/png"
    me = ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                               files={"avatar": ("me.jpg", jpeg_with_gps((300, 300)),
                                                 "image/jpeg"),
                                      "header": ("h.png", png((600, 200)), "image/png")},
                               data={"display_name": "Alice"}))
    assert me["display_name"] == "Alice" and "/media/default/" not in me["avatar"]
    assert me["avatar"] == me["avatar_static"] and me["header"].endswith(".png")
    answer = fetch(world, me["avatar"], world.member("other"))
    assert answer.status_code == 200
    assert GPS_IFD not in Image.open(io.BytesIO(answer.content)).getexif()
    with world.session() as s:
        updates = s.scalars(select(OutboxActivity.payload).where(
            OutboxActivity.type == "Update")).all()
    person = [u["object"] for u in updates if u["object"].get("type") == "Person"][-1]
    assert person["icon"]["url"] == me["avatar"] and person["image"]["url"] == me["header"]
    bad = world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                             files={"avatar": ("x.png", b"<html></html>", "image/png")})
    assert bad.status_code == 422


def test_instance_announces_media_limits(world: ApiWorld) -> None:
    v2 = ok(world.get(None, "/api/v2/instance"))["configuration"]
    media = v2["media_attachments"]
    assert media["supported_mime_types"] == ["image/jpeg", "image/png", "image/webp",
                                             "image/gif"]
    assert media["image_size_limit"] == 2 * 1024 * 1024 and media["image_matrix_limit"] > 0
    assert v2["statuses"]["max_media_attachments"] == 4
    v1 = ok(world.get(None, "/api/v1/instance"))["configuration"]
    assert v1["media_attachments"]["image_size_limit"] == 2 * 1024 * 1024


def test_webp_and_gif_are_accepted(world: ApiWorld) -> None:
    alice = world.member("alice")
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, "WEBP")
    webp = ok(upload(world, alice, out.getvalue(), name="x.jpg", mime="image/jpeg"))
    assert webp["url"].endswith(".webp")
    assert fetch(world, webp["url"], alice).headers["content-type"] == "image/webp"
    out = io.BytesIO()
    frames = [Image.new("P", (20, 20), i) for i in range(3)]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    gif = ok(upload(world, alice, out.getvalue(), name="a.gif", mime="image/gif"))
    assert gif["url"].endswith(".png")  # kept as its first frame


def test_remote_cache_keeps_within_budget_and_age(world: ApiWorld, tmp_path: Path) -> None:
    from datetime import timedelta

    from fedi.db import utcnow
    from fedi.media.images import process
    from fedi.media.storage import LocalStorage
    from fedi.models import MediaAttachment, Status
    from fedi.services.media import (
        evict_remote,
        mark_fetched,
        record_remote_attachments,
        store_files,
    )

    storage = LocalStorage(str(tmp_path))
    remote = world.remote("photographe")
    sid = world.remote_status(remote, "photos", "followers")
    image = process(png((200, 200)), max_bytes=10**6, max_pixels=10**6)
    with world.session() as s:
        rows = record_remote_attachments(s, s.get(Status, sid), [
            {"type": "Document", "mediaType": "image/png", "url": f"https://x.test/{i}.png",
             "name": "vue", "focalPoint": [0.1, 5]} for i in range(3)] + [
            {"type": "Document", "mediaType": "text/html", "url": "https://x.test/a.html"},
            {"type": "Document", "url": "javascript:alert(1)"}])
        assert len(rows) == 3 and rows[0].focus_x == 0.1 and rows[0].focus_y == 0.0
        for age, media in zip((0, 1, 30), rows, strict=True):
            store_files(storage, media.key, image)
            mark_fetched(media, image)
            media.fetched_at = utcnow() - timedelta(days=age, minutes=age)
        keys = [m.key for m in rows]
        size = rows[0].stored_bytes
    with world.session() as s:
        # The 30-day-old one goes by age, the older of the other two by the budget.
        assert evict_remote(s, storage, budget_bytes=size + 1, max_age_days=14) == 2
        left = {m.key: m.fetched_at is not None for m in s.scalars(
            select(MediaAttachment).where(MediaAttachment.key.in_(keys)))}
    assert left == {keys[0]: True, keys[1]: False, keys[2]: False}
    assert storage.get(f"{keys[0]}/original.png") is not None
    assert storage.get(f"{keys[2]}/original.png") is None


def test_storage_refuses_names_not_ours(tmp_path: Path) -> None:
    from fedi.media.storage import LocalStorage

    storage = LocalStorage(str(tmp_path))
    for name in ("../../etc/passwd", "a/b.png", "x" * 43 + "/../original.png"):
        with pytest.raises(ValueError):
            storage.put(name, b"x", "image/png")


def test_remote_edit_replaces_attachments(world: ApiWorld) -> None:
    from fedi.models import MediaAttachment, Status
    from fedi.services.media import record_remote_attachments, replace_remote_attachments

    remote = world.remote("peintre")
    sid = world.remote_status(remote, "toiles", "followers")
    doc = {"type": "Document", "mediaType": "image/png", "url": "https://x.test/1.png"}
    with world.session() as s:
        first = record_remote_attachments(s, s.get(Status, sid), [doc])[0].id
    with world.session() as s:
        replace_remote_attachments(s, s.get(Status, sid), [
            {**doc, "url": "https://x.test/2.png", "name": "nouvelle"}])
    with world.session() as s:
        rows = s.scalars(select(MediaAttachment).where(MediaAttachment.status_id == sid)).all()
        assert [m.remote_url for m in rows] == ["https://x.test/2.png"]
        assert s.get(MediaAttachment, first).status_id is None


def test_a_suspended_members_photos_are_no_longer_served(world: ApiWorld) -> None:
    """Suspension hides a member's posts; their photos too, even to a caller holding the
    URL (the capability), and they come back with the member."""
    from fedi.db import utcnow
    from fedi.models import Actor, User

    sam, follower = world.member("sam"), world.member("f")
    world.follow(follower, sam)
    media_id = ok(upload(world, sam, png(), name="p.png", mime="image/png"))["id"]
    status = ok(world.post_form(sam, "/api/v1/statuses", {
        "status": "Ma vitrine", "visibility": "private", "media_ids[]": [media_id]}))
    url = status["media_attachments"][0]["url"]
    assert fetch(world, url).status_code == fetch(world, url, follower).status_code == 200
    with world.session() as s:
        s.get(Actor, sam.actor_id).suspended_at = utcnow()
        s.scalar(select(User).where(User.id == sam.user_id)).disabled = True
    assert fetch(world, url, follower).status_code == 404
    assert fetch(world, url).status_code == 404
    with world.session() as s:
        s.get(Actor, sam.actor_id).suspended_at = None
        s.scalar(select(User).where(User.id == sam.user_id)).disabled = False
    assert fetch(world, url).status_code == 200


def test_a_request_run_again_reads_the_whole_file_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the API runs a request once more when the database was locked
    (fedi.api.auth); the second run must read the upload whole, not from where the first
    run stopped (it once answered 422 "not a supported image" on a busy machine)."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from fedi.api import media as media_api

    world = ApiWorld(f"sqlite:///{tmp_path / 'hub.db'}",
                     extra={"media": {"path": str(tmp_path / "files")}})
    try:
        alice = world.member("alice")
        real = media_api.processed
        seen: list[int] = []

        async def locked_the_first_time(call: object, data: bytes, key: str) -> object:
            seen.append(len(data))
            if len(seen) == 1:
                raise OperationalError("UPDATE actors", {},
                                       sqlite3.OperationalError("database is locked"))
            return await real(call, data, key)  # type: ignore[arg-type]

        monkeypatch.setattr(media_api, "processed", locked_the_first_time)
        photo = jpeg_with_gps((300, 300))
        me = ok(world.client.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                                   files={"avatar": ("me.jpg", photo, "image/jpeg")}))
        assert seen == [len(photo), len(photo)]
        assert "/media/default/" not in me["avatar"]
    finally:
        world.close()
