"""apply_webhook: each provider event once (even delivered concurrently), never backwards."""
from __future__ import annotations

import json
import threading
from typing import Any

from sqlalchemy import select

from comptoir.kernel.domain import Order, OutboxEvent, PaymentTransaction
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.money import Money
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.webhooks import apply_webhook
from comptoir.kernel.types import PaymentRequest, PaymentResult, PaymentStatusUpdate, WebhookRequest
from tests.kernel.services.helpers import buy, make_shop, new_cart
from tests.plugins.kernel_fixtures import FakeCard, manifest


class AsyncCard(FakeCard):
    """Answers pending at checkout; the money moves later, told by webhooks whose body is
    the list of updates (this fixture trusts it: signatures are the real plugins' job)."""

    @hookimpl
    def payment_authorize(self, ctx: Any, request: PaymentRequest) -> PaymentResult:
        return PaymentResult(status="pending", provider_reference=f"pi_{request.idempotency_key}",
                             amount=request.amount)

    @hookimpl
    def payment_webhook(self, ctx: Any, request: WebhookRequest) -> list[PaymentStatusUpdate]:
        return [PaymentStatusUpdate(provider_reference=u["ref"], status=u["status"], event_id=u["id"],
                                    amount=Money(u["amount"], "EUR") if "amount" in u else None)
                for u in json.loads(request.body)]


def deliver(kernel: Kernel, *updates: dict[str, Any]) -> list[str]:
    return [a.outcome for a in apply_webhook(kernel, "async-card", WebhookRequest(
        headers={}, body=json.dumps(list(updates)).encode()))]


def _setup(kernel: Kernel) -> tuple[int, str]:
    kernel.host.add(AsyncCard(capture="immediate"), manifest("async-card"))
    kernel.host.enable("async-card")
    make_shop(kernel)
    placed = buy(kernel, new_cart(kernel), method="card", key="k1")
    assert placed.status == "placed" and placed.payment_status == "pending"
    return placed.order_id, "pi_pay-k1"


def _state(kernel: Kernel, order_id: int) -> tuple[str, list[tuple[str, str]], int]:
    with kernel.factory() as s:
        status = s.scalars(select(Order.status).where(Order.id == order_id)).one()
        txs = [(t.kind, t.status) for t in s.scalars(select(PaymentTransaction).order_by(PaymentTransaction.id))]
        paid = len(s.scalars(select(OutboxEvent.id).where(OutboxEvent.topic == "order.paid")).all())
    return status, txs, paid


def test_concurrent_repeats_apply_once(kernel_any: Kernel) -> None:
    order_id, ref = _setup(kernel_any)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        got = deliver(kernel_any, {"ref": ref, "status": "captured", "id": "evt_1", "amount": 100})
        with lock:
            outcomes.extend(got)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 5
    status, txs, paid = _state(kernel_any, order_id)
    assert status == "paid" and txs == [("authorize", "pending"), ("webhook", "captured")] and paid == 1


def test_out_of_order_events_never_move_back(kernel_any: Kernel) -> None:
    order_id, ref = _setup(kernel_any)
    assert deliver(kernel_any, {"ref": ref, "status": "captured", "id": "e3"}) == ["applied"]
    assert deliver(kernel_any, {"ref": ref, "status": "authorized", "id": "e2"},
                   {"ref": ref, "status": "pending", "id": "e1"},
                   {"ref": ref, "status": "failed", "id": "e0"}) == ["stale", "stale", "stale"]
    assert deliver(kernel_any, {"ref": ref, "status": "refunded", "id": "e4", "amount": 500},
                   {"ref": ref, "status": "refunded", "id": "e5", "amount": 300}) == ["applied", "applied"]
    assert deliver(kernel_any, {"ref": "pi_unknown", "status": "captured", "id": "e6"}) == ["unknown"]
    assert deliver(kernel_any, {"ref": "pi_unknown", "status": "captured", "id": "e6"}) == ["duplicate"]
    status, txs, _ = _state(kernel_any, order_id)
    assert status == "paid"
    assert txs[1:] == [("webhook", "captured"), ("webhook", "refunded"), ("webhook", "refunded")]


def test_a_failure_delivered_after_the_authorization_is_stale(kernel_any: Kernel) -> None:
    """Providers never fail an authorized payment (Stripe: payment_failed only comes from a
    confirmation, which sends the intent back to requires_payment_method); a failure seen
    after an authorization is an older event arriving late."""
    order_id, ref = _setup(kernel_any)
    assert deliver(kernel_any, {"ref": ref, "status": "authorized", "id": "f1"},
                   {"ref": ref, "status": "failed", "id": "f0"}) == ["applied", "stale"]
    status, txs, paid = _state(kernel_any, order_id)
    assert status == "placed" and txs[-1] == ("webhook", "authorized") and paid == 0


def test_a_failed_card_then_a_good_one_authorizes_the_same_payment(kernel_any: Kernel) -> None:
    """The shopper's first card is declined on the order page, the second is authorized
    (capture on fulfilment): the authorization counts, and a late repeat of the failure
    does not undo it."""
    order_id, ref = _setup(kernel_any)
    assert deliver(kernel_any, {"ref": ref, "status": "failed", "id": "e1"}) == ["applied"]
    assert deliver(kernel_any, {"ref": ref, "status": "authorized", "id": "e2"}) == ["applied"]
    assert deliver(kernel_any, {"ref": ref, "status": "failed", "id": "e0"}) == ["stale"]  # a late, older failure
    assert deliver(kernel_any, {"ref": ref, "status": "captured", "id": "e3"}) == ["applied"]
    status, txs, paid = _state(kernel_any, order_id)
    assert status == "paid" and paid == 1
    assert [t[1] for t in txs] == ["pending", "failed", "authorized", "captured"]


def test_voided_stays_voided_but_captured_money_is_recorded(kernel_any: Kernel) -> None:
    order_id, ref = _setup(kernel_any)
    assert deliver(kernel_any, {"ref": ref, "status": "voided", "id": "e1"}) == ["applied"]
    assert deliver(kernel_any, {"ref": ref, "status": "authorized", "id": "e2"}) == ["stale"]
    assert deliver(kernel_any, {"ref": ref, "status": "failed", "id": "e3"}) == ["stale"]
