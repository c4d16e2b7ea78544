"""The outbox, event deliveries, the exchange journal and plugin state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column, ts_column


class OutboxEvent(SQLModel, table=True):
    """A domain event, written in the same transaction as the change it describes."""

    __tablename__ = "outbox_event"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=80, index=True)
    payload: dict[str, Any] = json_column()
    created_at: datetime = created_at()
    relayed_at: datetime | None = ts_column(index=True)


class EventDelivery(SQLModel, table=True):
    """One event to one subscribed plugin; retried with backoff, kept when dead."""

    __tablename__ = "event_delivery"
    __table_args__ = (UniqueConstraint("event_id", "plugin"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="outbox_event.id", index=True)
    plugin: str = Field(max_length=64, index=True)
    status: str = Field(default="pending", max_length=12, index=True)  # pending|queued|done|dead
    attempts: int = 0
    next_attempt_at: datetime | None = ts_column(index=True)
    last_error: str = ""
    delivered_at: datetime | None = ts_column()

    @property
    def idempotency_key(self) -> str:
        return f"evt-{self.event_id}-{self.plugin}"


class JournalEntry(SQLModel, table=True):
    """One hook call or brokered HTTP call of one plugin (redacted, no secrets)."""

    __tablename__ = "journal_entry"

    id: int | None = Field(default=None, primary_key=True)
    plugin: str = Field(max_length=64, index=True)
    hook: str = Field(max_length=80)
    at: datetime = created_at()
    duration_us: int
    outcome: str = Field(max_length=12)  # ok | error | timeout | skipped
    error: str = ""
    detail: dict[str, Any] = json_column()


class PluginState(SQLModel, table=True):
    """Which plugins are enabled, with their (non-secret) settings."""

    __tablename__ = "plugin_state"

    name: str = Field(primary_key=True, max_length=64)
    enabled: bool = False
    settings: dict[str, Any] = json_column()
    version: str = ""
    updated_at: datetime | None = ts_column()


class KernelCounter(SQLModel, table=True):
    """Named counters; ``plugins`` bumps whenever plugin state changes, so every web
    worker notices and reloads without a restart."""

    __tablename__ = "kernel_counter"

    name: str = Field(primary_key=True, max_length=40)
    value: int = 0
