"""Domain event hooks (delivered from the outbox) and the order-placement wrapper."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import DomainEvent, OrderDraft


@spec("collect")
def event_subscriptions(ctx: Any) -> list[str]:
    """Topics this plugin wants (``order.placed``, ``order.*``, ``*``). Collect-all;
    the kernel routes each outbox event to the plugins whose patterns match."""


@spec("targeted")
def handle_event(ctx: Any, event: DomainEvent, idempotency_key: str) -> None:
    """Handle one event. Targeted: one background delivery per (event, plugin).

    Delivered at least once, with retries and backoff; use ``idempotency_key`` to make
    a repeat harmless. Raising schedules a retry; deliveries that keep failing are kept
    as ``dead`` and shown to the merchant, never dropped.
    """


@spec("wrapper")
def order_placement(ctx: Any, draft: OrderDraft) -> Any:
    """New-style wrapper around the write of an order (after payment authorization).

    Code before ``yield`` runs before the transaction and may raise to refuse the
    order (the payment is then voided); the value of ``yield`` is the placed order id.
    Errors here are not isolated: only plugins that must veto orders implement it.
    """
