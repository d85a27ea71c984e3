"""Empty but valid answers, so that apps do not crash on what this hub does not do
(filters, custom emojis, trends, suggestions, followed tags, media,
push), plus tags."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError, not_found, unprocessable
from fedi.api.features import stub
from fedi.convert.model_to_api import tag
from fedi.vocab.safety import hashtag_name

# A 1×1 transparent PNG: the avatar and header of every account.
MISSING_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


async def empty(call: Call) -> Any:
    return []


async def empty_object(call: Call) -> Any:
    return {}


@stub
async def unsupported(call: Call) -> Any:
    raise unprocessable("This hub does not support this yet")


@stub
async def no_record(call: Call) -> Any:
    raise not_found()


async def get_tag(call: Call) -> Any:
    name = hashtag_name(call.request.path_params["name"])
    if name is None:
        raise not_found()
    return {"id": tag_id(name), **tag(name, base=call.hub.urls.base)}


def tag_id(name: str) -> str:
    """A stable numeric id for a hashtag (hashtags are names here, not rows)."""
    return str(int.from_bytes(hashlib.sha256(name.lower().encode()).digest()[:7], "big"))


async def missing_png(request: Request) -> Response:
    return Response(MISSING_PNG, media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


async def streaming_health(request: Request) -> Response:
    return PlainTextResponse("OK")


@stub
async def streaming(call: Call) -> Any:
    raise ApiError(404, "Streaming is not available on this hub yet")


read = endpoint("read", body=False)
token = endpoint(auth="token", body=False)
routes = [
    Route("/api/v1/filters", endpoint("read:filters", body=False)(empty), methods=["GET"]),
    Route("/api/v2/filters", endpoint("read:filters", body=False)(empty), methods=["GET"]),
    Route("/api/v1/filters", endpoint("write:filters")(unsupported), methods=["POST"]),
    Route("/api/v2/filters", endpoint("write:filters")(unsupported), methods=["POST"]),
    Route("/api/v1/custom_emojis", endpoint(auth="optional", body=False)(empty)),
    Route("/api/v1/trends", read(empty)),
    Route("/api/v1/trends/tags", read(empty)),
    Route("/api/v1/trends/statuses", read(empty)),
    Route("/api/v1/trends/links", read(empty)),
    Route("/api/v1/suggestions", read(empty)),
    Route("/api/v2/suggestions", read(empty)),
    Route("/api/v1/followed_tags", endpoint("read:follows", body=False)(empty)),
    Route("/api/v1/featured_tags", endpoint("read:accounts", body=False)(empty)),
    Route("/api/v1/featured_tags/suggestions", endpoint("read:accounts", body=False)(empty)),
    Route("/api/v1/scheduled_statuses", endpoint("read:statuses", body=False)(empty)),
    Route("/api/v1/domain_blocks", endpoint("read:blocks", body=False)(empty), methods=["GET"]),
    Route("/api/v1/endorsements", endpoint("read:accounts", body=False)(empty)),
    Route("/api/v1/tags/{name}", read(get_tag)),
    # Mastodon answers 404 for a link that is not trending; nothing trends here.
    Route("/api/v1/timelines/link", read(no_record)),
    Route("/api/v1/media", endpoint("write:media")(unsupported), methods=["POST"]),
    Route("/api/v2/media", endpoint("write:media")(unsupported), methods=["POST"]),
    Route("/api/v1/media/{id}", endpoint("write:media")(no_record), methods=["GET", "PUT"]),
    Route("/api/v1/push/subscription", endpoint("push")(no_record),
          methods=["GET", "POST", "PUT", "DELETE"]),
    Route("/api/v1/streaming/health", streaming_health),
    Route("/api/v1/streaming", token(streaming)),
    Route("/media/missing.png", missing_png),
]
