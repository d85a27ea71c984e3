"""One signed POST of one activity to one inbox, with every remote problem turned into data.

The worker decides what to do next from the outcome (outbox.retry.decide); nothing a remote
does (refuse the connection, time out, answer 500, answer garbage) raises out of here.
"""

from __future__ import annotations

from dataclasses import dataclass

from fedi.http import DomainNotAllowed, Fetcher, RemoteError, Signer
from fedi.keys import KeyFormatError
from fedi.models import Delivery

# What we keep of a refusal body for the operator: enough for "Invalid signature" or a
# Mastodon error JSON, not a whole HTML error page.
MAX_ERROR_BODY = 200


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one attempt got: an HTTP status, or none and an error; Retry-After as sent."""

    status: int | None
    retry_after: str | None = None
    error: str | None = None
    # The URL was refused before anything was sent (host not allowed, plain http, …).
    refused: bool = False

    @property
    def ok(self) -> bool:
        """Whether the remote accepted the activity (any 2xx)."""
        return self.status is not None and 200 <= self.status < 300


async def deliver(
    fetcher: Fetcher, delivery: Delivery, activity_payload_bytes: bytes, signer: Signer
) -> DeliveryOutcome:
    """POST the activity to the delivery's inbox, signed afresh; classify what happened."""
    try:
        result = await fetcher.post(delivery.inbox_url, activity_payload_bytes, signer=signer)
    except DomainNotAllowed as exc:
        return DeliveryOutcome(status=None, error=str(exc), refused=True)
    except RemoteError as exc:
        # DNS, refused connection, TLS, reset, deadline: no answer, the host may come back.
        return DeliveryOutcome(status=None, error=str(exc) or type(exc).__name__)
    except KeyFormatError as exc:
        # Our own key is unusable: not the remote's fault, and nothing was sent. Keep the row
        # retrying (status None) so fixing the key lets it through, and say why.
        return DeliveryOutcome(status=None, error=f"cannot sign with {signer.key_id}: {exc}")
    error = None
    if result.status >= 300:
        error = result.body[:MAX_ERROR_BODY].decode("utf-8", "replace").strip() or None
    return DeliveryOutcome(
        status=result.status, retry_after=result.headers.get("retry-after"), error=error
    )
