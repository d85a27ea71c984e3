"""SSRF and redirect smuggling on outgoing fetches. Catalogue rows 4 and 12 of
security-and-performance.md (Akkoma 8684964c, mei23/misskey #4849; w3c/activitypub #451,
owncast #5121, Lemmy GHSA-c482-7gjx-pp36, Mastodon ``check_private_address``).

The address guard of ``fedi.http`` is exercised in-process with
``federation.allow_private_addresses`` off, as in production. Public names are simulated:
the event loop's resolver answers from a table (``peer.example`` → a public address), and
the connection to that public address is routed to a hostile remote on loopback. Nothing
leaves the machine: any other public address is refused by the router itself.

The last tests use a real hub: it never contacts a host it does not list, neither by
following a redirect nor because a signature names a key there.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpcore
import pytest
from support.hostile import HostileRemote, create_note, inbox_item, member_uri, start_hub

from fedi.http import BadResponse, DomainNotAllowed, Fetcher, RemoteError, make_client

PUBLIC_PEER = "1.2.3.4"  # a global address; only ever "reached" through the router below
PUBLIC_STRANGER = "1.2.3.5"


class ResolverLoop(asyncio.SelectorEventLoop):
    """An event loop whose getaddrinfo answers names from a table (a fake DNS)."""

    def __init__(self, table: dict[str, str]) -> None:
        super().__init__()
        self.table = table

    async def getaddrinfo(self, host: Any, port: Any, *, family: int = 0, type: int = 0,
                          proto: int = 0, flags: int = 0) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name in self.table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (self.table[name], port))]
        if isinstance(name, str) and name.endswith(".example"):
            raise socket.gaierror(socket.EAI_NONAME, f"{name} is not in the test table")
        return await super().getaddrinfo(host, port, family=family, type=type, proto=proto,
                                         flags=flags)


class Router(httpcore.AsyncNetworkBackend):
    """Connects the fake public addresses to loopback remotes; refuses every other
    non-loopback address so that a test can never reach the real network."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, routes: dict[str, str]) -> None:
        self.inner = inner
        self.routes = routes
        self.connected: list[str] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        self.connected.append(host)
        target = self.routes.get(host, host)
        if not target.startswith("127."):
            raise httpcore.ConnectError(f"test router: {host} is not routed")
        return await self.inner.connect_tcp(target, port, timeout=timeout,
                                            local_address=local_address,
                                            socket_options=socket_options)

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> Any:
        raise httpcore.ConnectError("no unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@pytest.fixture(scope="module")
def remotes() -> Iterator[SimpleNamespace]:
    with HostileRemote() as peer, HostileRemote() as stranger:
        yield SimpleNamespace(peer=peer, stranger=stranger)


def run_fetch(remotes: SimpleNamespace, url: str, *, allowed: Callable[[str], bool] | None = None,
              allow_private: bool = False, deadline: float = 5.0) -> tuple[Any, list[str]]:
    """``Fetcher.fetch_object(url)`` with private addresses off; returns (result or the
    exception raised, addresses the client tried to connect to)."""
    peer, stranger = remotes.peer, remotes.stranger
    table = {"peer.example": PUBLIC_PEER, "stranger.example": PUBLIC_STRANGER,
             "internal.example": peer.host, "metadata.example": "169.254.169.254"}

    async def go() -> tuple[Any, list[str]]:
        client = make_client(allow_private=allow_private, ca_bundle=None)
        guard = client._transport._pool._network_backend  # type: ignore[attr-defined]
        router = Router(guard._inner, {PUBLIC_PEER: peer.host, PUBLIC_STRANGER: stranger.host})
        guard._inner = router
        fetcher = Fetcher(client, is_allowed=allowed or (lambda _domain: True),
                          allow_http=True, deadline=deadline)
        try:
            return await fetcher.fetch_object(url, signer=None), router.connected
        except RemoteError as exc:
            return exc, router.connected
        finally:
            await client.aclose()

    with asyncio.Runner(loop_factory=lambda: ResolverLoop(table)) as runner:
        return runner.run(go())


def serve_note(remote: HostileRemote, path: str, url: str | None = None) -> dict[str, Any]:
    doc = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Note",
           "id": url or remote.url(path), "content": "hello"}
    remote.serve_json(path, doc)
    return doc


def test_public_name__fetched(remotes: SimpleNamespace) -> None:
    """The control: a public name, routed to the peer, is fetched with the guard on."""
    url = f"http://peer.example:{remotes.peer.port}/notes/ok"
    serve_note(remotes.peer, "/notes/ok", url)
    doc, connected = run_fetch(remotes, url)
    assert isinstance(doc, dict) and doc["id"] == url
    assert connected == [PUBLIC_PEER]


@pytest.mark.parametrize("host", ["{peer}", "127.0.0.1", "10.0.0.7", "169.254.169.254",
                                  "[::1]", "2130706433", "0x7f.0.0.1", "internal.example",
                                  "metadata.example"])
def test_private_address__refused_at_connect(remotes: SimpleNamespace, host: str) -> None:
    """Loopback, private, link-local (cloud metadata), IPv6 loopback, decimal and hex
    spellings of 127.0.0.1, and names resolving to those: refused before connecting."""
    host = host.format(peer=remotes.peer.host)
    path = f"/private/{abs(hash(host))}"
    serve_note(remotes.peer, path)
    before = remotes.peer.count(path)
    result, connected = run_fetch(remotes, f"http://{host}:{remotes.peer.port}{path}")
    assert isinstance(result, RemoteError), result
    assert "not public" in str(result)
    assert connected == []
    assert remotes.peer.count(path) == before


