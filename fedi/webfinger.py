"""WebFinger client: ``user@host`` → the actor URL that host publishes for it."""

from __future__ import annotations

import json
from urllib.parse import quote

from fedi.http import BadResponse, Fetcher
from fedi.vocab.context import is_activitypub_media_type


async def lookup(fetcher: Fetcher, handle: str, *, scheme: str = "https") -> str:
    """The ``self`` link of ``acct:user@host`` (a linked or allowed host only)."""
    handle = handle.removeprefix("acct:").lstrip("@")
    if handle.count("@") != 1:
        raise BadResponse(f"{handle!r} is not user@host")
    _, host = handle.split("@")
    url = f"{scheme}://{host}/.well-known/webfinger?resource={quote('acct:' + handle, safe=':@')}"
    result = await fetcher.get(url, signer=None, accept="application/jrd+json",
                               cap=64 * 1024)
    if result.status != 200:
        raise BadResponse(f"WebFinger for {handle} answered {result.status}", status=result.status)
    try:
        doc = json.loads(result.body)
    except ValueError:
        raise BadResponse("WebFinger answered malformed JSON") from None
    except RecursionError:  # json gives up past ~1,000 levels: a hostile answer, refused
        raise BadResponse("WebFinger answered JSON nested too deeply") from None
    links = doc.get("links") if isinstance(doc, dict) else None
    for link in links or []:
        if (isinstance(link, dict) and link.get("rel") == "self"
                and is_activitypub_media_type(str(link.get("type", "")))
                and isinstance(link.get("href"), str)):
            return link["href"]
    raise BadResponse(f"WebFinger for {handle} has no ActivityPub self link")
