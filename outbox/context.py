"""What publishing needs to know about the hub, passed in explicitly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from fedi.config import Settings
from fedi.ids import Urls


@dataclass(frozen=True)
class PublishContext:
    settings: Settings
    urls: Urls
    is_allowed: Callable[[str], bool]
    linked_domains: Callable[[], frozenset[str]]
    wake: Callable[[], None] = field(default=lambda: None)

    def members_collection(self, domain: str) -> str:
        """The ``members`` collection of a hub: this one's, or a linked hub's."""
        if domain == self.settings.domain:
            return self.urls.members
        return f"{self.settings.scheme}://{domain}/members"
