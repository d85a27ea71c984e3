"""The directory: French-aware matching, this hub first, only listed members of linked hubs,
and the members-only page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete as sa_delete
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from fedi.app import create_app
from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction, utcnow
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Actor, DirectoryListing, Neighbour
from fedi.services.accounts import create_user
from fedi.services.directory import DirectoryQuery, search, stem, words

LINKED = frozenset({"douze.test"})


@pytest.mark.parametrize(("text", "expected"), [
    ("Électriciens", ["electricien"]),
    ("Plombier·ère", ["plombier", "ere"]),
    ("journaux  CHEVAUX", ["journal", "cheval"]),
    ("<p>Cœur de <b>Bœuf</b> &amp; pâtés</p>", ["coeur", "de", "boeuf", "pate"]),
    ("75011 bus taxis", ["75011", "bus", "taxi"]),  # 3 letters: kept as is
])
def test_words__accents_case_plurals_html(text: str, expected: list[str]) -> None:
    assert words(text) == expected
    assert stem("gaz") == "gaz" and stem("as") == "as"


@pytest.fixture
def db(tmp_path: Path, database_url: str) -> Iterator[tuple[Settings, sessionmaker[Session]]]:
    """On SQLite and PostgreSQL (``database_url`` follows ``db_backend``)."""
    text = render_config(domain="onze.test", name="Onze", scheme="https", territory=["75011"],
                         database_url=database_url)
    (tmp_path / "voisins.toml").write_text(
        text.replace("port = 8000", "port = 8000\nrun_workers = false"), encoding="utf-8")
    settings = load_settings(str(tmp_path / "voisins.toml"), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as s:
        for name, trade, business, discoverable in (
                ("zoe", "plombier", "Zoé Plomberie", True),
                ("adele", "electricien", "Adèle Électricité", False),
                ("yves", "boulanger", "Aux pains d'Yves", True)):
            user = create_user(s, settings, name, email=f"{name}@onze.test", password="long-pw-123")
            actor = s.get(Actor, user.actor_id)
            actor.trade, actor.business_name, actor.postal_code = trade, business, "75011"
            actor.discoverable = discoverable
            actor.display_name = name.title()
        for name, domain, trade, listed in (
                ("bruno", "douze.test", "plombier", True),
                ("anna", "douze.test", "plombier", True),
                ("hidden", "douze.test", "plombier", False),
                ("ursule", "un.test", "plombier", True)):
            actor = Actor(id=new_id(), uri=f"https://{domain}/users/{name}", username=name,
                          domain=domain, local=False, type="Person", display_name=name.title(),
                          trade=trade, postal_code="75012" if domain == "douze.test" else "75001",
                          summary="<p>Dépannages rapides, chauffe-eau</p>", fields=[])
            s.add(actor)
            s.flush()
            if listed:
                s.add(DirectoryListing(actor_id=actor.id, domain=domain))
        s.add(Neighbour(id=new_id(), domain="douze.test", state="linked", source="admin",
                        territory=["75012"]))
    yield settings, sessions
    engine.dispose()


def names(found: list) -> list[str]:  # type: ignore[type-arg]
    return [item.actor.username for item in found]


def test_search__this_hub_first_then_linked_hubs_never_others(db) -> None:  # type: ignore[no-untyped-def]
    _settings, sessions = db
    with sessions() as s:
        assert names(search(s, LINKED, DirectoryQuery(trade="plombier"))) == ["zoe", "anna", "bruno"]
        assert names(search(s, LINKED, DirectoryQuery(trade="Plombier·ère", local_only=True))) == ["zoe"]
        assert names(search(s, LINKED, DirectoryQuery(text="plombiers"))) == ["zoe", "anna", "bruno"]
        assert names(search(s, LINKED, DirectoryQuery(text="chauffe eau"))) == ["anna", "bruno"]
        assert names(search(s, LINKED, DirectoryQuery(text="electricite adele"))) == ["adele"]
        assert names(search(s, LINKED, DirectoryQuery(text="pain"))) == ["yves"]
        assert names(search(s, LINKED, DirectoryQuery(postal_code="75012"))) == ["anna", "bruno"]
        assert names(search(s, frozenset(), DirectoryQuery(trade="plombier"))) == ["zoe"]
        everyone = names(search(s, LINKED, DirectoryQuery()))
        assert "ursule" not in everyone and "hidden" not in everyone
        assert names(search(s, LINKED, DirectoryQuery(limit=2, offset=1))) == everyone[1:3]


def test_directory_page__members_only(db) -> None:  # type: ignore[no-untyped-def]
    """The site's directory page (fedi.site.directory): a session, never a public page."""
    settings, _sessions = db
    with TestClient(create_app(settings), base_url="https://onze.test") as client:
        anonymous = client.get("/directory?trade=plombier")
        assert "Zoé Plomberie" not in anonymous.text and 'name="password"' in anonymous.text
        form = client.get("/login")
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text).group(1)
        client.post("/login", data={"login": "zoe@onze.test", "password": "long-pw-123",
                                    "csrf_token": token})
        page = client.get("/directory?trade=plombier")
        assert page.status_code == 200
        assert page.text.index("Zoé Plomberie") < page.text.index("bruno@douze.test")
        assert "ursule" not in page.text and "hubs voisins" in page.text


def _person(uri: str, **extra: object) -> dict[str, object]:
    return {"id": uri, "type": "Person", "preferredUsername": uri.rsplit("/", 1)[1],
            "discoverable": True, "inbox": f"{uri}/inbox",
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": "-"},
            **extra}


