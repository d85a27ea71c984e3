"""« Télécharger mes données » and the CSV import, on SQLite and PostgreSQL: the archive is
built by the worker's job (not the request), opens as a zip whose outbox is an ActivityPub
OrderedCollection of the member's own posts (followers-only and direct too), its CSV files
are Mastodon's; one export a day; the link dies after 7 days and never serves another
member's session. Importing Mastodon's following/blocks CSV follows and blocks; a bad file
changes nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, update
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from apiworld import DOMAIN, FAR, LINKED, ApiWorld, ok
from test_site_privacy import browser, csrf

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import (
    Actor,
    Article,
    Block,
    DataExport,
    Follow,
    Interaction,
    OutboxActivity,
    OutgoingMail,
    User,
)
from fedi.services.data_export import ExportBuilder
from fedi.services.erasure import request_deletion
from fedi.services.membership import By


def ask(client: TestClient) -> Any:
    page = client.get("/settings/export")
    assert page.status_code == 200, page.text[:500]
    return client.post("/settings/export", data={"csrf_token": csrf(page)},
                       follow_redirects=False)


@pytest.fixture
def world(db_backend: str, new_database_url: Callable[[str, str], str],
          tmp_path: Path) -> Iterator[ApiWorld]:
    w = ApiWorld(new_database_url(db_backend, "data"), extra={
        "exports": {"path": str(tmp_path / "exports")}, "media": {"path": str(tmp_path / "m")}})
    yield w
    w.close()


def builder(world: ApiWorld) -> ExportBuilder:
    return ExportBuilder(world.sessions, world.settings)


def test_export__archive_holds_own_posts_and_mastodon_csv(world: ApiWorld) -> None:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    world.post(alice, "mon message public", "neighbourhood")
    world.post(alice, "réservé à mes abonnés", "followers")
    world.post(alice, f"@{bob.username} en privé", "direct")
    theirs = world.post(bob, "le message de bob", "neighbourhood")
    world.follow(alice, bob)
    world.follow(carol, alice)
    remi = world.remote("remi", LINKED)
    world.follow(alice.actor_id, remi)
    with world.session() as s:
        s.add(Block(id=new_id(), kind="block", actor_id=alice.actor_id,
                    target_id=carol.actor_id, uri=f"https://{DOMAIN}/b/{new_id()}"))
        for kind in ("like", "bookmark"):
            s.add(Interaction(id=new_id(), kind=kind, actor_id=alice.actor_id,
                              status_id=theirs))
        s.add(Article(id=new_id(), actor_id=alice.actor_id, title="Brouillon", source="# Idée",
                      summary="", visibility="followers"))
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(picture, "PNG")
    media = ok(world.client.post("/api/v2/media", headers=alice.headers,
                                 files={"file": ("photo.png", picture.getvalue(), "image/png")},
                                 data={"description": "la vitrine"}))
    ok(world.post_json(alice, "/api/v1/statuses", {
        "status": "ma vitrine", "visibility": "private", "media_ids": [media["id"]]}))
    client = browser(world, alice)
    asked = ask(client)
    assert asked.status_code == 303
    # Nothing is built inside the request: the worker's job does it.
    with world.session() as s:
        row = s.scalar(select(DataExport).where(DataExport.user_id == alice.user_id))
        assert row is not None and row.state == "pending"
    assert "En cours de préparation" in client.get("/settings/export").text
    assert builder(world).run_once() == 1
    with world.session() as s:
        mail = s.scalar(select(OutgoingMail).where(OutgoingMail.kind == "export_ready"))
        assert mail is not None and mail.recipient == alice.email
        token_link = re.search(r"https://hub\.test(/export/\S+)", mail.text).group(1)
        export_id = s.scalar(select(DataExport.id).where(DataExport.user_id == alice.user_id))
    own = client.get(f"/settings/export/{export_id}")
    assert own.status_code == 200 and own.headers["content-type"] == "application/zip"
    assert own.content == browser(world).get(token_link).content  # the mailed link, no session

    archive = zipfile.ZipFile(io.BytesIO(own.content))
    names = set(archive.namelist())
    assert {"outbox.json", "actor.json", "likes.json", "bookmarks.json", "articles.json",
            "events.json", "following_accounts.csv", "followers.csv",
            "blocked_accounts.csv"} <= names
    outbox = json.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection"
    assert "https://www.w3.org/ns/activitystreams" in json.dumps(outbox["@context"])
    assert outbox["totalItems"] == len(outbox["orderedItems"]) == 4
    # The picture is in the archive, where the post's attachment says (Mastodon's layout).
    [with_media] = [i["object"] for i in outbox["orderedItems"] if i["object"].get("attachment")]
    path = with_media["attachment"][0]["url"]
    assert path.startswith("/media_attachments/files/")
    assert with_media["attachment"][0]["name"] == "la vitrine"
    Image.open(io.BytesIO(archive.read(path.lstrip("/")))).verify()
    contents = " ".join(item["object"]["content"] for item in outbox["orderedItems"])
    assert "réservé à mes abonnés" in contents and "en privé" in contents
    assert "le message de bob" not in contents
    alice_uri = f"https://{DOMAIN}/users/{alice.username}"
    for item in outbox["orderedItems"]:
        assert item["type"] == "Create" and item["actor"] == alice_uri
        assert item["object"]["attributedTo"] == alice_uri
    actor = json.loads(archive.read("actor.json"))
    assert actor["type"] == "Person" and actor["id"] == alice_uri
    likes = json.loads(archive.read("likes.json"))
    assert likes["type"] == "OrderedCollection" and len(likes["orderedItems"]) == 1
    following = list(csv.reader(io.StringIO(archive.read("following_accounts.csv").decode())))
    assert following[0] == ["Account address", "Show boosts", "Notify on new posts",
                            "Languages"]
    assert {row[0] for row in following[1:]} == {f"{bob.username}@{DOMAIN}",
                                                 f"remi@{LINKED}"}
    assert archive.read("blocked_accounts.csv").decode().split() == [
        f"{carol.username}@{DOMAIN}"]
    followers = list(csv.reader(io.StringIO(archive.read("followers.csv").decode())))
    assert followers[1:] == [[f"{carol.username}@{DOMAIN}"]]
    assert [a["title"] for a in json.loads(archive.read("articles.json"))] == ["Brouillon"]

    # Another member: neither the session route nor a guessed id gives it.
    assert browser(world, bob).get(f"/settings/export/{export_id}").status_code == 404
    anonymous = browser(world).get(f"/settings/export/{export_id}")
    assert "zip" not in anonymous.headers["content-type"] and 'name="password"' in anonymous.text
    assert browser(world).get("/export/not-the-token").status_code == 404


def test_export__one_a_day_and_the_link_expires(world: ApiWorld) -> None:
    alice = world.member("alice")
    client = browser(world, alice)
    assert ask(client).status_code == 303
    again = ask(client)
    assert again.status_code == 429 and "déjà demandé une archive" in again.text
    with world.session() as s:
        assert len(list(s.scalars(select(DataExport)))) == 1
    english = client.get("/settings/export?lang=en")
    refused = client.post("/settings/export?lang=en", data={"csrf_token": csrf(english)})
    assert "already asked for an archive today" in refused.text
    build = builder(world)
    assert build.run_once() == 1
    with world.session() as s:
        row = s.scalar(select(DataExport))
        path = build.folder / row.file_name
        token_link = re.search(r"https://hub\.test(/export/\S+)", s.scalar(
            select(OutgoingMail.text).where(OutgoingMail.kind == "export_ready"))).group(1)
    assert path.exists() and browser(world).get(token_link).status_code == 200
    # Eight days later: the link and the page's download are gone, the file too.
    with world.session() as s:
        s.execute(update(DataExport).values(created_at=utcnow() - timedelta(days=8)))
    assert browser(world).get(token_link).status_code == 404
    assert client.get(f"/settings/export/{row.id}").status_code == 404
    build.run_once()
    assert not path.exists()
    with world.session() as s:
        assert s.scalar(select(DataExport.state)) == "expired"
    assert ask(client).status_code == 303  # a new day, a new archive


def test_export__a_deleted_account_leaves_no_archive(world: ApiWorld) -> None:
    """« Supprimer mon compte » ends the member's archives: the mailed link stops at once,
    the file goes at the export job's next pass, a pending archive is never built."""
    alice, bob = world.member("alice"), world.member("bob")
    assert ask(browser(world, alice)).status_code == 303
    build = builder(world)
    assert build.run_once() == 1
    assert ask(browser(world, bob)).status_code == 303  # bob's is still pending
    with world.session() as s:
        row = s.scalar(select(DataExport).where(DataExport.user_id == alice.user_id))
        path = build.folder / row.file_name
        token_link = re.search(r"https://hub\.test(/export/\S+)", s.scalar(
            select(OutgoingMail.text).where(OutgoingMail.kind == "export_ready"))).group(1)
    assert path.exists() and browser(world).get(token_link).status_code == 200
    with world.session() as s:
        for member in (alice, bob):
            user, actor = s.get(User, member.user_id), s.get(Actor, member.actor_id)
            request_deletion(s, world.ctx(), By("cli", "admin"), user, actor)
    assert browser(world).get(token_link).status_code == 404
    assert build.run_once() == 0  # bob's archive is not built
    assert not path.exists()
    with world.session() as s:
        assert set(s.scalars(select(DataExport.state))) == {"expired"}


