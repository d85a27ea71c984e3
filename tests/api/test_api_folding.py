"""Search folds case, accents and the common French feminine and plural forms the same way
for this hub's members and linked hubs' (issue 15 #9), on every path: ``/api/v1/directory``
(keywords and trade) and ``/api/v2/search``. Trades are shown by their label, never by their
internal key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import LINKED, ApiWorld, Member, ok

from fedi.models import Actor, DirectoryListing

# family → (trade key, a feminine or plural wording for a profile's text)
FAMILIES = {
    "avocat": ("avocat", "Avocate au barreau de Paris"),
    "plombier": ("plombier", "Plombière, dépannages"),
    "boulanger": ("boulanger", "Boulangère bio"),
    "coiffeur": ("coiffeur", "Coiffeuse à domicile"),
    "graphiste": ("graphiste", "Graphistes associés"),
}
QUERIES = [
    ("avocat", "avocat"), ("avocate", "avocat"), ("avocats", "avocat"),
    ("Avocates", "avocat"), ("AVOCAT", "avocat"),
    ("plombier", "plombier"), ("Plombier", "plombier"), ("plombière", "plombier"),
    ("PLOMBIÈRES", "plombier"), ("Plombier·ère", "plombier"),
    ("boulanger", "boulanger"), ("boulangère", "boulanger"), ("Boulangères", "boulanger"),
    ("coiffeur", "coiffeur"), ("coiffeuse", "coiffeur"), ("Coiffeuses", "coiffeur"),
    ("graphiste", "graphiste"), ("Graphistes", "graphiste"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiWorld, Member, dict]]:
    path: Path = tmp_path_factory.mktemp("folding")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    viewer = w.member("viewer")
    expected: dict[str, set[str]] = {family: set() for family in FAMILIES}
    for family, (trade, text) in FAMILIES.items():
        # Four profiles a family: here and on a linked hub, by trade and by free text.
        for where in ("local", "remote"):
            for how in ("trade", "text"):
                name = f"{family[:5]}{where[0]}{'k' if how == 'trade' else 'x'}"
                if where == "local":
                    actor_id = w.member(name).actor_id
                else:
                    actor_id = w.remote(name)
                with w.session() as s:
                    actor = s.get(Actor, actor_id)
                    actor.display_name = f"Profil {name}"
                    if how == "trade":
                        actor.trade = trade
                    else:
                        actor.summary = f"<p>{text}</p>"
                    if where == "remote":
                        s.add(DirectoryListing(actor_id=actor_id, domain=LINKED))
                    expected[family].add(str(actor_id))
    yield w, viewer, expected
    w.close()


def _ids(answer: list[dict]) -> set[str]:
    return {a["id"] for a in answer}


@pytest.mark.parametrize(("query", "family"), QUERIES)
def test_search__folds_the_same_for_local_and_remote_profiles(
        world: tuple[ApiWorld, Member, dict], query: str, family: str) -> None:
    w, viewer, expected = world
    want = expected[family]
    by_keywords = _ids(ok(w.get(viewer, "/api/v1/directory", params={"q": query})))
    assert by_keywords == want
    by_trade = _ids(ok(w.get(viewer, "/api/v1/directory", params={"trade": query})))
    assert len(by_trade) >= 2 and by_trade <= want  # the trade's holders at least
    searched = _ids(ok(w.get(viewer, "/api/v2/search",
                             params={"q": query, "type": "accounts", "limit": 40}))["accounts"])
    assert searched == want


def test_trade_shown_by_its_label(world: tuple[ApiWorld, Member, dict]) -> None:
    w, viewer, _expected = world
    found = ok(w.get(viewer, "/api/v1/directory", params={"trade": "plombier"}))
    with_trade = [a for a in found if a.get("trade") == "plombier"]
    assert len(with_trade) == 2  # here and on the linked hub
    for account in with_trade:
        fields = {f["name"]: f["value"] for f in account["fields"]}
        assert fields["Métier / Trade"] == "Plombier·ère"
        assert account["trade_label"] == "Plombier·ère"
