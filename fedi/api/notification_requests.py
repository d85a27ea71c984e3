"""Filtered notifications (Mastodon 4.3): the notification policy and notification requests.
This hub filters no notification (an account one does not know cannot reach a member
without a linked hub or a follow), so the policy accepts everything and there is never a
request: the documented empty answers, routed before ``/notifications/{id}``."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import not_found, unprocessable

POLICY_V2_KEYS = ("for_not_following", "for_not_followers", "for_new_accounts",
                  "for_private_mentions", "for_limited_accounts")
POLICY_V1_KEYS = ("filter_not_following", "filter_not_followers", "filter_new_accounts",
                  "filter_private_mentions")
SUMMARY = {"pending_requests_count": 0, "pending_notifications_count": 0}


def _policy_v2() -> dict[str, Any]:
    return {**{k: "accept" for k in POLICY_V2_KEYS}, "summary": dict(SUMMARY)}


def _policy_v1() -> dict[str, Any]:
    return {**{k: False for k in POLICY_V1_KEYS}, "summary": dict(SUMMARY)}


async def get_policy_v2(call: Call) -> Any:
    return _policy_v2()


async def get_policy_v1(call: Call) -> Any:
    return _policy_v1()


async def update_policy_v2(call: Call) -> Any:
    for key in POLICY_V2_KEYS:
        if not call.params.has(key):
            continue
        value = call.params.str(key, "", max_len=16)
        if value not in ("accept", "filter", "drop"):
            raise unprocessable(f"{key} must be accept, filter or drop")
        if value != "accept":
            raise unprocessable("This hub does not filter notifications.")
    return _policy_v2()


async def update_policy_v1(call: Call) -> Any:
    for key in POLICY_V1_KEYS:
        if call.params.has(key) and call.params.bool(key):
            raise unprocessable("This hub does not filter notifications.")
    return _policy_v1()


async def no_requests(call: Call) -> Any:
    return []


async def no_request(call: Call) -> Any:
    call.path_id()
    raise not_found()


async def done(call: Call) -> Any:
    call.params.id_list("id")
    return {}


async def merged(call: Call) -> Any:
    return {"merged": True}


read = endpoint("read:notifications", body=False)
write = endpoint("write:notifications")
routes = [
    Route("/api/v1/notifications/policy", read(get_policy_v1), methods=["GET"]),
    Route("/api/v1/notifications/policy", write(update_policy_v1), methods=["PUT", "PATCH"]),
    Route("/api/v2/notifications/policy", read(get_policy_v2), methods=["GET"]),
    Route("/api/v2/notifications/policy", write(update_policy_v2), methods=["PUT", "PATCH"]),
    Route("/api/v1/notifications/requests", read(no_requests)),
    Route("/api/v1/notifications/requests/merged", read(merged)),
    Route("/api/v1/notifications/requests/accept", write(done), methods=["POST"]),
    Route("/api/v1/notifications/requests/dismiss", write(done), methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}", read(no_request)),
    Route("/api/v1/notifications/requests/{id}/accept", write(no_request), methods=["POST"]),
    Route("/api/v1/notifications/requests/{id}/dismiss", write(no_request), methods=["POST"]),
]
