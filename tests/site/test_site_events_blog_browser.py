"""Events and blog pages in Chromium against a real ``voisins serve``: Alice creates an event
in the editor, Bob answers « J'y vais » with the button and appears among her participants,
Alice previews then publishes an article; axe-core finds no serious or critical violation on
the events list, the month grid, the event page and the article page; screenshots of each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from site_browser import assert_accessible, log_in, screenshot, screenshot_phone
from support.hubs import HubProcess

pytestmark = pytest.mark.multihub


def test_events_and_blog_in_a_browser(make_hub: Callable[..., HubProcess],
                                      browser: Any) -> None:
    hub = make_hub("onze", territory=("75011",))
    hub.add_user("alice")
    hub.add_user("bob")
    hub.start()

    alice = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900}
                                ).new_page()
    log_in(alice, hub.base, "alice", hub.passwords["alice"], "/events")
    alice.get_by_role("link", name="Nouvel événement").click()
    alice.fill("#title", "Apéro des voisins")
    alice.fill("#description", "On se retrouve **au square**, chacun apporte un plat.")
    alice.fill("#start_time", "2030-06-12T19:00")
    alice.fill("#end_time", "2030-06-12T22:00")
    alice.fill("#place_name", "Square Maurice-Gardette")
    alice.fill("#postal_code", "75011")
    alice.fill("#locality", "Paris")
    alice.fill("#capacity", "20")
    alice.select_option("#audience", "hub")
    screenshot(alice, "events-editor")
    screenshot_phone(alice, "events-editor-phone")
    alice.click("#event-form button[type=submit]")
    alice.wait_for_load_state()
    assert "/events/" in alice.url
    event_url = alice.url
    assert alice.locator("h1").inner_text() == "Apéro des voisins"
    assert "mercredi 12 juin 2030" in alice.locator("main").inner_text()

    bob = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900}
                              ).new_page()
    log_in(bob, hub.base, "bob", hub.passwords["bob"], "/events")
    assert "Apéro des voisins" in bob.locator("main").inner_text()
    screenshot(bob, "events-list")
    screenshot_phone(bob, "events-list-phone")
    assert_accessible(bob, "events list")
    bob.get_by_role("link", name="Apéro des voisins").click()
    bob.get_by_role("button", name="J’y vais").click()
    bob.wait_for_load_state()
    assert bob.get_by_role("button", name="J’y vais").get_attribute("aria-pressed") == "true"
    assert "19 places restantes" in bob.locator("main").inner_text()
    screenshot(bob, "events-event")
    screenshot_phone(bob, "events-event-phone")
    assert_accessible(bob, "event page")
    bob.goto(hub.base + "/events?month=2030-06")
    assert "Apéro des voisins" in bob.locator("table").inner_text()
    screenshot(bob, "events-month")
    screenshot_phone(bob, "events-month-phone")
    assert_accessible(bob, "month grid")

    alice.goto(event_url)
    assert "participe" in alice.locator("#participants").locator("..").inner_text()
    assert "bob" in alice.locator("main").inner_text()
    screenshot(alice, "events-organiser")
    screenshot_phone(alice, "events-organiser-phone")

    # The blog: write, preview, publish; Bob reads it.
    alice.get_by_role("link", name="Blog").click()
    alice.get_by_role("link", name="Écrire un article").click()
    alice.fill("#title", "Le marché d'Aligre")
    alice.fill("#body", "Des *fraises*, du **fromage** et une [carte](https://example.org).")
    alice.select_option("#audience", "hub")
    alice.get_by_role("button", name="Aperçu").click()
    alice.wait_for_load_state()
    assert alice.locator(".preview em").inner_text() == "fraises"
    screenshot(alice, "blog-preview")
    screenshot_phone(alice, "blog-preview-phone")
    alice.get_by_role("button", name="Publier").click()
    alice.wait_for_load_state()
    article_url = alice.url
    assert "/articles/" in article_url
    bob.goto(article_url)
    assert bob.locator("h1").inner_text() == "Le marché d'Aligre"
    screenshot(bob, "blog-article")
    screenshot_phone(bob, "blog-article-phone")
    assert_accessible(bob, "article page")
    bob.goto(hub.base + "/@alice/articles")
    assert "Le marché d'Aligre" in bob.locator("main").inner_text()
