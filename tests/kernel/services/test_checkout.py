"""Checkout: correct orders, no oversell under real concurrency, nothing left on decline."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from comptoir.kernel.domain import CheckoutAttempt, Order, OrderLine, OutboxEvent, Reservation, StockLevel
from comptoir.kernel.errors import ComptoirError, OutOfStock, PaymentDeclined, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service, rank_quotes
from tests.kernel.services.helpers import ADDRESS, buy, make_shop, new_cart
from tests.plugins.kernel_fixtures import Carrier, FakeCard, manifest


def _count(kernel: Kernel, model: type) -> int:
    with kernel.factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _stock(kernel: Kernel, variant_id: int) -> tuple[int, int]:
    with kernel.factory() as s:
        row = s.execute(select(func.sum(StockLevel.on_hand), func.sum(StockLevel.reserved))
                        .where(StockLevel.variant_id == variant_id)).one()
        return int(row[0]), int(row[1])


def test_order_totals_lines_and_event(kernel_any: Kernel) -> None:
    vid = make_shop(kernel_any, units=5, price=1990)
    placed = buy(kernel_any, new_cart(kernel_any, qty=2))
    assert placed.status == "placed" and placed.payment_status == "pending"
    # 2 x 19.90 + standard shipping for 700 g in France (6.95)
    assert placed.total.amount == 2 * 1990 + 695 and placed.total.currency == "EUR"
    with kernel_any.factory() as s:
        order = s.get(Order, placed.order_id)
        assert order is not None and order.subtotal == 3980 and order.shipping_total == 695
        assert [ln.quantity for ln in s.scalars(select(OrderLine))] == [2]
        assert [e.topic for e in s.scalars(select(OutboxEvent))] == ["order.placed"]
    assert _stock(kernel_any, vid) == (3, 0)
    assert _count(kernel_any, Reservation) == 0


@pytest.mark.slow
def test_no_oversell_with_50_concurrent_buyers_for_10_units(kernel_any: Kernel) -> None:
    card = FakeCard(delay_s=0.005)  # widen the window between reservation and order
    kernel_any.host.add(card, manifest("fake-card"))
    kernel_any.host.enable("fake-card")
    vid = make_shop(kernel_any, units=10)
    carts = [new_cart(kernel_any) for _ in range(50)]
    start = threading.Barrier(50)

    def attempt(token: str) -> str:
        start.wait()
        try:
            return buy(kernel_any, token, method="card").status
        except OutOfStock:
            return "out-of-stock"

    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = list(pool.map(attempt, carts))
    assert outcomes.count("paid") == 10
    assert outcomes.count("out-of-stock") == 40
    assert _stock(kernel_any, vid) == (0, 0)
    assert _count(kernel_any, Order) == 10
    with kernel_any.factory() as s:
        assert s.scalar(select(func.sum(OrderLine.quantity))) == 10
    # the 40 who lost never reached the provider: nothing to void
    assert len(card.authorized) == 10


def test_declined_payment_leaves_nothing_behind(kernel_any: Kernel) -> None:
    kernel_any.host.add(FakeCard(mode="decline"), manifest("fake-card"))
    kernel_any.host.enable("fake-card")
    vid = make_shop(kernel_any, units=3)
    token = new_cart(kernel_any, qty=2)
    with pytest.raises(PaymentDeclined, match="insufficient funds"):
        buy(kernel_any, token, method="card")
    assert _count(kernel_any, Order) == 0
    assert _count(kernel_any, OutboxEvent) == 0
    assert _count(kernel_any, Reservation) == 0
    assert _stock(kernel_any, vid) == (3, 0)
    with kernel_any.factory() as s:
        assert [a.status for a in s.scalars(select(CheckoutAttempt))] == ["declined"]


def test_unreachable_provider_is_a_clear_decline_and_releases_stock(kernel: Kernel) -> None:
    kernel.host.add(FakeCard(mode="raise"), manifest("fake-card"))
    kernel.host.enable("fake-card")
    vid = make_shop(kernel, units=1)
    with pytest.raises(PaymentDeclined, match="could not be reached"):
        buy(kernel, new_cart(kernel), method="card")
    assert _stock(kernel, vid) == (1, 0) and _count(kernel, Order) == 0


def test_a_raising_carrier_does_not_break_checkout(kernel: Kernel) -> None:
    broken = Carrier("broken", 100, mode="raise")
    kernel.host.add(broken, manifest("broken-carrier"))
    kernel.host.enable("broken-carrier")
    make_shop(kernel)
    placed = buy(kernel, new_cart(kernel))
    assert placed.status == "placed"
    assert broken.calls >= 1
    errors = kernel.host.journal.entries(plugin="broken-carrier", outcome="error")
    assert errors and "API is down" in errors[0].error


def test_quotes_from_every_carrier_are_ranked_by_price_then_delay(kernel: Kernel) -> None:
    for name, price, days in [("slowpost", 300, 6), ("fastpost", 300, 1), ("premium", 900, 1)]:
        kernel.host.add(Carrier(name, price, days), manifest(name))
        kernel.host.enable(name)
    make_shop(kernel)
    quotes = checkout_service(kernel).shipping_quotes(new_cart(kernel), ADDRESS)
    carriers = [q.carrier for q in quotes]
    assert carriers[:2] == ["fastpost", "slowpost"]
    assert quotes == rank_quotes(list(reversed(quotes)))
    assert {q.plugin for q in quotes} >= {"fastpost", "slowpost", "premium", "flat-rate-shipping"}


def test_same_idempotency_key_returns_the_same_order(kernel_any: Kernel) -> None:
    make_shop(kernel_any)
    token = new_cart(kernel_any)
    first = buy(kernel_any, token, key="order-42")
    again = checkout_service(kernel_any).place(CheckoutRequest(
        cart_token=token, email="ada@example.com", address=ADDRESS, shipping_quote_id="flat-rate:domestic:standard",
        payment_method_id="bank_transfer", idempotency_key="order-42"))
    assert again.replayed and again.order_id == first.order_id
    assert _count(kernel_any, Order) == 1


def test_tampered_or_stale_quote_is_refused(kernel: Kernel) -> None:
    make_shop(kernel)
    token = new_cart(kernel)
    with pytest.raises(ValidationFailed) as err:
        checkout_service(kernel).place(CheckoutRequest(
            cart_token=token, email="ada@example.com", address=ADDRESS, shipping_quote_id="flat-rate:free:teleport",
            payment_method_id="bank_transfer"))
    assert err.value.field == "shipping_quote_id"


@pytest.mark.parametrize("field,change", [
    ("email", {"email": "not-an-email"}),
    ("address.country", {"address": replace(ADDRESS, country="France")}),
    ("address.postal_code", {"address": replace(ADDRESS, postal_code=" ")}),
    ("payment_method_id", {"payment_method_id": "bitcoin"}),
    ("return_url", {"return_url": "javascript:alert(1)"}),
    ("return_url", {"return_url": "https://shop.example/" + "x" * 2000}),
    ("return_url", {"return_url": "https://user:pw@shop.example/orders"}),
])
def test_bad_input_names_the_field(kernel: Kernel, field: str, change: dict[str, object]) -> None:
    make_shop(kernel)
    req = {"cart_token": new_cart(kernel), "email": "ada@example.com", "address": ADDRESS,
           "shipping_quote_id": "flat-rate:domestic:standard", "payment_method_id": "bank_transfer"}
    with pytest.raises(ComptoirError) as err:
        checkout_service(kernel).place(CheckoutRequest(**{**req, **change}))  # type: ignore[arg-type]
    assert err.value.field == field
    assert _count(kernel, Order) == 0


def test_empty_cart_is_refused(kernel: Kernel) -> None:
    from comptoir.kernel.db import transaction
    from comptoir.kernel.services.carts import create_cart

    make_shop(kernel)
    with transaction(kernel.factory) as s:
        token = create_cart(s).token
    with pytest.raises(ValidationFailed, match="empty"):
        checkout_service(kernel).shipping_quotes(token, ADDRESS)


def test_the_provider_receives_the_return_url(kernel: Kernel) -> None:
    card = FakeCard()
    kernel.host.add(card, manifest("fake-card"))
    kernel.host.enable("fake-card")
    make_shop(kernel)
    svc = checkout_service(kernel)
    for url in ("https://shop.example/shop/checkout/return/k-1?x=1", ""):
        token = new_cart(kernel)
        svc.place(CheckoutRequest(cart_token=token, email="ada@example.com", address=ADDRESS,
                                  shipping_quote_id="flat-rate:domestic:standard", payment_method_id="card",
                                  return_url=url))
    assert [r.return_url for r in card.requests] == ["https://shop.example/shop/checkout/return/k-1?x=1", ""]
