"""Outgoing HTTP: one guarded client for every fetch and delivery.

Only linked or allowed domains are contacted; the resolved address is checked when the
socket connects (and again on every redirect), so a DNS answer pointing at loopback or a
private network is refused unless ``federation.allow_private_addresses`` is on. Every
response has a total deadline and a byte cap, and no remote JSON-LD context is fetched.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from fedi import __version__
from fedi.signatures import sign_request
from fedi.vocab.context import ACCEPT_AP, is_activitypub_media_type
from fedi.vocab.context import AS as AS_CONTEXT  # the ActivityStreams profile IRI

MAX_DOCUMENT_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
USER_AGENT = f"Voisins/{__version__} (+https://voisins.social)"


class RemoteError(Exception):
    """A remote could not be reached or answered something we refuse."""


class DomainNotAllowed(RemoteError):
    """The URL's host is not a linked or allowed hub."""


class AddressNotAllowed(RemoteError):
    """The host resolved to a loopback, private or otherwise reserved address."""


class BadResponse(RemoteError):
    """Wrong status, content type, size, or an id that does not match the URL."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 §2.5.5.1, deprecated


def embedded_ipv4(address: str | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, when it carries one: IPv4-mapped and
    -compatible, NAT64 (well-known and local-use prefixes, last 32 bits), 6to4 (bits 16–48),
    Teredo (the client). A NAT64 or 6to4 gateway turns ``64:ff9b::7f00:1`` into 127.0.0.1,
    while Python calls the IPv6 form global."""
    addr = address if isinstance(address, ipaddress.IPv6Address) else ipaddress.IPv6Address(
        address.split("%", 1)[0])
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in NAT64_WELL_KNOWN or addr in NAT64_LOCAL_USE:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    if addr in IPV4_COMPATIBLE and int(addr) > 1:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def address_is_public(ip: str) -> bool:
    """A global unicast address, judged by the IPv4 address it embeds if it has one."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in NAT64_LOCAL_USE:
            return False  # a network of its own (RFC 8215), never the public Internet
        inner = embedded_ipv4(addr)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return addr.is_global and not addr.is_multicast


def is_activitypub_response_type(value: str) -> bool:
    """``application/activity+json``, or ``application/ld+json`` *with* the ActivityStreams
    profile, as Mastodon's JsonLdHelper requires: a bare ld+json document may be any
    JSON-LD (an uploaded file, say), not an ActivityPub object (CVE-2024-25623)."""
    if not is_activitypub_media_type(value):
        return False
    main, _, params = value.partition(";")
    if main.strip().lower() == "application/activity+json":
        return True
    for param in params.split(";"):
        name, _, arg = param.strip().partition("=")
        if name.strip().lower() == "profile" and AS_CONTEXT in arg.strip().strip('"').split():
            return True
    return False


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself and refuses non-public addresses at connect time."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, allow_private: bool) -> None:
        self._inner = inner
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = [info[4][0] for info in infos]
        if not self._allow_private:
            bad = [a for a in addresses if not address_is_public(a)]
            if bad:
                raise httpcore.ConnectError(f"address {bad[0]} of {host} is not public")
        last: Exception | None = None
        for address in dict.fromkeys(addresses):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for federation")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@dataclass(frozen=True)
class Signer:
    key_id: str
    private_key_pem: str


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


def make_client(
    *, allow_private: bool, ca_bundle: str | None, timeout: float = 10.0
) -> httpx.AsyncClient:
    """An httpx client whose connections pass through the address guard."""
    verify: ssl.SSLContext | bool = True
    if ca_bundle:
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cafile=ca_bundle)
        verify = ctx
    transport = httpx.AsyncHTTPTransport(
        verify=verify, retries=0,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
    )
    pool = transport._pool  # httpcore pool: the only seam for a custom network backend
    pool._network_backend = _GuardedBackend(pool._network_backend, allow_private)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


class Fetcher:
    """Signed GETs and POSTs to allowed hubs, with deadlines and byte caps."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        is_allowed: Callable[[str], bool],
        allow_http: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        deadline: float = 15.0,
    ) -> None:
        self.client = client
        self.is_allowed = is_allowed
        self.allow_http = allow_http
        self.clock = clock
        self.deadline = deadline

    def check_url(self, url: str) -> str:
        """The URL's ``host[:port]`` if we may contact it, else raise."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise DomainNotAllowed(f"{url!r} is not an http(s) URL")
        if parts.scheme == "http" and not self.allow_http:
            raise DomainNotAllowed(f"{url!r}: plain http is not allowed")
        if parts.username or parts.password:
            raise DomainNotAllowed(f"{url!r} carries credentials")
        domain = parts.netloc.lower()
        if not self.is_allowed(domain):
            raise DomainNotAllowed(f"{domain} is not a linked or allowed hub")
        return domain

    async def _read_capped(self, response: httpx.Response, cap: int) -> bytes:
        length = response.headers.get("content-length")
        if length and length.isascii() and length.isdigit() and int(length) > cap:
            raise BadResponse(f"response of {length} bytes is over the {cap}-byte cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise BadResponse(f"response is over the {cap}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    async def get(
        self, url: str, *, signer: Signer | None, accept: str = ACCEPT_AP,
        cap: int = MAX_DOCUMENT_BYTES,
    ) -> FetchResult:
        """GET (signed when a signer is given), following up to 3 checked redirects."""
        try:
            async with asyncio.timeout(self.deadline):
                for _ in range(MAX_REDIRECTS + 1):
                    self.check_url(url)
                    headers = {"Accept": accept}
                    if signer is not None:
                        headers = sign_request(
                            "GET", url, headers=headers, body=None,
                            private_key_pem=signer.private_key_pem, key_id=signer.key_id,
                            now=self.clock(),
                        )
                    request = self.client.build_request("GET", url, headers=headers)
                    response = await self._send_get(request)
                    try:
                        if response.is_redirect:
                            location = response.headers.get("location", "")
                            url = urljoin(url, location)
                            continue
                        body = await self._read_capped(response, cap)
                        return FetchResult(url, response.status_code, response.headers, body)
                    finally:
                        await response.aclose()
                raise BadResponse("too many redirects")
        except TimeoutError:
            raise RemoteError(f"{url} did not answer within {self.deadline} s") from None
        except httpx.HTTPError as exc:
            raise RemoteError(f"{url}: {exc}") from None

    async def _send_get(self, request: httpx.Request) -> httpx.Response:
        """Send a GET; once more on a fresh connection when the server closed a kept-alive
        one just as it was reused ("Server disconnected without sending a response": its
        keep-alive ended, nothing was answered). A GET is safe to send twice."""
        try:
            return await self.client.send(request, stream=True)
        except httpx.RemoteProtocolError:
            return await self.client.send(request, stream=True)

    async def fetch_object(self, url: str, *, signer: Signer | None) -> dict[str, Any]:
        """A remote ActivityPub document whose ``id`` is the URL it was fetched from."""
        result = await self.get(url, signer=signer)
        if result.status != 200:
            reason = result.body[:200].decode("utf-8", "replace")
            raise BadResponse(f"{url} answered {result.status}: {reason}", status=result.status)
        ctype = result.headers.get("content-type", "")
        if not is_activitypub_response_type(ctype):
            raise BadResponse(f"{url} answered content type {ctype!r}, not ActivityPub")
        try:
            doc = json.loads(result.body)
        except ValueError:
            raise BadResponse(f"{url} answered malformed JSON") from None
        except RecursionError:
            # Not a ValueError: without this, a 200 kB document of brackets escapes every
            # caller (a 500 on the inbox key fetch, a traceback in `voisins fetch`).
            raise BadResponse(f"{url} answered JSON nested too deeply") from None
        if not isinstance(doc, dict):
            raise BadResponse(f"{url} answered JSON that is not an object")
        if doc.get("id") != result.url.split("#", 1)[0]:
            raise BadResponse(f"{url}: document id {doc.get('id')!r} is not the URL it came from")
        return doc

    async def post(
        self, url: str, body: bytes, *, signer: Signer, content_type: str = "application/activity+json"
    ) -> FetchResult:
        """A signed POST (a delivery). Redirects are not followed."""
        self.check_url(url)
        headers = sign_request(
            "POST", url, headers={"Content-Type": content_type}, body=body,
            private_key_pem=signer.private_key_pem, key_id=signer.key_id, now=self.clock(),
        )
        try:
            async with asyncio.timeout(self.deadline):
                request = self.client.build_request("POST", url, headers=headers, content=body)
                response = await self.client.send(request, stream=True)
                try:
                    data = await self._read_capped(response, 64 * 1024)
                except BadResponse:
                    data = b""
                finally:
                    await response.aclose()
                return FetchResult(url, response.status_code, response.headers, data)
        except TimeoutError:
            raise RemoteError(f"{url} did not answer within {self.deadline} s") from None
        except httpx.HTTPError as exc:
            raise RemoteError(f"{url}: {exc}") from None
