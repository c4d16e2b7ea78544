"""Cart lines on both databases: the one-statement upsert adds to a line and caps it,
the combined cart+SKU read refuses with the field at fault."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from comptoir.kernel.db import transaction, write_conn
from comptoir.kernel.domain import CartLine
from comptoir.kernel.errors import Conflict, NotFound
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services.carts import MAX_QUANTITY, add_item_by_token, get_cart
from tests.kernel.services.helpers import make_shop, new_cart


def _quantities(kernel: Kernel, token: str) -> list[int]:
    with kernel.factory() as s:
        cid = get_cart(s, token).id
        return list(s.scalars(select(CartLine.quantity).where(CartLine.cart_id == cid)))


def test_adding_again_adds_to_the_line_and_caps_it(kernel_any: Kernel) -> None:
    make_shop(kernel_any)
    token = new_cart(kernel_any, qty=2)
    with write_conn(kernel_any.engine) as c:
        add_item_by_token(c, token, sku="MUG-1", quantity=3)
    assert _quantities(kernel_any, token) == [5]
    with write_conn(kernel_any.engine) as c:
        add_item_by_token(c, token, sku="MUG-1", quantity=MAX_QUANTITY)
    assert _quantities(kernel_any, token) == [MAX_QUANTITY]


def test_concurrent_adds_to_one_cart_keep_one_line(kernel_any: Kernel) -> None:
    """Two tabs adding the same product at once: one line with both quantities."""
    make_shop(kernel_any)
    token = new_cart(kernel_any, qty=0)
    start = threading.Barrier(8)

    def add() -> None:
        start.wait()
        with write_conn(kernel_any.engine) as c:
            add_item_by_token(c, token, sku="MUG-1", quantity=1)

    threads = [threading.Thread(target=add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _quantities(kernel_any, token) == [8]


@pytest.mark.parametrize("token, sku, error, field", [
    ("nope", "MUG-1", NotFound, "cart"), (None, "NOPE", NotFound, "sku")])
def test_refusals_name_the_field(kernel_any: Kernel, token: str | None, sku: str, error: type, field: str) -> None:
    make_shop(kernel_any)
    real = new_cart(kernel_any)
    with pytest.raises(error) as caught, write_conn(kernel_any.engine) as c:
        add_item_by_token(c, token or real, sku=sku)
    assert caught.value.field == field


def test_a_converted_cart_is_refused(kernel_any: Kernel) -> None:
    make_shop(kernel_any)
    token = new_cart(kernel_any)
    with transaction(kernel_any.factory) as s:
        get_cart(s, token, for_update=True).status = "converted"
    with pytest.raises(Conflict, match="converted"), write_conn(kernel_any.engine) as c:
        add_item_by_token(c, token, sku="MUG-1")


def test_checkout_refuses_a_cart_holding_a_variant_taken_off_sale(kernel_any: Kernel) -> None:
    """Deactivated after it was added: quotes and checkout say which one to remove."""
    from comptoir.kernel.domain import Variant
    from comptoir.kernel.services.checkout import checkout_service
    from tests.kernel.services.helpers import ADDRESS

    vid = make_shop(kernel_any)
    token = new_cart(kernel_any)
    with transaction(kernel_any.factory) as s:
        variant = s.get(Variant, vid)
        variant.attributes = {**(variant.attributes or {}), "active": False}
    with pytest.raises(Conflict, match="MUG-1 is no longer for sale") as caught:
        checkout_service(kernel_any).shipping_quotes(token, ADDRESS)
    assert caught.value.field == "cart"


def test_cart_edits_skip_the_disk_wait_and_orders_do_not(kernel_any: Kernel) -> None:
    """On PostgreSQL the cart pool's sessions commit without waiting for the WAL flush;
    the main pool (orders, payments, stock) keeps synchronous commits."""
    from sqlalchemy import text

    if kernel_any.engine.dialect.name != "postgresql":
        assert kernel_any.cart_engine is kernel_any.engine  # SQLite: one engine, WAL + NORMAL as set up
        return
    with kernel_any.cart_engine.connect() as c:
        assert c.execute(text("SHOW synchronous_commit")).scalar() == "off"
    with kernel_any.engine.connect() as c:
        assert c.execute(text("SHOW synchronous_commit")).scalar() == "on"
