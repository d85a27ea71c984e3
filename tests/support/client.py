"""A member's Mastodon-API client on a real hub: an app, a password-grant token, and the
few calls the security tests read through (as an app does, over HTTP)."""

from __future__ import annotations

from typing import Any

import httpx
from support.hubs import HubProcess, wait_for


class MemberClient:
    def __init__(self, hub: HubProcess, username: str) -> None:
        self.hub = hub
        self.base = hub.base
        self._http = httpx.Client(base_url=hub.base, timeout=15)
        app = self._http.post("/api/v1/apps", data={
            "client_name": "security-tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write follow"}).json()
        token = self._http.post("/oauth/token", data={
            "grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": f"{username}@{hub.host}.test",
            "password": hub.passwords[username], "scope": "read write follow"}).json()
        self._http.headers["Authorization"] = f"Bearer {token['access_token']}"

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._http.request(method, path, **kwargs)

    def get(self, path: str, **params: Any) -> Any:
        response = self._http.get(path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def put(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.put(path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def tagged(self, name: str) -> list[str]:
        """URIs of the statuses on a hashtag's timeline."""
        return [s["uri"] for s in self.get(f"/api/v1/timelines/tag/{name}", limit=40)]

    def home_status(self, uri: str) -> dict[str, Any]:
        """The status entity of ``uri`` as the member's home timeline shows it (waits for
        it to arrive there)."""
        def find() -> dict[str, Any] | None:
            for entity in self.get("/api/v1/timelines/home", limit=40):
                if entity["uri"] == uri:
                    return entity
            return None

        return wait_for(find, timeout=15, what=f"{uri} in the home timeline")
