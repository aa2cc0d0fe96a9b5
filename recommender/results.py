"""What the facade's methods return: plain records, each with its JSON form.

They hold data only: computing them is the facade's and the engines' business.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recommender.store.models import Digest


# -- composing and delivering


@dataclass(frozen=True)
class ComposeOutcome:
    """What composing one subscriber's digest did."""

    email: str
    status: str  # recorded, nothing new, already recorded or unsubscribed
    digest_id: int | None = None
    papers: int = 0
    subject: str | None = None
    message: bytes | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, object]:
        return {
            "email": self.email,
            "status": self.status,
            "digest_id": self.digest_id,
            "papers": self.papers,
            "subject": self.subject,
        }


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did."""

    digest_id: int
    email: str
    subject: str
    state: str  # sent, failed (retried later) or undeliverable
    attempts: int
    error: str | None
    retry_at: datetime | None
    where: str | None

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["retry_at"] = self.retry_at.isoformat() if self.retry_at else None
        return data


@dataclass(frozen=True)
class SendReport:
    composed: list[ComposeOutcome]
    delivered: list[DeliveryOutcome]

    def to_dict(self) -> dict[str, object]:
        return {
            "composed": [c.to_dict() for c in self.composed],
            "delivered": [d.to_dict() for d in self.delivered],
        }


@dataclass(frozen=True)
class OutboxEntry:
    digest_id: int
    email: str
    subject: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    sent_at: datetime | None = None

    @classmethod
    def of(cls, digest: Digest, address: str) -> OutboxEntry:
        return cls(
            digest.id,
            address,
            digest.subject,
            digest.state,
            digest.attempts,
            digest.created_at,
            digest.next_attempt_at if digest.state in ("pending", "failed") else None,
            digest.last_error,
            digest.sent_at if digest.state == "sent" else None,
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for name in ("created_at", "next_attempt_at", "sent_at"):
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        return data
