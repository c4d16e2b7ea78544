"""Write domain events in the caller's transaction (the outbox pattern)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.events import OutboxEvent


def emit(session: Session, topic: str, payload: dict[str, Any]) -> None:
    """Record ``topic`` with ``payload``; it commits or rolls back with the change itself."""
    session.execute(insert(OutboxEvent).values(topic=topic, payload=payload, created_at=utcnow()))
