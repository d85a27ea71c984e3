"""The hub's name, description, territory and default audience, set by an admin in the
console (/console/settings/hub): bad input changes nothing; a saved change shows at once in
pages, apps and the hub's actor, reaches the linked hub, applies to members who join after;
a change made by another process (``voisins settings set``) reaches the running hub."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from console_world import console_post, logged_in
from journeys.test_privacy_hubs import Api, link_by_config
from sqlalchemy import select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import AuditEntry
from fedi.services.hub_settings import get_setting

pytestmark = pytest.mark.multihub
PAGE = "/console/settings/hub"
NEW = {"hub_name": "Le Onze Solidaire", "hub_description": "Entraide <b>et</b> café.\n\nLe "
       "premier jeudi du mois.", "territory": "75011; 75020 75011", "default_audience": "hub"}


def instance(hub: HubProcess, version: str = "v1") -> dict[str, object]:
    answer = httpx.get(f"{hub.base}/api/{version}/instance", timeout=10)
    assert answer.status_code == 200
    return dict(answer.json())


def test_admin_sets_name_description_territory_and_default_audience(
        make_hub: Callable[..., HubProcess]) -> None:
    onze, douze = make_hub("onze"), make_hub("douze", territory=("75012",))
    link_by_config(onze, douze)
    link_by_config(douze, onze)
    onze.add_user("claire", role="admin")
    onze.add_user("manon", role="moderator")
    onze.start()
    douze.start()
    wait_for(lambda: ">onze<" in httpx.get(douze.base + "/", timeout=10).text, timeout=60,
             what="douze naming onze by its first name")

    with logged_in(onze, "manon") as manon:
        assert manon.get(PAGE).status_code == 403
        assert console_post(manon, "/settings", PAGE, NEW).status_code == 403

    with logged_in(onze, "claire") as claire:
        shown = claire.get(PAGE)
        assert shown.status_code == 200 and "Nom du hub" in shown.text
        wrong = console_post(claire, PAGE, PAGE, {**NEW, "territory": "75011, 7502"})
        assert wrong.status_code == 422
        assert 'aria-invalid="true"' in wrong.text and "7502" in wrong.text
        assert "code postal à 5 chiffres" in wrong.text
        assert 'value="Le Onze Solidaire"' in wrong.text  # what was typed stays
        assert console_post(claire, PAGE, PAGE, {**NEW, "default_audience": "public"}
                            ).status_code == 422
        assert instance(onze)["title"] == "onze"
        assert query(onze, lambda s: get_setting(s, "hub_name")) == ""

        saved = console_post(claire, PAGE, PAGE, NEW)
        assert saved.status_code == 303
        assert "Le Onze Solidaire" in claire.get(PAGE + "?done=saved").text

    # At once in this hub: apps, pages, its actor.
    v1, v2 = instance(onze), instance(onze, "v2")
    assert v1["title"] == v2["title"] == "Le Onze Solidaire"
    assert v1["description"] == NEW["hub_description"]
    extended = httpx.get(f"{onze.base}/api/v1/instance/extended_description", timeout=10).json()
    assert extended["content"] == ("<p>Entraide &lt;b&gt;et&lt;/b&gt; café.</p>"
                                   "<p>Le premier jeudi du mois.</p>")
    front = httpx.get(onze.base + "/", timeout=10).text
    assert "<h1>Le Onze Solidaire</h1>" in front and "Le premier jeudi du mois." in front
    assert "75020" in front
    actor = httpx.get(f"{onze.base}/actor", headers={"Accept": "application/activity+json"},
                      timeout=10).json()
    assert actor["name"] == "Le Onze Solidaire" and actor["territory"] == ["75011", "75020"]

    # The linked hub is told (an Update of the hub's actor) and names it so.
    wait_for(lambda: "Le Onze Solidaire" in httpx.get(douze.base + "/", timeout=10).text,
             timeout=60, what="douze naming onze by its new name")

    # Members who join now post to the hub by default; those already there keep theirs.
    onze.add_user("zoe")
    assert Api(onze, "zoe").get("/api/v1/accounts/verify_credentials")["source"]["privacy"] \
        == "unlisted"
    assert Api(onze, "claire").get("/api/v1/accounts/verify_credentials")["source"][
        "privacy"] == "private"

    # Another process changes the name: the running hub shows it within seconds.
    onze.cli("settings", "set", "hub_name", "Onze en ligne de commande")
    wait_for(lambda: instance(onze)["title"] == "Onze en ligne de commande", timeout=60,
             what="the running hub to read the new name")

    # Emptied: back to voisins.toml's name.
    with logged_in(onze, "claire") as claire:
        assert console_post(claire, PAGE, PAGE, {**NEW, "hub_name": ""}).status_code == 303
    assert instance(onze)["title"] == "onze"

    entries = query(onze, lambda s: [(e.action, e.target) for e in s.scalars(
        select(AuditEntry).order_by(AuditEntry.id))])
    assert [t for a, t in entries if a == "settings.set"] == [
        "hub_name", "hub_description", "territory", "default_audience", "hub_name"]
