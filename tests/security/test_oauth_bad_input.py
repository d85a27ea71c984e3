"""Issue 13 #7: bad input to an HTML route is a 400 page (French first, English too),
never a 500: ``/oauth/authorize`` with an over-long or repeated ``lang``, more than 200
parameters, over-long or repeated form fields; the sign-up form with too many fields or a
file; JSON nested too deeply (issue 13 #12) on the API. A real ``voisins serve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from support.hubs import HubProcess, free_port

pytestmark = pytest.mark.multihub
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """One hub for the module (its host is outside the range make_hub uses)."""
    workdir = tmp_path_factory.mktemp("badinput")
    host = "127.0.0.251"
    hub = HubProcess(name="badinput", host=host, port=free_port(host), workdir=workdir,
                     database_url=f"sqlite:///{workdir / 'hub.db'}",
                     extra_config="\n[api]\nrate_limit = 1000000\n")
    hub.write_config()
    hub.migrate()
    hub.add_user("alice")
    hub.start()
    try:
        yield hub
        assert "Traceback" not in hub.log()
    finally:
        hub.stop()


@pytest.fixture
def client(hub: HubProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.base, timeout=30) as client:
        yield client


@pytest.fixture
def app(client: httpx.Client) -> dict[str, Any]:
    response = client.post("/api/v1/apps", data={"client_name": "bad", "redirect_uris": OOB,
                                                  "scopes": "read write"})
    return dict(response.json())


def is_error_page(response: httpx.Response, lang: str = "fr") -> bool:
    """A 400 HTML page in that language with its message (templates/oauth/error.html)."""
    return (response.status_code == 400
            and response.headers["content-type"].startswith("text/html")
            and f'<html lang="{lang}">' in response.text
            and 'class="error" role="alert"' in response.text)


def authorize_query(app: dict[str, Any]) -> dict[str, str]:
    return {"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB,
            "scope": "read"}


def consent_form(client: httpx.Client, app: dict[str, Any]) -> dict[str, str]:
    """The hidden fields and form token of a real consent page."""
    page = client.get("/oauth/authorize", params=authorize_query(app))
    assert page.status_code == 200
    fields = dict(authorize_query(app))
    fields["form_token"] = page.text.split('name="form_token" value="', 1)[1].split('"', 1)[0]
    return fields


def test_authorize_get_bad_lang_still_shows_the_page(client: httpx.Client,
                                                     app: dict[str, Any]) -> None:
    query = authorize_query(app)
    for lang in ("x" * 5000, "en" + "x" * 100):
        page = client.get("/oauth/authorize", params={**query, "lang": lang})
        assert page.status_code == 200 and "<form" in page.text
    repeated = client.get("/oauth/authorize", params=[*query.items(), ("lang", "en"),
                                                       ("lang", "fr")])
    assert repeated.status_code == 200 and "<form" in repeated.text


def test_authorize_get_bad_parameters_are_a_400_page(client: httpx.Client,
                                                     app: dict[str, Any]) -> None:
    query = authorize_query(app)
    many = [*query.items(), *((f"p{i}", "x") for i in range(250))]
    assert is_error_page(client.get("/oauth/authorize", params=many))
    english = client.get("/oauth/authorize", params=many,
                         headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert is_error_page(english, "en")
    assert is_error_page(client.get("/oauth/authorize", params=[*many, ("lang", "x" * 999)]))
    assert is_error_page(client.get("/oauth/authorize",
                                    params={**query, "client_id": "c" * 5000}))
    assert is_error_page(client.get("/oauth/authorize",
                                    params=[*query.items(), ("client_id", "again")]))


def test_authorize_post_odd_form_tokens_are_a_400_page(client: httpx.Client,
                                                       app: dict[str, Any]) -> None:
    form = {**consent_form(client, app), "login": "alice", "password": "nope"}
    for token in ("²³.abc", "١٢٣.abc", "9" * 150 + ".x", ".", ""):
        assert is_error_page(client.post("/oauth/authorize", data={**form, "form_token": token}))


@pytest.mark.parametrize("field", ["decision", "login", "password", "form_token", "state"])
def test_authorize_post_over_long_fields_are_a_400_page(
        client: httpx.Client, app: dict[str, Any], field: str) -> None:
    form = {**consent_form(client, app), "login": "alice", "password": "nope"}
    form[field] = "z" * 5000
    answer = client.post("/oauth/authorize", data=form)
    assert is_error_page(answer), (answer.status_code, answer.text[:300])
    english = client.post("/oauth/authorize", data={**form, "lang": "en"})
    assert is_error_page(english, "en")


def test_authorize_post_repeated_and_too_many_fields_are_a_400_page(
        client: httpx.Client, app: dict[str, Any]) -> None:
    form = consent_form(client, app)
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    pairs = [*form.items(), ("login", "alice"), ("password[]", "a"), ("password[]", "b")]
    assert is_error_page(client.post("/oauth/authorize", content=urlencode(pairs),
                                     headers=urlencoded))
    many = [*form.items(), *((f"f{i}", "x") for i in range(250))]
    assert is_error_page(client.post("/oauth/authorize", content=urlencode(many),
                                     headers=urlencoded))
    assert is_error_page(client.post("/oauth/authorize",
                                     content=b"[" * 100_000,
                                     headers={"Content-Type": "application/json"}))
    # A repeated or over-long lang is not an error: the form is answered (a wrong login here).
    for lang in (["en", "fr"], "en" + "x" * 3000):
        answer = client.post("/oauth/authorize", data={**form, "lang": lang, "login": "alice",
                                                       "password": "wrong"})
        assert answer.status_code == 401 and 'role="alert"' in answer.text
    array = client.post("/oauth/authorize", content=urlencode(
        [*form.items(), ("lang[]", "en"), ("lang[]", "fr")]), headers=urlencoded)
    assert array.status_code == 401 and '<html lang="en">' in array.text


def test_authorize_post_still_works(client: httpx.Client, app: dict[str, Any],
                                    hub: HubProcess) -> None:
    form = {**consent_form(client, app), "login": "alice",
            "password": hub.passwords["alice"], "decision": "approve"}
    page = client.post("/oauth/authorize", data=form)
    assert page.status_code == 200
    assert 'class="code"' in page.text or "code" in page.text


def test_signup_form_bad_bodies_are_a_400_page(client: httpx.Client) -> None:
    many = client.post("/invite/abc", data={f"f{i}": "x" for i in range(40)})
    assert many.status_code == 400 and many.headers["content-type"].startswith("text/html")
    assert "formulaire" in many.text
    upload = client.post("/invite/abc", files={"username": ("a.txt", b"x")})
    assert upload.status_code == 400
    english = client.post("/invite/abc", data={f"f{i}": "x" for i in range(40)},
                          headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "form could not be read" in english.text
    odd = client.post("/invite/abc", data={"lang": ["fr", "en"], "username": "é" * 3000})
    assert odd.status_code in (403, 404, 422)  # the invite is unknown: a page saying so


def test_deeply_nested_json_is_a_400(client: httpx.Client, hub: HubProcess) -> None:
    token = client.post("/oauth/token", data={
        "grant_type": "password", "username": "alice", "password": hub.passwords["alice"],
        **{k: v for k, v in client.post("/api/v1/apps", data={
            "client_name": "n", "redirect_uris": OOB, "scopes": "read write"}).json().items()
           if k in ("client_id", "client_secret")}, "scope": "write"}).json()["access_token"]
    for body in (b"[" * 100_000, b'{"a":' * 100_000):
        answer = client.post("/api/v1/statuses", content=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        assert answer.status_code == 400
        assert "error" in answer.json()
