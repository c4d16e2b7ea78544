"""Write domain events in the caller's transaction (the outbox pattern)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.events import OutboxEvent


_INSERT = insert(OutboxEvent)


def emit(session: Any, topic: str, payload: dict[str, Any]) -> None:
    """Record ``topic`` with ``payload``; it commits or rolls back with the change itself.
    ``session`` may be a Session or a Connection (same transaction either way)."""
    session.execute(_INSERT, {"topic": topic, "payload": payload, "created_at": utcnow()})
