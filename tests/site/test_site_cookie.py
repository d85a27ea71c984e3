"""The session cookie's attributes: HttpOnly and SameSite=Lax always, Secure on https hubs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.responses import Response

from fedi.web.session import COOKIE, set_cookie


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
def test_cookie_attributes(scheme: str, secure: bool) -> None:
    hub = SimpleNamespace(settings=SimpleNamespace(scheme=scheme))
    response = Response()
    set_cookie(hub, response, "token-value")  # type: ignore[arg-type]
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=token-value;")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert ("Secure" in header) is secure
