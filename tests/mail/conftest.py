"""The mail tests' real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mail_helpers import Inbox, start_smtp
from support.hubs import free_port


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    port = free_port("127.0.0.1")
    inbox = Inbox()
    controller = start_smtp(port, inbox)
    yield port, inbox
    controller.stop()

