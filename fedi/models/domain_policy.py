"""What an admin decided about another domain: allowed (an allowed server, like
``federation.allowed``) or blocked (nothing in or out, whatever else says)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, UTCDateTime, utcnow

POLICIES = ("allow", "block")


class DomainPolicy(Base):
    """One domain (``host[:port]``, lower-case, matched exactly) and the admin's decision."""

    __tablename__ = "domain_policies"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    policy: Mapped[str] = mapped_column(String(8))  # allow · block
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
