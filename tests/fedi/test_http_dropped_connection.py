"""A server that closes a kept-alive connection just as the hub reuses it (its keep-alive
timeout ended) makes httpx fail with "Server disconnected without sending a response". A
signed GET (a key fetch, an actor) is sent again once on a new connection instead of
failing the activity that needed it."""

from __future__ import annotations

import asyncio
import socket
import threading

from fedi.http import Fetcher, make_client

BODY = b'{"ok": true}'


def serve(listener: socket.socket, hits: list[str]) -> None:
    """First connection: read the request, close without a word. Then answer 200."""
    for index in range(2):
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                request += chunk
            hits.append(request.split(b"\r\n", 1)[0].decode())
            if index == 0:
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (len(BODY), BODY))


def test_a_get_dropped_without_an_answer_is_sent_once_more() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    hits: list[str] = []
    thread = threading.Thread(target=serve, args=(listener, hits), daemon=True)
    thread.start()

    async def fetch() -> int:
        client = make_client(allow_private=True, ca_bundle=None)
        try:
            fetcher = Fetcher(client, is_allowed=lambda _d: True, allow_http=True, deadline=10)
            result = await fetcher.get(f"http://127.0.0.1:{port}/users/a", signer=None)
            assert result.body == BODY
            return result.status
        finally:
            await client.aclose()

    try:
        assert asyncio.run(fetch()) == 200
        assert hits == ["GET /users/a HTTP/1.1"] * 2
    finally:
        listener.close()
        thread.join(timeout=5)
