"""The directory: French-aware matching, this hub first, only listed members of linked hubs,
and the members-only page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from fedi.app import create_app
from fedi.config import Settings, load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, transaction
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