def test_private_address__reached_when_allowed(remotes: SimpleNamespace) -> None:
    """The control for the test above: with private addresses allowed, the same URL works,
    so the refusal really is the address guard's."""
    path = "/private/allowed"
    doc = serve_note(remotes.peer, path)
    result, _connected = run_fetch(remotes, doc["id"], allow_private=True)
    assert isinstance(result, dict) and result["id"] == doc["id"]


@pytest.mark.parametrize("target", ["{peer_host}", "internal.example", "metadata.example"])
def test_public_url_redirecting_to_private__refused(remotes: SimpleNamespace,
                                                     target: str) -> None:
    """A public URL answering 302 → a private address (or a name resolving to one): the
    redirect hop is checked like the first one, and the private target is never hit."""
    peer = remotes.peer
    target = target.format(peer_host=peer.host)
    start, secret = f"/start/{abs(hash(target))}", f"/secret/{abs(hash(target))}"
    serve_note(peer, secret)
    peer.redirect(start, f"http://{target}:{peer.port}{secret}")
    result, connected = run_fetch(remotes, f"http://peer.example:{peer.port}{start}")
    assert isinstance(result, RemoteError), result
    assert "not public" in str(result)
    assert connected == [PUBLIC_PEER]
    assert peer.count(start) == 1
    assert peer.count(secret) == 0


def test_redirect_to_host_not_allowed__refused(remotes: SimpleNamespace) -> None:
    """A redirect to a host that is not linked or allowed is refused before connecting."""
    peer, stranger = remotes.peer, remotes.stranger
    serve_note(stranger, "/landing")
    peer.redirect("/to-stranger", f"http://stranger.example:{stranger.port}/landing")
    allowed = {f"peer.example:{peer.port}"}
    result, connected = run_fetch(remotes, f"http://peer.example:{peer.port}/to-stranger",
                                  allowed=lambda d: d in allowed)
    assert isinstance(result, DomainNotAllowed), result
    assert connected == [PUBLIC_PEER]
    assert stranger.count("/landing") == 0


@pytest.mark.parametrize("claimed", ["first URL", "final URL"])
def test_redirect__id_must_be_final_url(remotes: SimpleNamespace, claimed: str) -> None:
    """Row 4: after GET A → 302 → B the body's id must be B. Claiming A is refused."""
    peer = remotes.peer
    first = f"http://peer.example:{peer.port}/hop/{claimed.split()[0]}"
    final = f"http://peer.example:{peer.port}/land/{claimed.split()[0]}"
    peer.redirect(first.split(str(peer.port), 1)[1], final)
    serve_note(peer, final.split(str(peer.port), 1)[1], first if claimed == "first URL" else final)
    result, _connected = run_fetch(remotes, first)
    if claimed == "final URL":
        assert isinstance(result, dict) and result["id"] == final
    else:
        assert isinstance(result, BadResponse), result
        assert "is not the URL it came from" in str(result)


def test_redirect_loop__bounded(remotes: SimpleNamespace) -> None:
    peer = remotes.peer
    peer.redirect("/loop", f"http://peer.example:{peer.port}/loop")
    before = peer.count("/loop")
    result, _connected = run_fetch(remotes, f"http://peer.example:{peer.port}/loop")
    assert isinstance(result, BadResponse) and "too many redirects" in str(result)
    assert peer.count("/loop") - before == 4  # the first request and three redirects


# --- the same rules on a real hub -----------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, remotes: SimpleNamespace) -> Iterator[Any]:
    hub = start_hub(tmp_path_factory.mktemp("ssrf"), "ssrf", users=["alice"],
                    allow=[remotes.peer.domain])
    try:
        yield hub
    finally:
        hub.stop()


def test_hub_fetch__redirect_to_unlisted_host_refused(hub: Any, remotes: SimpleNamespace) -> None:
    """``voisins fetch`` of a linked peer's URL that redirects to an unlisted host: refused
    with a reason, the unlisted host never contacted."""
    peer, stranger = remotes.peer, remotes.stranger
    serve_note(stranger, "/hub-landing")
    peer.redirect("/hub-hop", stranger.url("/hub-landing"))
    result = hub.cli("fetch", peer.url("/hub-hop"), check=False)
    assert result.returncode == 2, result.stdout
    assert "not a linked or allowed hub" in result.stderr
    assert peer.count("/hub-hop") == 1
    assert stranger.count("/hub-landing") == 0


def test_hub_inbox__keyid_on_unlisted_host_never_fetched(hub: Any,
                                                        remotes: SimpleNamespace) -> None:
    """Row 12 (owncast #5121): a signature naming a key on an unlisted host gets 403 before
    anything is fetched from that host; an unsigned POST gets 401 and fetches nothing."""
    stranger = remotes.stranger
    mallory = stranger.add_actor("ssrf-mallory")
    alice = member_uri(hub, "alice")
    doc = create_note(mallory, to=[alice], mentions=[alice])
    response = stranger.post(f"{hub.base}/inbox", doc, mallory)
    assert response.status_code == 403, response.text
    unsigned = stranger.send("POST", f"{hub.base}/inbox",
                             {"Content-Type": "application/activity+json"},
                             b'{"type": "Create"}')
    assert unsigned.status_code == 401
    assert stranger.count(mallory.path) == 0
    assert stranger.count(method="GET") == stranger.count("/hub-landing", "GET")
    assert inbox_item(hub, doc["id"]) is None
