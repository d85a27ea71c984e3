"""The privacy policy and the rules: public pages in French and English, the privacy policy
edited by an admin in the console (audit logged, moderators refused) and served to apps as
Mastodon's PrivacyPolicy entity; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from apiworld import DOMAIN, ApiWorld, ok
from test_site_privacy import browser, csrf

from fedi.models import AuditEntry


@pytest.fixture
def world(db_backend: str, new_database_url: Callable[[str, str], str]) -> Iterator[ApiWorld]:
    w = ApiWorld(new_database_url(db_backend, "legal"))
    yield w
    w.close()


def test_privacy_and_rules_pages__french_and_english(world: ApiWorld) -> None:
    admin = world.member("admin", role="admin")
    visitor = browser(world)
    fr = visitor.get("/privacy-policy")
    assert fr.status_code == 200 and '<html lang="fr"' in fr.text
    assert "Politique de confidentialité" in fr.text and "RGPD" in fr.text
    assert "30 jours" in fr.text and "Télécharger mes données" in fr.text
    assert f"@{admin.username}@{DOMAIN}" in fr.text  # whom to write to
    en = visitor.get("/privacy-policy", headers={"Accept-Language": "en"})
    assert "Privacy policy" in en.text and "GDPR" in en.text and "30 days" in en.text
    assert "GDPR" in visitor.get("/privacy-policy?lang=en").text
    rules = visitor.get("/rules")
    assert rules.status_code == 200 and "Rester courtois" in rules.text
    assert "Be courteous" not in rules.text
    assert "Be courteous" in visitor.get("/rules?lang=en").text
    api = ok(world.get(None, "/api/v1/instance/privacy_policy"))
    assert "RGPD" in api["content"] and api["updated_at"].endswith("Z")
    assert "GDPR" in ok(world.get(None, "/api/v1/instance/privacy_policy",
                                  headers={"Accept-Language": "en"}))["content"]
    v2 = ok(world.get(None, "/api/v2/instance"))
    assert v2["configuration"]["urls"]["privacy_policy"] == f"https://{DOMAIN}/privacy-policy"


def test_admin_edits_the_policy__api_and_page_show_it(world: ApiWorld) -> None:
    admin = world.member("admin", role="admin")
    moderator = world.member("mod", role="moderator")
    before = ok(world.get(None, "/api/v1/instance/privacy_policy"))
    console = browser(world, admin)
    page = console.get("/console/settings/privacy")
    assert page.status_code == 200 and "RGPD" in page.text
    saved = console.post("/console/settings/privacy", data={
        "fr": "Le hub {hub} garde **peu** de choses.\n\nContact : {contact}.",
        "en": "The hub {hub} keeps **little**.", "csrf_token": csrf(page)},
        follow_redirects=False)
    assert saved.status_code == 303
    api = ok(world.get(None, "/api/v1/instance/privacy_policy"))
    assert "<strong>peu</strong>" in api["content"] and "Voisins du 11e" in api["content"]
    assert api["updated_at"] != before["updated_at"]
    assert "<strong>little</strong>" in browser(world).get("/privacy-policy?lang=en").text
    with world.session() as s:
        entry = s.scalar(select(AuditEntry).where(
            AuditEntry.action == "settings.privacy_policy"))
        assert entry is not None and entry.actor_username == admin.username
    # No French text while an English one is given: refused, nothing changed.
    page = console.get("/console/settings/privacy")
    refused = console.post("/console/settings/privacy", data={
        "fr": "  ", "en": "Only English", "csrf_token": csrf(page)})
    assert refused.status_code == 422 and "obligatoire" in refused.text
    assert "<strong>peu</strong>" in ok(world.get(None, "/api/v1/instance/privacy_policy"))[
        "content"]
    # Moderators and members cannot edit it.
    for who in (moderator, world.member("m")):
        other = browser(world, who)
        assert other.get("/console/settings/privacy").status_code == 403
    # Back to the default text.
    page = console.get("/console/settings/privacy")
    console.post("/console/settings/privacy", data={"fr": "x", "en": "", "reset": "on",
                                                    "csrf_token": csrf(page)})
    assert "RGPD" in ok(world.get(None, "/api/v1/instance/privacy_policy"))["content"]


def test_admin_edits_the_rules__pages_api_and_reports_follow(world: ApiWorld) -> None:
    admin, moderator = world.member("admin", role="admin"), world.member("mod", role="moderator")
    alice, bob = world.member("alice"), world.member("bob")
    console = browser(world, admin)
    page = console.get("/console/settings/rules")
    assert page.status_code == 200 and "Rester courtois" in page.text
    saved = console.post("/console/settings/rules", data={"rules": (
        "Rester courtois et bienveillant. / Be courteous and kind.\n\n"
        "Annoncer ses prix. / Show your prices. | Devis gratuits. / Free quotes.\n"),
        "csrf_token": csrf(page)}, follow_redirects=False)
    assert saved.status_code == 303
    api = ok(world.get(None, "/api/v1/instance/rules"))
    # The kept rule keeps its id (reports name it); the new one takes the next number.
    assert [(r["id"], r["text"][:18], r["hint"][:8]) for r in api] == [
        ("3", "Rester courtois et", ""), ("5", "Annoncer ses prix.", "Devis gr")]
    assert ok(world.get(None, "/api/v2/instance"))["rules"] == api
    assert "Annoncer ses prix" in browser(world).get("/rules").text
    assert "Show your prices" in browser(world).get("/rules?lang=en").text
    report = {"account_id": bob.id, "category": "violation", "comment": "prix cachés"}
    assert world.post_json(alice, "/api/v1/reports",
                           {**report, "rule_ids": ["5"]}).status_code == 200
    refused = world.post_json(alice, "/api/v1/reports", {**report, "rule_ids": ["1"]})
    assert refused.status_code == 422, refused.text  # rule 1 is gone
    with world.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "settings.rules"))
        assert entry is not None and entry.actor_username == admin.username
    # Too long a line: refused whole, nothing changed.
    page = console.get("/console/settings/rules")
    too_long = console.post("/console/settings/rules", data={
        "rules": "Une règle\n" + "x" * 401, "csrf_token": csrf(page)})
    assert too_long.status_code == 422 and "La ligne 2 dépasse" in too_long.text
    assert ok(world.get(None, "/api/v1/instance/rules")) == api
    for who in (moderator, alice):
        assert browser(world, who).get("/console/settings/rules").status_code == 403
    page = console.get("/console/settings/rules")
    console.post("/console/settings/rules", data={"rules": "x", "reset": "on",
                                                  "csrf_token": csrf(page)})
    assert len(ok(world.get(None, "/api/v1/instance/rules"))) == 4
