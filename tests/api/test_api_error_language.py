"""API error messages follow Accept-Language, then the member's chosen language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiworld import ApiWorld, Member
from sqlalchemy import update

from fedi.db import transaction
from fedi.models import User


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ApiWorld]:
    w = ApiWorld(f"sqlite:///{tmp_path / 'hub.db'}")
    yield w
    w.close()


def test_api_errors_in_the_asked_language(world: ApiWorld) -> None:
    alice: Member = world.member("alice")
    french = world.client.get("/api/v1/statuses/123",
                              headers={**alice.headers, "Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.status_code == 404 and french.json() == {"error": "Élément introuvable"}
    assert french.headers["content-language"] == "fr"
    english = world.client.get("/api/v1/statuses/123",
                               headers={**alice.headers, "Accept-Language": "en-GB,en;q=0.8"})
    assert english.json() == {"error": "Record not found"}
    anonymous = world.client.get("/api/v1/timelines/home", headers={"Accept-Language": "fr"})
    assert anonymous.json() == {"error": "Le jeton d’accès n’est pas valide"}
    # f-string messages are matched by their pattern, the inner value translated too
    typed = world.client.post("/api/v1/statuses", json={"status": {"a": 1}},
                              headers={**alice.headers, "Accept-Language": "fr"})
    assert typed.status_code == 422 and typed.json()["error"] == "status doit être une chaîne"
    media = world.client.post("/api/v1/statuses", json={"status": "hi", "media_ids": ["1"]},
                              headers={**alice.headers, "Accept-Language": "fr"})
    assert media.status_code == 422 and media.json()["error"] == (
        "La validation a échoué : une pièce jointe est inconnue, n’est pas la vôtre ou est "
        "déjà utilisée")
    # OAuth: the code stays, the description is translated
    token = world.client.post("/oauth/token", data={"grant_type": "nope"},
                              headers={"Accept-Language": "fr"})
    assert token.status_code in (400, 401) and token.json()["error"] in (
        "unsupported_grant_type", "invalid_client")
    assert "error_description" in token.json()


def test_api_errors_in_the_members_language(world: ApiWorld) -> None:
    alice = world.member("alice")
    missing = world.client.get("/api/v1/statuses/123", headers=alice.headers)
    assert missing.json() == {"error": "Élément introuvable"}  # French is the default
    with transaction(world.sessions) as session:
        session.execute(update(User).where(User.id == alice.user_id).values(locale="en"))
    missing = world.client.get("/api/v1/statuses/123", headers=alice.headers)
    assert missing.json() == {"error": "Record not found"}
    nobody = world.client.get("/api/v1/timelines/home")
    assert nobody.json() == {"error": "The access token is invalid"}
