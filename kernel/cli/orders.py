"""``comptoir orders …``: take and manage orders from the command line."""
from __future__ import annotations

import click
from sqlalchemy import select

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Order
from comptoir.kernel.money import Money


@cli.group()
def orders() -> None:
    """Place and manage orders."""


@orders.command("place")
@click.option("--sku", "skus", multiple=True, required=True, help="SKU[:QTY], repeatable")
@click.option("--email", required=True)
@click.option("--name", required=True, help="recipient name")
@click.option("--line1", required=True, help="street address")
@click.option("--postal-code", required=True)
@click.option("--city", required=True)
@click.option("--country", default="FR", show_default=True)
@click.option("--payment", "payment_method", default="bank_transfer", show_default=True)
@click.option("--shipping", "shipping_quote", default="", help="quote id; default: the cheapest")
@with_kernel
def orders_place(kernel, skus: tuple[str, ...], email: str, name: str, line1: str, postal_code: str, city: str,  # type: ignore[no-untyped-def]
                 country: str, payment_method: str, shipping_quote: str) -> None:
    """Place an order through the checkout (same path as the storefront)."""
    from comptoir.kernel.services.carts import add_item, create_cart
    from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service
    from comptoir.kernel.types import Address

    with transaction(kernel.factory) as s:
        cart = create_cart(s, "EUR", channel="cli", email=email)
        for item in skus:
            sku, _, qty = item.partition(":")
            if qty and not qty.isdigit():
                raise click.UsageError(f"--sku {item!r}: quantity must be a whole number, as in SKU:2")
            add_item(s, cart, sku=sku, quantity=int(qty or 1))
        token = cart.token
    address = Address(name=name, line1=line1, postal_code=postal_code, city=city, country=country.upper())
    svc = checkout_service(kernel)
    quotes = svc.shipping_quotes(token, address)
    quote = next((q for q in quotes if q.id == shipping_quote), None) if shipping_quote else quotes[0]
    if quote is None:
        raise click.UsageError(f"no shipping option {shipping_quote!r}; offered: {', '.join(q.id for q in quotes)}")
    placed = svc.place(CheckoutRequest(cart_token=token, email=email, address=address, shipping_quote_id=quote.id,
                                       payment_method_id=payment_method))
    click.echo(f"order {placed.number} {placed.status}: {placed.total.format()} "
               f"({quote.carrier} {quote.service}, payment {placed.payment_status})")


@orders.command("list")
@click.option("--status")
@click.option("--limit", default=20, show_default=True)
@with_kernel
def orders_list(kernel, status: str | None, limit: int) -> None:  # type: ignore[no-untyped-def]
    """Recent orders."""
    q = select(Order).order_by(Order.id.desc()).limit(limit)  # type: ignore[union-attr]
    if status:
        q = q.where(Order.status == status)
    with kernel.factory() as s:
        rows = [[o.number, o.placed_at.strftime("%Y-%m-%d %H:%M"), o.status, o.email, o.channel,
                 Money(o.total, o.currency).format()] for o in s.scalars(q)]
    click.echo(table(rows, ["order", "placed", "status", "email", "channel", "total"]) if rows else "no orders yet")


def _order_id(ref: str) -> int:
    digits = ref.lstrip("Cc")
    if not digits.isdigit():
        raise click.UsageError(f"{ref!r} is not an order number such as C0000042 or 42")
    return int(digits)


@orders.command("mark-paid")
@click.argument("order")
@with_kernel
def orders_mark_paid(kernel, order: str) -> None:  # type: ignore[no-untyped-def]
    """The money of a bank transfer / cash on delivery order arrived."""
    from comptoir.kernel.services.orders import OrderService

    o = OrderService(kernel).mark_paid(_order_id(order), actor="cli")
    click.echo(f"order {o.number} is {o.status}")


@orders.command("capture")
@click.argument("order")
@with_kernel
def orders_capture(kernel, order: str) -> None:  # type: ignore[no-untyped-def]
    """Capture an authorized card payment."""
    from comptoir.kernel.services.orders import OrderService

    o = OrderService(kernel).capture(_order_id(order), actor="cli")
    click.echo(f"order {o.number} is {o.status}")


@orders.command("fulfil")
@click.argument("order")
@with_kernel
def orders_fulfil(kernel, order: str) -> None:  # type: ignore[no-untyped-def]
    """Buy the label and mark the order shipped."""
    from comptoir.kernel.services.orders import OrderService

    sh = OrderService(kernel).fulfil(_order_id(order), actor="cli")
    click.echo(f"shipped with {sh.carrier}: tracking {sh.tracking_number}, label {kernel.settings.data_dir / sh.label_path}")


@orders.command("cancel")
@click.argument("order")
@click.option("--reason", default="")
@with_kernel
def orders_cancel(kernel, order: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Cancel an order (payment voided or refunded, stock put back)."""
    from comptoir.kernel.services.orders import OrderService

    o = OrderService(kernel).cancel(_order_id(order), actor="cli", reason=reason)
    click.echo(f"order {o.number} is {o.status}")


@orders.command("refund")
@click.argument("order")
@click.argument("amount", type=int)
@click.option("--reason", default="")
@with_kernel
def orders_refund(kernel, order: str, amount: int, reason: str) -> None:  # type: ignore[no-untyped-def]
    """Refund AMOUNT minor units (cents) of an order."""
    from comptoir.kernel.services.orders import OrderService

    o = OrderService(kernel).refund(_order_id(order), amount, actor="cli", reason=reason)
    click.echo(f"order {o.number} is {o.status}; refunded {Money(o.refunded_total, o.currency).format()} in all")
