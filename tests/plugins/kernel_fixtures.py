"""Fixture plugins for kernel tests: a card processor, carriers that misbehave, an event
recorder. Registered with ``kernel.host.add(obj, manifest)`` like any plugin."""
from __future__ import annotations

import os
import threading
import time
from typing import Any

from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.manifest import Manifest, parse_manifest
from comptoir.kernel.money import Money
from comptoir.kernel.types import (
    Address, CartView, DomainEvent, Label, PaymentMethod, PaymentRef, PaymentRequest, PaymentResult, PickupPoint,
    ShipmentRequest, ShippingQuote,
)


def manifest(plugin_id: str, **extra: Any) -> Manifest:
    return parse_manifest({"id": plugin_id, "name": plugin_id, "version": "1.0.0", "vendor": "tests", **extra})


class FakeCard:
    """A card processor: ``mode`` is approve, decline, raise or crash (``os._exit``)."""

    def __init__(self, mode: str = "approve", capture: str = "immediate", delay_s: float = 0.0) -> None:
        self.mode = mode
        self.capture = capture
        self.delay_s = delay_s
        self.authorized: dict[str, Money] = {}
        self.requests: list[PaymentRequest] = []  # every authorization asked, as sent
        self.voided: list[str] = []
        self.captured: list[str] = []
        self._lock = threading.Lock()

    @hookimpl
    def payment_methods(self, ctx: Any, cart: CartView) -> list[PaymentMethod]:
        return [PaymentMethod(id="card", title="Card", capture=self.capture)]  # type: ignore[arg-type]

    @hookimpl
    def payment_authorize(self, ctx: Any, request: PaymentRequest) -> PaymentResult:
        with self._lock:
            self.requests.append(request)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.mode == "crash":
            os._exit(17)  # the process dies mid-checkout, after the provider said yes
        if self.mode == "raise":
            raise ConnectionError("provider unreachable")
        if self.mode == "decline":
            return PaymentResult(status="declined", message="insufficient funds")
        with self._lock:
            self.authorized[request.idempotency_key] = request.amount
        return PaymentResult(status="authorized", provider_reference=f"pi_{request.idempotency_key}",
                             amount=request.amount)

    @hookimpl
    def payment_capture(self, ctx: Any, payment: PaymentRef, amount: Money) -> PaymentResult:
        self.captured.append(payment.provider_reference)
        return PaymentResult(status="captured", provider_reference=payment.provider_reference, amount=amount)

    @hookimpl
    def payment_void(self, ctx: Any, payment: PaymentRef) -> PaymentResult:
        self.voided.append(payment.idempotency_key)
        return PaymentResult(status="voided", provider_reference=payment.provider_reference)

    @hookimpl
    def payment_refund(self, ctx: Any, payment: PaymentRef, amount: Money, idempotency_key: str) -> PaymentResult:
        return PaymentResult(status="refunded", provider_reference=payment.provider_reference, amount=amount)


class Carrier:
    """A carrier quoting ``price``; ``mode`` raise makes every call fail, slow sleeps."""

    def __init__(self, name: str, price: int, days: int = 2, mode: str = "ok", sleep_s: float = 0.0) -> None:
        self.name, self.price, self.days, self.mode, self.sleep_s = name, price, days, mode, sleep_s
        self.calls = 0

    @hookimpl
    def shipping_quotes(self, ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
        self.calls += 1
        if self.mode == "raise":
            raise RuntimeError(f"{self.name} API is down")
        if self.sleep_s:
            time.sleep(self.sleep_s)
        return [ShippingQuote(id=f"{self.name}:std", carrier=self.name, service="Standard",
                              price=Money(self.price, shipment.value.currency), min_days=self.days,
                              max_days=self.days)]


class RelayCarrier:
    """A relay carrier: one quote needing a pickup point, three points near Paris 11e,
    and the label requests it received."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.labels: list[tuple[ShipmentRequest, ShippingQuote]] = []
        self.searches: list[tuple[str, int]] = []

    @hookimpl
    def shipping_quotes(self, ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
        return [ShippingQuote(id="relay:point", carrier="RelayCo", service="Point relais",
                              price=Money(390, shipment.value.currency), min_days=3, max_days=4,
                              pickup_point_required=True)]

    @hookimpl
    def shipping_pickup_points(self, ctx: Any, near: Address, limit: int) -> list[PickupPoint]:
        self.searches.append((near.postal_code, limit))
        if self.mode == "down":
            raise ConnectionError("relay API unreachable: token=abc123")
        return [PickupPoint(id=f"FR-00000{i}", name=f"RELAIS {i}", carrier="RelayCo", distance_m=100 * i,
                            address=Address(name=f"RELAIS {i}", line1=f"{i} rue Oberkampf", postal_code="75011",
                                            city="PARIS", country="FR"))
                for i in range(1, 4)][:limit]

    @hookimpl
    def shipping_create_label(self, ctx: Any, shipment: ShipmentRequest, quote: ShippingQuote,
                              reference: str) -> Label:
        self.labels.append((shipment, quote))
        return Label(tracking_number=f"RL{len(self.labels)}", pdf=b"%PDF-1.4 relay label")


class EventRecorder:
    """Subscribes to ``topics``; fails the first ``fail_times`` deliveries."""

    def __init__(self, topics: list[str], fail_times: int = 0) -> None:
        self.topics = topics
        self.fail_times = fail_times
        self.seen: list[tuple[str, str]] = []
        self.keys: set[str] = set()

    @hookimpl
    def event_subscriptions(self, ctx: Any) -> list[str]:
        return self.topics

    @hookimpl
    def handle_event(self, ctx: Any, event: DomainEvent, idempotency_key: str) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("temporarily unavailable")
        if idempotency_key in self.keys:
            return  # idempotent: a repeat is harmless
        self.keys.add(idempotency_key)
        self.seen.append((event.topic, idempotency_key))