def test_pushed_person__listed_only_from_a_linked_hub_about_its_own_member(db) -> None:  # type: ignore[no-untyped-def]
    """What an ``Update(Person)`` does to the directory (fedi.services.mesh): the member of a
    linked hub is listed, hidden, suspended, listed again; a member of a hub that is not
    linked (or no longer) is never listed, nor is a Person that is not the sender."""
    from fedi.services.mesh import apply_pushed_member

    settings, sessions = db

    def push(username: str, doc: dict[str, object]) -> bool | None:
        with transaction(sessions) as s:
            sender = s.scalar(select(Actor).where(Actor.username == username))
            return apply_pushed_member(s, settings, sender, doc)

    def listed() -> set[str]:
        with sessions() as s:
            return set(s.scalars(select(Actor.username).join(
                DirectoryListing, DirectoryListing.actor_id == Actor.id)))

    hidden = "https://douze.test/users/hidden"
    assert push("hidden", _person(hidden)) is True and "hidden" in listed()
    assert push("hidden", _person(hidden, discoverable=False)) is False
    assert "hidden" not in listed()
    assert push("hidden", _person(hidden, suspended=True)) is False
    assert push("hidden", _person(hidden)) is True and "hidden" in listed()
    # Someone else's Person, or a key another host holds: not the sender's word to give.
    assert push("bruno", _person(hidden, discoverable=False)) is None
    other_key = _person(hidden, discoverable=True)
    other_key["publicKey"] = {"id": "https://un.test/keys/1", "owner": hidden}
    assert push("hidden", other_key) is False
    # A hub that is not linked lists no one (un.test's ursule was listed by hand above).
    with transaction(sessions) as s:
        s.execute(sa_delete(DirectoryListing).where(DirectoryListing.domain == "un.test"))
    assert push("ursule", _person("https://un.test/users/ursule")) is None
    assert "ursule" not in listed()
    # Once the link ended, pushes list no one either.
    with transaction(sessions) as s:
        s.scalar(select(Neighbour).where(Neighbour.domain == "douze.test")).state = "refused"
    assert push("anna", _person("https://douze.test/users/anna", discoverable=False)) is None
    assert "anna" in listed()  # untouched: the unlink itself drops the listings
    with sessions() as s:
        assert names(search(s, frozenset(), DirectoryQuery())) == ["adele", "yves", "zoe"]


def test_directory__never_lists_a_suspended_neighbour(db) -> None:  # type: ignore[no-untyped-def]
    _settings, sessions = db
    with transaction(sessions) as s:
        s.scalar(select(Actor).where(Actor.username == "anna")).suspended_at = utcnow()
    with sessions() as s:
        assert names(search(s, LINKED, DirectoryQuery(trade="plombier"))) == ["zoe", "bruno"]


def test_sync__keeps_a_member_pushed_while_the_collection_was_read(db) -> None:  # type: ignore[no-untyped-def]
    """A sync drops the members its ``/members`` no longer names, but not one listed by a
    push after the read began (the collection it read is older than that listing)."""
    from fedi.services.mesh import apply_members

    _settings, sessions = db
    bruno = _person("https://douze.test/users/bruno", trade="plombier")
    with transaction(sessions) as s:
        read_at = utcnow()
        anna = s.get(DirectoryListing, s.scalar(select(Actor.id).where(Actor.username == "anna")))
        anna.listed_at = read_at + timedelta(seconds=1)  # pushed while the pages came in
        assert apply_members(s, "douze.test", [bruno], read_at) == 1
    with sessions() as s:
        assert names(search(s, LINKED, DirectoryQuery(trade="plombier"))) == ["zoe", "anna",
                                                                            "bruno"]
    with transaction(sessions) as s:
        apply_members(s, "douze.test", [bruno], utcnow() + timedelta(seconds=5))
    with sessions() as s:
        assert names(search(s, LINKED, DirectoryQuery(trade="plombier"))) == ["zoe", "bruno"]


def test_search__database_page_equals_folding_every_profile(db) -> None:  # type: ignore[no-untyped-def]
    """Issue 14: the directory pages in the database from each actor's stored words
    (``Actor.directory_text``, kept by every ORM write); the same pages come out when one
    row lacks them (a bulk load) and every profile is folded in Python instead, across
    this hub's members and linked hubs' at every offset."""
    from sqlalchemy import update

    _settings, sessions = db
    queries = [DirectoryQuery(text=t, trade=tr, postal_code=pc, local_only=lo, limit=2,
                              offset=off)
               for t, tr, pc, lo in (("", "", "", False), ("plomb", "", "", False),
                                     ("chauffe", "", "", False), ("", "plombier", "", False),
                                     ("", "", "75012", False), ("", "", "", True),
                                     ("electricite adele", "", "", False), ("zzz", "", "", False))
               for off in range(6)]
    with sessions() as s:
        assert s.scalar(select(Actor.id).where(Actor.directory_text.is_(None))) is None
        stored = [names(search(s, LINKED, q)) for q in queries]
    with transaction(sessions) as s:  # an actor written without the ORM
        s.execute(update(Actor).where(Actor.username == "hidden").values(directory_text=None))
    with sessions() as s:
        assert [names(search(s, LINKED, q)) for q in queries] == stored
    assert stored[0] == ["adele", "yves"] and stored[2] == ["zoe", "anna"]
    assert stored[6 + 1] == ["anna", "bruno"] and stored[6 + 3] == []
