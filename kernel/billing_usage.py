"""Usage reporting for metered plugins: the kernel side of usage-based pricing.

A plugin whose grant holds ``usage:write`` reports what it used (a label bought, a
message sent) with an idempotency key of its choosing — the same key on every retry::

    ctx.extras["usage"].report("label", 1, idempotency_key=f"label-{shipment_id}")

:func:`report_usage` stores the record in the ``usage_outbox`` table (unique per plugin
and key, so a plugin retrying never stores twice), in the shop's own database, without
any network call. :func:`forward_usage` — a plain job function, run by
``comptoir billing forward-usage`` or enqueued as
``comptoir.kernel.billing_usage:forward_usage`` — posts pending records to the
marketplace's ``POST /api/v1/billing/usage`` with the same key in ``Idempotency-Key``:
the marketplace stores a key once, so a forward retried after a timeout never charges
twice. Failed posts back off and are retried; the shop's billing token is never logged
or stored in an error.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, DateTime, UniqueConstraint, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, SQLModel

from comptoir.kernel.db import transaction
from comptoir.kernel.errors import ScopeDenied, ValidationFailed

if TYPE_CHECKING:
    from comptoir.kernel.plugins import PluginRecord
    from comptoir.kernel.context import PluginContext
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.billing")
RIGHT = "usage:write"
MAX_ATTEMPTS = 12
BACKOFF_S = (5, 30, 120, 600, 1800, 3600)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class UsageOutbox(SQLModel, table=True):
    """A usage record waiting to reach the marketplace (``sent_at`` set once it has)."""

    __tablename__ = "usage_outbox"
    __table_args__ = (UniqueConstraint("plugin", "idempotency_key", name="uq_usage_outbox_key"),)
    id: int | None = Field(default=None, primary_key=True)
    plugin: str = Field(max_length=64)
    unit: str = Field(max_length=32)
    quantity: int
    idempotency_key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=_now, sa_column=Column(DateTime(timezone=True), nullable=False))
    next_attempt_at: datetime = Field(default_factory=_now,
                                      sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), index=True))
    attempts: int = 0
    last_error: str = Field(default="", max_length=300)


def report_usage(kernel: "Kernel", plugin: str, unit: str, quantity: int, idempotency_key: str) -> bool:
    """Record that ``plugin`` used ``quantity`` ``unit`` (e.g. 1 label).

    Requires the ``usage:write`` right (:class:`ScopeDenied` otherwise). Returns True when
    stored, False when this plugin already reported ``idempotency_key`` (a retry).
    """
    if not kernel.host.rights.allowed(plugin, RIGHT):
        raise ScopeDenied(plugin, RIGHT)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity <= 10**9:
        raise ValidationFailed(f"{plugin}: usage quantity must be a positive integer, got {quantity!r}",
                               field="quantity")
    if not isinstance(unit, str) or not 0 < len(unit) <= 32:
        raise ValidationFailed(f"{plugin}: usage unit must be 1-32 characters such as 'label'", field="unit")
    if not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 200:
        raise ValidationFailed(f"{plugin}: idempotency_key must be 1-200 characters, the same on every retry",
                               field="idempotency_key")
    now = _now()
    ins = sqlite_insert(UsageOutbox) if kernel.engine.dialect.name == "sqlite" else pg_insert(UsageOutbox)
    stmt = (ins.values(plugin=plugin, unit=unit, quantity=quantity, idempotency_key=idempotency_key,
                       created_at=now, next_attempt_at=now, attempts=0, last_error="")
            .on_conflict_do_nothing(index_elements=["plugin", "idempotency_key"])
            .returning(UsageOutbox.__table__.c.id))  # type: ignore[attr-defined]
    with transaction(kernel.factory) as s:
        created = s.connection().execute(stmt).first() is not None
    return created


class UsageReporter:
    """What a plugin gets as ``ctx.extras["usage"]``: :meth:`report` bound to that plugin."""

    def __init__(self, kernel: "Kernel", plugin: str) -> None:
        self._kernel = kernel
        self._plugin = plugin

    def report(self, unit: str, quantity: int = 1, *, idempotency_key: str) -> bool:
        """Report usage; True when new, False for a key already reported."""
        return report_usage(self._kernel, self._plugin, unit, quantity, idempotency_key)


def _config(kernel: "Kernel") -> tuple[str, str]:
    conf = kernel.services.get("billing_usage", {})
    url = conf.get("url") or os.environ.get("COMPTOIR_MARKETPLACE_URL", "")
    token = conf.get("token") or os.environ.get("COMPTOIR_BILLING_TOKEN", "")
    return url.rstrip("/"), token


def forward_usage(kernel: "Kernel", *, client: Any = None, batch: int = 200) -> dict[str, int]:
    """Post due usage records to the marketplace. Returns counts: sent, failed, pending.

    Each record keeps its idempotency key, so posting one twice (a crash between the
    marketplace's answer and our update) is harmless: the marketplace answers 200 and
    stores nothing. Network errors and 5xx back off; 4xx other than 408/429 are kept
    with their reason and stop after ``MAX_ATTEMPTS``.
    """
    import httpx

    url, token = _config(kernel)
    if not url or not token:
        raise ValidationFailed("set COMPTOIR_MARKETPLACE_URL and COMPTOIR_BILLING_TOKEN (the shop's billing "
                               "token from POST /api/v1/billing/shops) to forward usage")
    now = _now()
    with kernel.factory() as s:
        due = list(s.scalars(select(UsageOutbox).where(UsageOutbox.sent_at.is_(None),  # type: ignore[union-attr]
                                                       UsageOutbox.attempts < MAX_ATTEMPTS,
                                                       UsageOutbox.next_attempt_at <= now)
                             .order_by(UsageOutbox.id).limit(batch)))  # type: ignore[arg-type]
    own = client is None
    http = client or httpx.Client(timeout=10.0)
    sent = failed = 0
    try:
        for rec in due:
            body = {"plugin": rec.plugin, "unit": rec.unit, "quantity": rec.quantity,
                    "idempotency_key": rec.idempotency_key}
            error = ""
            try:
                r = http.post(f"{url}/api/v1/billing/usage", json=body,
                              headers={"Authorization": f"Bearer {token}", "Idempotency-Key": rec.idempotency_key})
                if r.status_code not in (200, 201):
                    error = f"HTTP {r.status_code}: {_detail(r)}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: cannot reach the marketplace"
            with transaction(kernel.factory) as s:
                if not error:
                    s.execute(update(UsageOutbox).where(UsageOutbox.id == rec.id).values(sent_at=_now(), last_error=""))
                    sent += 1
                else:
                    attempts = rec.attempts + 1
                    wait = BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1]
                    s.execute(update(UsageOutbox).where(UsageOutbox.id == rec.id).values(
                        attempts=attempts, last_error=error[:300], next_attempt_at=_now() + timedelta(seconds=wait)))
                    failed += 1
                    log.warning("usage %s of %s not forwarded (attempt %d): %s", rec.idempotency_key, rec.plugin,
                                attempts, error)
    finally:
        if own:
            http.close()
    with kernel.factory() as s:
        pending = s.scalar(select(func.count()).select_from(UsageOutbox).where(UsageOutbox.sent_at.is_(None))) or 0  # type: ignore[union-attr]
    return {"sent": sent, "failed": failed, "pending": pending}


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except ValueError:
        return response.text[:200]


def pending(kernel: "Kernel") -> list[dict[str, Any]]:
    """Records not yet accepted by the marketplace (for ``comptoir billing usage``)."""
    with kernel.factory() as s:
        rows = list(s.scalars(select(UsageOutbox).where(UsageOutbox.sent_at.is_(None)).order_by(UsageOutbox.id)))  # type: ignore[union-attr]
    return [{"plugin": r.plugin, "unit": r.unit, "quantity": r.quantity, "key": r.idempotency_key,
             "attempts": r.attempts, "last_error": r.last_error} for r in rows]


def extend(kernel: "Kernel") -> None:
    """Kernel extension: every plugin context gets ``ctx.extras["usage"]``."""
    kernel.services.setdefault("billing_usage", {})

    def attach(record: "PluginRecord", ctx: "PluginContext") -> None:
        ctx.extras["usage"] = UsageReporter(kernel, record.name)

    kernel.host.context_extras.append(attach)
