"""The order lifecycle: capture, mark paid, cancel (restock), refunds, returns, loyalty."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Customer, Order, OrderStatusChange, OutboxEvent, Shipment, StockLevel
from comptoir.kernel.errors import InvalidTransition, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import loyalty
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.services.orders import OrderService
from tests.kernel.services.helpers import ADDRESS, buy, make_shop, new_cart
from tests.plugins.kernel_fixtures import FakeCard, manifest


def _topics(kernel: Kernel) -> list[str]:
    with kernel.factory() as s:
        return [e.topic for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]


def _on_hand(kernel: Kernel) -> int:
    with kernel.factory() as s:
        return int(s.scalar(select(StockLevel.on_hand)) or 0)


def test_bank_transfer_order_is_marked_paid_then_fulfilled_with_a_label(kernel_any: Kernel) -> None:
    make_shop(kernel_any)
    placed = buy(kernel_any, new_cart(kernel_any))
    svc = OrderService(kernel_any)
    with pytest.raises(InvalidTransition, match="must be paid"):
        svc.fulfil(placed.order_id, actor="staff")
    assert svc.mark_paid(placed.order_id, actor="staff").status == "paid"
    shipment = svc.fulfil(placed.order_id, actor="staff")
    pdf = (kernel_any.settings.data_dir / shipment.label_path).read_bytes()
    assert pdf.startswith(b"%PDF-1.4") and shipment.tracking_number.encode() in pdf
    with kernel_any.factory() as s:
        order = s.get(Order, placed.order_id)
        assert order is not None and order.status == "fulfilled"
        assert [c.to_status for c in s.scalars(select(OrderStatusChange))] == ["paid", "fulfilled"]
        assert s.scalars(select(Shipment.order_id)).all() == [placed.order_id]
    assert _topics(kernel_any) == ["order.placed", "order.paid", "order.fulfilled"]


def test_card_order_captured_immediately_earns_loyalty_points(kernel: Kernel) -> None:
    kernel.host.add(FakeCard(), manifest("fake-card"))
    kernel.host.enable("fake-card")
    make_shop(kernel, price=2500)
    with transaction(kernel.factory) as s:
        c = Customer(email="ada@example.com", name="Ada")
        s.add(c)
        s.flush()
        cid = c.id or 0
    svc = checkout_service(kernel)
    token = new_cart(kernel)
    quote = svc.shipping_quotes(token, ADDRESS)[0]
    placed = svc.place(CheckoutRequest(token, "ada@example.com", ADDRESS, quote.id, "card", customer_id=cid))
    assert placed.status == "paid"
    with kernel.factory() as s:
        assert loyalty.balance(s, cid) == placed.total.amount // 100
    OrderService(kernel).refund(placed.order_id, placed.total.amount, actor="staff")
    with kernel.factory() as s:
        assert loyalty.balance(s, cid) == 0


def test_cancel_puts_stock_back_and_cannot_happen_twice(kernel_any: Kernel) -> None:
    make_shop(kernel_any, units=5)
    placed = buy(kernel_any, new_cart(kernel_any, qty=2))
    assert _on_hand(kernel_any) == 3
    order = OrderService(kernel_any).cancel(placed.order_id, actor="staff", reason="customer asked")
    assert order.status == "cancelled" and _on_hand(kernel_any) == 5
    with pytest.raises(InvalidTransition):
        OrderService(kernel_any).mark_paid(placed.order_id, actor="staff")
    assert _topics(kernel_any)[-1] == "order.cancelled"


def test_partial_refunds_add_up_and_never_exceed_the_total(kernel: Kernel) -> None:
    make_shop(kernel)
    placed = buy(kernel, new_cart(kernel))
    svc = OrderService(kernel)
    svc.mark_paid(placed.order_id, actor="staff")
    total = placed.total.amount
    assert svc.refund(placed.order_id, 500, actor="s").status == "partially_refunded"
    with pytest.raises(ValidationFailed) as err:
        svc.refund(placed.order_id, total, actor="s")
    assert err.value.field == "amount"
    order = svc.refund(placed.order_id, total - 500, actor="s")
    assert order.status == "refunded" and order.refunded_total == total


def test_same_refund_key_applies_once(kernel: Kernel) -> None:
    make_shop(kernel)
    placed = buy(kernel, new_cart(kernel))
    svc = OrderService(kernel)
    svc.mark_paid(placed.order_id, actor="staff")
    svc.refund(placed.order_id, 300, actor="s", idempotency_key="r-1")
    order = svc.refund(placed.order_id, 300, actor="s", idempotency_key="r-1")
    assert order.refunded_total == 300


def test_return_restocks_and_refunds_the_returned_lines(kernel: Kernel) -> None:
    make_shop(kernel, units=5, price=1000)
    placed = buy(kernel, new_cart(kernel, qty=2))
    svc = OrderService(kernel)
    svc.mark_paid(placed.order_id, actor="s")
    svc.fulfil(placed.order_id, actor="s")
    with kernel.factory() as s:
        from comptoir.kernel.domain import OrderLine

        line_id = s.scalars(select(OrderLine.id)).one()
    with pytest.raises(ValidationFailed, match="at most 2"):
        svc.request_return(placed.order_id, [{"order_line_id": line_id, "quantity": 3}])
    ret = svc.request_return(placed.order_id, [{"order_line_id": line_id, "quantity": 1}], reason="chipped")
    assert _on_hand(kernel) == 3
    order = svc.receive_return(ret.id or 0, actor="s")
    assert order.refunded_total == 1000 and order.status == "partially_refunded"
    assert _on_hand(kernel) == 4
