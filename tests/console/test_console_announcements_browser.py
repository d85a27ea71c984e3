"""In Chromium: an admin signs in with her TOTP code on a hub that requires it of admins,
writes and publishes an announcement in the console; a member sees it through Mastodon.py's
``announcements()`` and dismisses it (``announcement_dismiss``). axe-core on the new pages;
the banner on the site, dismissed without script; screenshots in
tests/site/screenshots/console-announcement*.png, site-home-announcement.png."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
from mastodon import Mastodon
from site_browser import assert_accessible, screenshot
from sqlalchemy import select
from support.hubs import HubProcess
from support.world import hub_session, query
from totp_world import code_next, code_now, enable_totp

from fedi.models import AuditEntry
from fedi.services.hub_settings import set_setting

SCOPES = ["read", "write"]


def member_app(hub: HubProcess, name: str) -> Mastodon:
    cid, secret = Mastodon.create_app("Voisinage", api_base_url=hub.base, scopes=SCOPES)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    client.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=SCOPES,
                  allow_http=True)
    return client


def test_admin_with_totp_publishes_an_announcement_members_see_in_their_app(
        make_hub: Callable[..., HubProcess], browser_page: Any) -> None:
    hub = make_hub("annonces")
    hub.add_user("claire", role="admin")
    hub.add_user("alice")
    secret = enable_totp(hub, "claire")
    with hub_session(hub) as (session, _ctx):
        set_setting(session, "totp_required_for_admins", True)
    hub.start()
    alice = member_app(hub, "alice")
    assert alice.announcements() == []

    page = browser_page
    page.goto(f"{hub.base}/login?next=/console")
    page.fill("#login", "claire")
    page.fill("#password", hub.passwords["claire"])
    page.click("form[action='/login'] button[type=submit]")  # no code: asked for it
    page.wait_for_load_state()
    assert "code à 6 chiffres" in page.locator("[role=alert]").inner_text()
    screenshot(page, "console-login-totp")
    assert_accessible(page, "login asking for the code")
    page.fill("#password", hub.passwords["claire"])
    page.fill("#code", code_now(secret))
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{hub.base}/console")

    page.click("nav >> text=Annonces")
    page.wait_for_url("**/console/announcements")
    paris = datetime.now(ZoneInfo("Europe/Paris"))
    starts = (paris + timedelta(days=3)).replace(hour=19, minute=0)
    page.fill("#a-text", "Fête des voisins vendredi, cour de l'école.\n\nApportez un plat !")
    page.fill("#a-starts", starts.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#a-ends", (starts + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"))
    screenshot(page, "console-announcements")
    assert_accessible(page, "console announcements")
    page.click("button:has-text('Enregistrer comme brouillon')")
    page.wait_for_url("**/console/announcements/*?done=created")
    assert alice.announcements() == []  # a draft is not shown
    page.click("button:has-text('Publier')")
    page.wait_for_url("**/console/announcements/*?done=published")
    assert page.locator("[role=status]").inner_text().startswith("L'annonce est publiée")
    screenshot(page, "console-announcement-published")
    assert_accessible(page, "console announcement")

    # Claire is a member too: the banner on her home, dismissed with a plain form.
    page.goto(f"{hub.base}/")
    banner = page.locator("section.announcements")
    assert "Fête des voisins" in banner.inner_text()
    screenshot(page, "site-home-announcement")
    assert_accessible(page, "home with an announcement")
    banner.locator("button:has-text('Masquer')").click()
    page.wait_for_url(f"{hub.base}/")
    assert page.locator("section.announcements").count() == 0

    shown = alice.announcements()
    assert len(shown) == 1
    notice = shown[0]
    assert "Fête des voisins" in notice.content and "<p>Apportez un plat !</p>" in notice.content
    assert notice.read is False and notice.all_day is False
    assert notice.starts_at is not None and notice.ends_at is not None
    assert notice.starts_at.astimezone(ZoneInfo("Europe/Paris")).hour == 19
    assert notice.mentions == [] and notice.reactions == []
    alice.announcement_dismiss(notice.id)
    again = alice.announcements()
    assert [a.id for a in again] == [notice.id] and again[0].read is True

    actions = query(hub, lambda s: [(e.actor_username, e.action) for e in s.scalars(
        select(AuditEntry).order_by(AuditEntry.id))])
    assert actions == [("claire", "announcement.create"), ("claire", "announcement.publish")]
    page.goto(f"{hub.base}/console/audit")
    assert "announcement.publish" in page.locator("main").inner_text()

    # Her two-step sign-in page: turned off (password and a fresh code), then set up anew
    # with the key shown and a first code.
    page.goto(f"{hub.base}/settings/totp")
    assert_accessible(page, "two-step sign-in, on")
    page.fill("#password", hub.passwords["claire"])
    page.fill("#code", code_next(secret))
    page.click("button:has-text('Désactiver')")
    page.wait_for_url("**/settings/totp?saved=off")
    page.click("form[action='/settings/totp/start'] button")
    page.wait_for_url(f"{hub.base}/settings/totp")
    new_secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert page.locator("#totp-uri").get_attribute("href").startswith("otpauth://totp/")
    screenshot(page, "site-totp-setup")
    assert_accessible(page, "two-step sign-in set-up")
    page.fill("#code", pyotp.TOTP(new_secret).now())
    page.click("form[action='/settings/totp/confirm'] button")
    page.wait_for_url("**/settings/totp?saved=on")
    page.goto(f"{hub.base}/console")
    assert page.url == f"{hub.base}/console"
