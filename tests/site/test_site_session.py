"""Session login over real HTTP against a real ``voisins serve``: CSRF, fixation, logout."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from site_http import csrf_of, login
from support.hubs import HubProcess


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess], db_backend: str) -> Iterator[HubProcess]:
    hub = make_hub("site", backend=db_backend)
    hub.add_user("alice", role="admin")
    hub.add_user("bob")
    hub.start()
    yield hub


def test_login_logout_fixation_and_csrf(hub: HubProcess) -> None:
    with httpx.Client(base_url=hub.base, headers={"Accept": "text/html"}) as client:
        # logged out: settings redirect to the login page
        gone = client.get("/settings")
        assert gone.status_code == 303 and gone.headers["location"] == "/login?next=/settings"
        page = client.get("/login")
        assert page.status_code == 200 and 'lang="fr"' in page.text
        pre_login = client.cookies["voisins_session"]
        set_cookie = page.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        # wrong password: 401 page, not logged in
        wrong = client.post("/login", data={"login": "alice", "password": "nope",
                                            "csrf_token": csrf_of(page)})
        assert wrong.status_code == 401 and "role=\"alert\"" in wrong.text
        # no token: 403 and nothing happens
        no_token = client.post("/login", data={"login": "alice",
                                               "password": hub.passwords["alice"]})
        assert no_token.status_code == 403 and "text/html" in no_token.headers["content-type"]
        assert client.get("/settings").status_code == 303
        done = login(client, "alice@" + hub.host + ".test", hub.passwords["alice"])
        assert done.status_code == 303 and done.headers["location"] == "/settings"
        after = client.cookies["voisins_session"]
        assert after != pre_login
        settings = client.get("/settings")
        assert settings.status_code == 200 and "@alice" in settings.text
        # the pre-login cookie gives nothing (session fixation)
        with httpx.Client(base_url=hub.base, cookies={"voisins_session": pre_login}) as other:
            assert other.get("/settings").status_code == 303
        # CSRF: a change without the token is refused and changes nothing
        refused = client.post("/settings/language", data={"lang": "en"})
        assert refused.status_code == 403 and 'lang="fr"' in refused.text
        assert 'lang="fr"' in client.get("/settings").text
        foreign = client.post("/settings/language",
                              data={"lang": "en", "csrf_token": csrf_of(settings)},
                              headers={"Origin": "http://evil.example"})
        assert foreign.status_code == 403
        changed = client.post("/settings/language",
                              data={"lang": "en", "csrf_token": csrf_of(settings)})
        assert changed.status_code == 303
        assert 'lang="en"' in client.get("/settings").text
        # logout ends the session on the server: the old cookie no longer works
        out = client.post("/logout", data={"csrf_token": csrf_of(client.get("/settings"))})
        assert out.status_code == 303
        with httpx.Client(base_url=hub.base, cookies={"voisins_session": after}) as other:
            assert other.get("/settings").status_code == 303
