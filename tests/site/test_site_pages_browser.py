"""The member pages in Chromium, against two linked ``voisins serve`` hubs: a member logs in,
posts to her followers, sees a post from the linked hub, replies to it, finds a plumber in the
directory, invites a neighbour, switches to English and logs out; a visitor who is not
logged in reaches none of it. Screenshots of each page, and the axe-core pass."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from neighbourhood.neighbourhood_world import set_profile
from site_browser import assert_accessible, log_in, screenshot, screenshot_phone
from sqlalchemy import select
from support.hubs import HubProcess, wait_for
from support.world import query

from fedi.models import Actor, Follow

pytestmark = pytest.mark.multihub


def link_by_config(hub: HubProcess, other: HubProcess) -> None:
    """List ``other`` in ``federation.neighbours``: linked from the start (the link protocol
    has its own tests)."""
    text = hub.config_path.read_text(encoding="utf-8")
    hub.config_path.write_text(text.replace("neighbours = []",
                                            f'neighbours = ["{other.domain}"]'), encoding="utf-8")


@pytest.fixture
def hubs(make_hub: Callable[..., HubProcess]) -> tuple[HubProcess, HubProcess]:
    onze, douze = make_hub("onze", territory=("75011",)), make_hub("douze", territory=("75012",))
    link_by_config(onze, douze)
    link_by_config(douze, onze)
    onze.add_user("alice")
    onze.add_user("bob")
    douze.add_user("bea")
    douze.add_user("bruno")
    set_profile(onze, "alice", trade="graphiste", postal_code="75011",
                business_name="Atelier Alice", display_name="Alice Martin")
    set_profile(onze, "bob", trade="plombier", postal_code="75011",
                business_name="Bob Plomberie", display_name="Bob Durand")
    set_profile(douze, "bea", trade="electricien", postal_code="75012",
                display_name="Béa Leroy")
    onze.start()
    douze.start()
    return onze, douze


def publish(page: Any, text: str, audience: str) -> None:
    page.fill("#compose-text", text)
    page.select_option("#compose-audience", audience)
    page.click("#compose button[type=submit]")
    page.wait_for_load_state()


def test_a_member_day_on_the_site(hubs: tuple[HubProcess, HubProcess], browser: Any) -> None:
    onze, douze = hubs

    # A visitor who is not logged in: the front page, nothing about members, the rest asks
    # for a login.
    visitor = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
    page = visitor.new_page()
    page.goto(onze.base + "/")
    assert page.locator("h1").inner_text() == "onze"
    body = page.locator("main").inner_text()
    assert "75011" in body and "Paris 11e" in body and "cooptation" in body
    # A neighbour is named once onze has fetched douze's hub actor (started just after it);
    # until then the front page lists it by its address.
    wait_for(lambda: page.reload() and page.get_by_role("link", name="douze").count(),
             timeout=60, what="douze named on onze's front page")
    assert page.get_by_role("link", name="douze").get_attribute("href") == douze.base + "/"
    assert "alice" not in body.lower() and "Bob" not in body
    screenshot(page, "pages-front")
    assert_accessible(page, "front page")
    for path in ("/neighbourhood", "/hub", "/directory", "/invitations", "/notifications",
                 "/messages", "/@alice", "/settings/profile"):
        page.goto(onze.base + path)
        assert "/login?next=" in page.url, path
    visitor.close()

    # Béa, on the linked hub, posts to the neighbourhood.
    bea_context = browser.new_context(locale="fr-FR")
    bea = bea_context.new_page()
    log_in(bea, douze.base, "bea", douze.passwords["bea"])
    publish(bea, "Bonjour les voisins du 11e, qui connaît un bon plombier ?", "neighbourhood")
    assert "Bonjour les voisins du 11e" in bea.locator("main").inner_text()
    bea_context.close()

    context = browser.new_context(locale="fr-FR", viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, onze.base, "alice", onze.passwords["alice"])
    assert page.url == onze.base + "/"

    # Home: a followers-only post (the default audience), shown with its audience.
    assert page.locator("#compose-audience").input_value() == "followers"
    publish(page, "Atelier ouvert samedi pour les abonnés", "followers")
    card = page.locator("article.post").first
    assert "Atelier ouvert samedi" in card.inner_text() and "Abonnés" in card.inner_text()
    assert card.locator("button", has_text="Partager").count() == 0  # never widened
    screenshot(page, "pages-home")
    screenshot_phone(page, "pages-home-phone")
    assert_accessible(page, "home")

    # The neighbourhood timeline shows Béa's post once the linked hub delivered it.
    def delivered() -> bool:
        page.goto(onze.base + "/neighbourhood")
        return "qui connaît un bon plombier" in page.locator("main").inner_text()

    wait_for(delivered, timeout=30, what="Béa's post to reach the linked hub")
    screenshot(page, "pages-neighbourhood")
    assert_accessible(page, "neighbourhood")

    # She replies to it, on the post's page.
    bea_card = page.locator("article.post", has_text="qui connaît un bon plombier").first
    bea_card.get_by_role("link", name=re.compile("Répondre")).click()
    page.wait_for_load_state()
    assert re.search(rf"/@bea@{re.escape(douze.domain)}/\d+", page.url)
    page.fill("#reply-text", "Bob, au 12 rue Oberkampf, est très bien !")
    page.click("#reply button[type=submit]")
    page.wait_for_load_state()
    assert "Bob, au 12 rue Oberkampf" in page.locator(".thread-after").inner_text()
    screenshot(page, "pages-thread")
    screenshot_phone(page, "pages-thread-phone")
    assert_accessible(page, "thread")

    # Béa's profile card, from the linked hub.
    page.goto(f"{onze.base}/@bea@{douze.domain}")
    assert "Électricien·ne" in page.locator(".facts").inner_text()
    screenshot(page, "pages-profile-neighbour")

    # A member of the linked hub she never heard of: found through WebFinger, asked to follow.
    page.goto(f"{onze.base}/@bruno@{douze.domain}")
    assert page.locator("h1").inner_text() == "bruno"
    page.get_by_role("button", name="Demander à suivre").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Annuler la demande d'abonnement").is_visible()
    wait_for(lambda: query(douze, lambda s: s.scalar(
        select(Follow.state).join(Actor, Actor.id == Follow.followee_id)
        .where(Actor.username == "bruno", Actor.local))) == "requested",
        timeout=30, what="the follow request to reach bruno's hub")

    # The directory: plumbers.
    page.goto(onze.base + "/directory")
    page.select_option("#d-trade", "plombier")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    results = page.locator("ul.members").inner_text()
    assert "Bob Durand" in results and "Alice Martin" not in results
    assert "Plombier·ère" in results and "Bob Plomberie" in results
    screenshot(page, "pages-directory")
    screenshot_phone(page, "pages-directory-phone")
    assert_accessible(page, "directory")

    # Bob's profile card: trade label, follow request.
    page.locator("ul.members").get_by_role("link", name="Bob Durand").click()
    page.wait_for_load_state()
    facts = page.locator(".facts").inner_text()
    assert "Plombier·ère" in facts and "plombier" not in facts and "75011" in facts
    page.get_by_role("button", name="Demander à suivre").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Annuler la demande d'abonnement").is_visible()
    screenshot(page, "pages-profile")
    assert_accessible(page, "profile")

    # Her own profile editor keeps the territory rule.
    page.goto(onze.base + "/settings/profile")
    page.fill("#p-postal", "69001")
    page.click("form.profile-form button[type=submit]")
    page.wait_for_load_state()
    assert "territoire" in page.locator("[role=alert]").inner_text()
    assert page.locator("#p-postal").get_attribute("aria-invalid") == "true"
    screenshot(page, "pages-profile-edit")
    screenshot_phone(page, "pages-profile-edit-phone")
    assert_accessible(page, "profile editor")

    # An invitation link.
    page.goto(onze.base + "/invitations")
    page.fill("#i-note", "Pour Chloé, la fleuriste")
    page.click("form[action='/invitations'] button[type=submit]")
    page.wait_for_load_state()
    link = page.locator("a.invite-link").inner_text()
    assert link.startswith(onze.base + "/invite/")
    assert "Pour Chloé" in page.locator("table").inner_text()
    screenshot(page, "pages-invitations")
    screenshot_phone(page, "pages-invitations-phone")
    assert_accessible(page, "invitations")

    # A direct message to Bob, read on his phone below.
    page.goto(onze.base + "/")
    publish(page, "@bob tu passes à l'atelier jeudi ?", "direct")

    # English, then log out: the session is over.
    page.goto(onze.base + "/settings")
    page.select_option("#lang", "en")
    page.click("form[action='/settings/language'] button[type=submit]")
    page.wait_for_load_state()
    page.goto(onze.base + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Home"
    assert page.locator("#compose-audience option:checked").inner_text() == "Followers"
    screenshot(page, "pages-home-en")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    page.goto(onze.base + "/neighbourhood")
    assert "/login?next=" in page.url
    context.close()

    # Bob accepts Alice's follow request; her followers-only post stays hidden from him (he
    # does not follow her), and his page of her says she follows him now.
    bob_context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    bob = bob_context.new_page()
    log_in(bob, onze.base, "bob", onze.passwords["bob"], "/notifications")
    bob.locator("section", has_text="Demandes d'abonnement").get_by_role(
        "button", name="Accepter").click()
    bob.wait_for_load_state()
    assert bob.locator("section", has_text="Demandes d'abonnement").count() == 0
    screenshot(bob, "pages-notifications-phone")
    assert_accessible(bob, "notifications")
    bob.goto(onze.base + "/@alice")
    main = bob.locator("main").inner_text()
    assert "vous suit" in main and "Atelier ouvert samedi" not in main
    screenshot(bob, "pages-profile-phone")
    bob.goto(onze.base + "/messages")
    assert "tu passes à l'atelier jeudi" in bob.locator("main").inner_text()
    screenshot(bob, "pages-messages-phone")
    assert_accessible(bob, "messages")
    bob_context.close()