def upload(client: TestClient, kind: str, data: bytes, lang: str = "fr") -> Any:
    page = client.get("/settings/import")
    assert page.status_code == 200
    return client.post(f"/settings/import?lang={lang}", data={"kind": kind,
                                                              "csrf_token": csrf(page)},
                       files={"file": ("following_accounts.csv", data, "text/csv")})


def test_import__mastodon_csv_follows_and_blocks(world: ApiWorld) -> None:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    remi = world.remote("remi", LINKED)
    world.remote("far", FAR)
    client = browser(world, alice)
    text = ("Account address,Show boosts,Notify on new posts,Languages\n"
            f"{bob.username}@{DOMAIN},true,true,\n"
            f"remi@{LINKED},true,false,fr\n"
            f"far@{FAR},true,false,\n")
    done = upload(client, "following", text.encode())
    assert done.status_code == 200, done.text[:500]
    assert "Demandes d'abonnement envoyées : 2" in done.text and f"far@{FAR}" in done.text
    with world.session() as s:
        follows = {f.followee_id: f for f in s.scalars(
            select(Follow).where(Follow.follower_id == alice.actor_id))}
        assert set(follows) == {bob.actor_id, remi}
        assert follows[bob.actor_id].notify is True
        # The remote follow goes out as a Follow activity (the follow service's).
        sent = s.scalar(select(OutboxActivity).where(OutboxActivity.actor_id == alice.actor_id,
                                                     OutboxActivity.type == "Follow"))
        assert sent is not None and sent.payload["object"] == f"https://{LINKED}/users/remi"
    blocks = upload(client, "blocks", f"{carol.username}@{DOMAIN}\n".encode(), "en")
    assert blocks.status_code == 200 and "Accounts blocked: 1" in blocks.text
    with world.session() as s:
        assert s.scalar(select(Block.target_id).where(Block.actor_id == alice.actor_id)) == (
            carol.actor_id)


@pytest.mark.parametrize(("data", "fr", "en"), [
    (b"Account address,Show boosts\nbob@hub.test,true\nnot an address,true\n",
     "Ligne 3", "is not an account address"),
    (b"\xff\xfe\x00garbage", "pas un fichier texte CSV", "not a CSV text file"),
    (b"", "vide", "empty"),
    (b"".join(f"u{i}@hub.test\n".encode() for i in range(1001)), "plus de 1000 comptes",
     "more than 1000 accounts"),
    (b"Account address,Show boosts,Notify on new posts\nbob@hub.test,true,maybe\n",
     "true ou false", "true or false"),
])
def test_import__a_bad_file_changes_nothing(world: ApiWorld, data: bytes, fr: str,
                                            en: str) -> None:
    alice = world.member("alice")
    world.member("bob")
    client = browser(world, alice)
    refused = upload(client, "following", data)
    assert refused.status_code == 422 and fr in refused.text, refused.text[-2000:]
    assert en in upload(client, "following", data, "en").text
    with world.session() as s:
        assert s.scalar(select(Follow).where(Follow.follower_id == alice.actor_id)) is None
