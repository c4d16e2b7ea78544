"""Test helpers: a small shop (one product, stock, a cart) on any kernel."""
from __future__ import annotations

from comptoir.kernel.db import transaction
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import stock
from comptoir.kernel.services.carts import add_item, create_cart
from comptoir.kernel.services.catalog import VariantInput, create_product, ensure_location
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
from comptoir.kernel.types import Address

ADDRESS = Address(name="Ada Martin", line1="3 rue des Lilas", postal_code="75011", city="Paris", country="FR")


def make_shop(kernel: Kernel, *, units: int = 10, price: int = 1990, sku: str = "MUG-1") -> int:
    """One product with ``units`` in stock at one warehouse; returns the variant id."""
    with transaction(kernel.factory) as s:
        loc = ensure_location(s, "WH", "Warehouse", priority=1)
        product = create_product(s, f"Mug {sku}", [VariantInput(sku=sku, price_amount=price, weight_grams=350)])
        from sqlalchemy import select

        from comptoir.kernel.domain import Variant

        vid = s.scalars(select(Variant.id).where(Variant.product_id == product.id)).one()
        stock.receive(s, vid, loc.id or 0, units)
    return vid


def new_cart(kernel: Kernel, sku: str = "MUG-1", qty: int = 1) -> str:
    with transaction(kernel.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku=sku, quantity=qty)
        return cart.token


def buy(kernel: Kernel, token: str, *, method: str = "bank_transfer", key: str = "", email: str = "ada@example.com"):  # type: ignore[no-untyped-def]
    svc = checkout_service(kernel)
    quote = svc.shipping_quotes(token, ADDRESS)[0]
    return svc.place(CheckoutRequest(cart_token=token, email=email, address=ADDRESS, shipping_quote_id=quote.id,
                                     payment_method_id=method, idempotency_key=key))
