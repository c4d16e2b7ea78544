"""Orders paid at the till (POS) can be cancelled and refunded without a provider."""
from __future__ import annotations

from sqlalchemy import update

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order, PaymentTransaction
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.orders import OrderService
from tests.kernel.services.helpers import buy, make_shop, new_cart


def _as_till_sale(kernel: Kernel, order_id: int) -> None:
    with transaction(kernel.factory) as s:
        s.execute(update(Order).where(Order.id == order_id).values(payment_plugin="pos", payment_method="cash",
                                                                   status="paid"))
        s.execute(update(PaymentTransaction).where(PaymentTransaction.order_id == order_id)
                  .values(plugin="pos", method="cash", status="captured"))


def test_till_sale_refund_and_cancel(kernel: Kernel) -> None:
    make_shop(kernel, units=5, price=1000)
    first = buy(kernel, new_cart(kernel))
    _as_till_sale(kernel, first.order_id)
    order = OrderService(kernel).refund(first.order_id, 400, actor="till")
    assert order.status == "partially_refunded" and order.refunded_total == 400
    second = buy(kernel, new_cart(kernel))
    _as_till_sale(kernel, second.order_id)
    assert OrderService(kernel).cancel(second.order_id, actor="till").status == "cancelled"
