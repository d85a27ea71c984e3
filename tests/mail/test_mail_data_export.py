"""« Télécharger mes données » and the CSV import between two real linked hubs (``voisins
serve`` on loopback, a real SMTP server): the worker of hub A builds Alice's archive and
mails the link; the archive holds her followers-only post and her event, not her
neighbour's post, and a ``following_accounts.csv`` naming Bob on hub B. Ann imports that
file on A: a Follow goes to hub B and Bob sees her request. A malformed file changes
nothing."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mail_helpers import Inbox, body_of, csrf_of, email_config, link_in, site_login
from support.hubs import HubProcess, wait_for

pytestmark = pytest.mark.multihub



def link_by_config(hub: HubProcess, *others: HubProcess) -> None:
    text = hub.config_path.read_text(encoding="utf-8")
    domains = ", ".join(f'"{o.domain}"' for o in others)
    hub.config_path.write_text(text.replace("neighbours = []", f"neighbours = [{domains}]"),
                               encoding="utf-8")


def token(hub: HubProcess, name: str) -> dict[str, str]:
    app = httpx.post(f"{hub.base}/api/v1/apps", data={
        "client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write follow"}).json()
    answer = httpx.post(f"{hub.base}/oauth/token", data={
        "grant_type": "password", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "username": f"{name}@{hub.host}.test",
        "password": hub.passwords[name], "scope": "read write follow"}).json()
    return {"Authorization": f"Bearer {answer['access_token']}"}


def call(hub: HubProcess, who: dict[str, str], method: str, path: str,
         body: dict[str, Any] | None = None) -> Any:
    answer = httpx.request(method, hub.base + path, json=body, headers=who, timeout=20)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return answer.json()


def form_post(client: httpx.Client, page: str, action: str, **kw: Any) -> httpx.Response:
    opened = client.get(page)
    assert opened.status_code == 200, opened.text[:300]
    data = {**kw.pop("data", {}), "csrf_token": csrf_of(opened)}
    return client.post(action, data=data, **kw)


def test_export_and_import_between_linked_hubs(make_hub: Callable[..., HubProcess],
                                               db_backend: str,
                                               smtp: tuple[int, Inbox]) -> None:
    port, inbox = smtp
    a = make_hub("exa", backend=db_backend, extra_config=email_config(port))
    b = make_hub("exb")
    link_by_config(a, b)
    link_by_config(b, a)
    for name in ("alice", "ann"):
        a.add_user(name)
    b.add_user("bob")
    a.start()
    b.start()
    alice, ann, bob = token(a, "alice"), token(a, "ann"), token(b, "bob")

    # Alice follows Bob on hub B (he approves), posts to her followers, plans an event.
    found = httpx.get(f"{a.base}/api/v2/search", headers=alice, timeout=20, params={
        "q": f"bob@{b.domain}", "resolve": "true", "type": "accounts"}).json()
    bob_on_a = found["accounts"][0]["id"]
    call(a, alice, "POST", f"/api/v1/accounts/{bob_on_a}/follow")
    requests = wait_for(lambda: call(b, bob, "GET", "/api/v1/follow_requests"),
                        what="Alice's follow request on B")
    call(b, bob, "POST", f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    wait_for(lambda: httpx.get(f"{a.base}/api/v1/accounts/relationships", headers=alice,
                               params={"id[]": bob_on_a}).json()[0]["following"],
             what="the follow accepted")
    call(a, alice, "POST", "/api/v1/statuses", {"status": "seulement pour mes abonnés",
                                                "visibility": "private"})
    call(a, ann, "POST", "/api/v1/statuses", {"status": "le message d'Ann",
                                              "visibility": "public"})
    call(a, alice, "POST", "/api/v1/events", {
        "title": "Apéro de la rue", "description": "Chez **Alice**.",
        "start_time": "2026-12-17T19:00", "end_time": "2026-12-17T22:00",
        "place": {"name": "Atelier", "postal_code": "75011", "locality": "Paris"},
        "visibility": "public"})

    with httpx.Client(base_url=a.base) as browser:
        assert site_login(browser, "alice", a.passwords["alice"]).status_code == 303
        asked = form_post(browser, "/settings/export", "/settings/export")
        assert asked.status_code == 303
        mail = wait_for(lambda: [m for m in inbox.to(f"alice@{a.host}.test")
                                 if "/export/" in body_of(m)], timeout=60,
                        what="the archive's mail")[0]
        assert mail["Subject"] == "Votre archive de exa est prête"
        again = form_post(browser, "/settings/export", "/settings/export")
        assert again.status_code == 429
    link = link_in(mail, "/export/")
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(link).content))
    outbox = json.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection"
    text = json.dumps(outbox, ensure_ascii=False)
    assert "seulement pour mes abonnés" in text and "le message d'Ann" not in text
    assert [e["name"] for e in json.loads(archive.read("events.json"))] == ["Apéro de la rue"]
    following = archive.read("following_accounts.csv")
    rows = list(csv.reader(io.StringIO(following.decode())))
    assert rows[1][0] == f"bob@{b.domain}"

    # Ann imports Alice's file: her Follow reaches hub B.
    with httpx.Client(base_url=a.base) as browser:
        assert site_login(browser, "ann", a.passwords["ann"]).status_code == 303
        bad = form_post(browser, "/settings/import", "/settings/import",
                        data={"kind": "following"},
                        files={"file": ("x.csv", b"Account address\nnot-an-address\n")})
        assert bad.status_code == 422 and "Ligne 2" in bad.text
        done = form_post(browser, "/settings/import", "/settings/import",
                         data={"kind": "following"},
                         files={"file": ("following_accounts.csv", following, "text/csv")})
        assert done.status_code == 200 and "envoyées : 1" in done.text, done.text[-1500:]
    wait_for(lambda: [r for r in call(b, bob, "GET", "/api/v1/follow_requests")
                      if r["username"] == "ann"], timeout=60, what="Ann's request on B")
