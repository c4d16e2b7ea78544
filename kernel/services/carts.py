"""Carts: create, add/remove lines, and the view plugins see."""
from __future__ import annotations

import secrets

from typing import Any

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlmodel import Session

from comptoir.kernel.domain import Cart, CartLine, Product, Variant
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import Conflict, NotFound, ValidationFailed
from comptoir.kernel.money import Money, check_currency
from comptoir.kernel.services.catalog import variant_active
from comptoir.kernel.types import Address, CartLineView, CartView

MAX_QUANTITY = 999


def create_cart(session: Any, currency: str = "EUR", *, channel: str = "web",
                customer_id: int | None = None, email: str = "") -> Cart:
    """A new open cart. ``session`` may be a Session or a Connection."""
    now = utcnow()
    values = {"token": secrets.token_urlsafe(24), "currency": check_currency(currency), "channel": channel,
              "customer_id": customer_id, "email": email, "status": "open", "created_at": now, "updated_at": now}
    cart_id = session.execute(insert(Cart).returning(Cart.id), values).scalar_one()
    return Cart(id=cart_id, **values)


def get_cart(session: Any, token: str, *, for_update: bool = False) -> Cart:
    if for_update:
        cart = session.scalars(select(Cart).where(Cart.token == token).with_for_update()).first()
    else:
        # a light row with the cart's attributes: reads need no ORM object
        cart = session.execute(_CART_BY_TOKEN, {"token": token}).first()
    if cart is None:
        raise NotFound(f"no cart with token {token[:6]}…; create one first", field="cart")
    return cart


def _check_quantity(quantity: int) -> None:
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(f"quantity must be a whole number from 0 to {MAX_QUANTITY}", field="quantity")


# Prebuilt statements for the hot path: building a statement costs more than running it.
_VARIANT_BY_SKU = (select(Variant.id, Variant.currency, Product.active, Variant.attributes)
                   .join(Product, Product.id == Variant.product_id).where(Variant.sku == bindparam("sku")))
_VARIANT_BY_ID = (select(Variant.id, Variant.currency, Product.active, Variant.attributes)
                  .join(Product, Product.id == Variant.product_id).where(Variant.id == bindparam("vid")))
_BUMP_LINE = (update(CartLine).where(CartLine.cart_id == bindparam("cid"), CartLine.variant_id == bindparam("vid"))
              .values(quantity=case((CartLine.quantity + bindparam("q") > MAX_QUANTITY, MAX_QUANTITY),
                                    else_=CartLine.quantity + bindparam("q"))))
_NEW_LINE = insert(CartLine)


def _upsert_line(dialect: str) -> Any:
    """INSERT a line or add to its quantity (capped) in one statement: both databases
    support ON CONFLICT on the (cart_id, variant_id) unique constraint."""
    from sqlalchemy.dialects import postgresql, sqlite

    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CartLine).values(
        cart_id=bindparam("cid"), variant_id=bindparam("vid"), quantity=bindparam("q"))
    added = CartLine.quantity + ins.excluded.quantity
    return ins.on_conflict_do_update(index_elements=["cart_id", "variant_id"],
                                     set_={"quantity": case((added > MAX_QUANTITY, MAX_QUANTITY), else_=added)})


_UPSERT_LINE = {name: _upsert_line(name) for name in ("postgresql", "sqlite")}
_TOUCH_CART = update(Cart).where(Cart.id == bindparam("cid")).values(updated_at=bindparam("now"))


_SET_LINE = (update(CartLine).where(CartLine.cart_id == bindparam("cid"), CartLine.variant_id == bindparam("vid"))
             .values(quantity=bindparam("q")))
_DROP_LINE = delete(CartLine).where(CartLine.cart_id == bindparam("cid"), CartLine.variant_id == bindparam("vid"))


def _sellable_variant(session: Any, cart: Any, sku: str | None, variant_id: int | None,
                     removing: bool = False) -> int:
    """The id of a variant this open cart may hold; every refusal names the field.
    ``removing``: a line no longer for sale can still be taken out of the cart."""
    if cart.status != "open":
        raise Conflict(f"cart is {cart.status}; start a new cart", field="cart")
    if variant_id is None:
        if not sku:
            raise ValidationFailed("give a sku or a variant_id", field="sku")
        row = session.execute(_VARIANT_BY_SKU, {"sku": sku}).first()
        if row is None:
            raise NotFound(f"no product variant with SKU {sku!r}", field="sku")
    else:
        row = session.execute(_VARIANT_BY_ID, {"vid": variant_id}).first()
        if row is None:
            raise NotFound(f"no product variant {variant_id}", field="variant_id")
    vid, currency, active, attributes = row
    _check_sellable(cart.currency, sku or str(vid), currency, active and variant_active(attributes), removing)
    return int(vid)


def _check_sellable(cart_currency: str, label: str, currency: str, for_sale: bool, removing: bool = False) -> None:
    """The rules a variant meets to go into a cart (both add paths use them)."""
    if currency != cart_currency:
        raise ValidationFailed(f"variant is priced in {currency}, the cart in {cart_currency}", field="variant_id")
    if not removing and not for_sale:
        raise Conflict(f"{label} is not for sale", field="sku")


def set_line(session: Any, cart: Any, *, sku: str | None = None, variant_id: int | None = None,
             quantity: int) -> None:
    """Set a line's quantity (0 removes it). ``session`` may be a Session or a Connection."""
    _check_quantity(quantity)
    vid = _sellable_variant(session, cart, sku, variant_id, removing=quantity == 0)
    params = {"cid": cart.id, "vid": vid, "q": quantity}
    if quantity == 0:
        session.execute(_DROP_LINE, params)
    elif session.execute(_SET_LINE, params).rowcount == 0:
        session.execute(_NEW_LINE, {"cart_id": cart.id, "variant_id": vid, "quantity": quantity})
    session.execute(_TOUCH_CART, {"cid": cart.id, "now": utcnow()})


def add_item(session: Any, cart: Any, *, sku: str | None = None, variant_id: int | None = None,
             quantity: int = 1) -> None:
    """Add ``quantity`` to a line (creating it). ``session`` may be a Session or a Connection."""
    _check_quantity(quantity)
    if quantity == 0:
        return
    vid = _sellable_variant(session, cart, sku, variant_id)
    _add_line(session, cart.id, vid, quantity)


def _add_line(session: Any, cart_id: int, vid: int, quantity: int) -> None:
    dialect = (session.get_bind() if hasattr(session, "get_bind") else session).dialect.name
    upsert = _UPSERT_LINE.get(dialect)
    if upsert is not None:
        session.execute(upsert, {"cid": cart_id, "vid": vid, "q": quantity})
    elif session.execute(_BUMP_LINE, {"cid": cart_id, "vid": vid, "q": quantity}).rowcount == 0:
        session.execute(_NEW_LINE, {"cart_id": cart_id, "variant_id": vid, "quantity": quantity})
    session.execute(_TOUCH_CART, {"cid": cart_id, "now": utcnow()})


# The cart and the variant to add, in one round trip (the API's add-to-cart hot path).
_CART_AND_SKU = (
    select(Cart.id, Cart.token, Cart.currency, Cart.channel, Cart.status, Cart.email, Cart.customer_id,
           Variant.id.label("variant_id"), Variant.currency.label("variant_currency"),  # type: ignore[union-attr]
           Product.active.label("product_active"),  # type: ignore[attr-defined]
           Variant.attributes.label("variant_attributes"))  # type: ignore[attr-defined]
    .select_from(Cart)
    .outerjoin(Variant, Variant.sku == bindparam("sku"))
    .outerjoin(Product, Product.id == Variant.product_id)
    .where(Cart.token == bindparam("token"))
)


def add_item_by_token(session: Any, token: str, *, sku: str, quantity: int = 1) -> Any:
    """``get_cart`` + ``add_item`` with one read instead of two; returns the cart row."""
    _check_quantity(quantity)
    if not sku:
        raise ValidationFailed("give a sku or a variant_id", field="sku")
    row = session.execute(_CART_AND_SKU, {"token": token, "sku": sku}).first()
    if row is None:
        raise NotFound(f"no cart with token {token[:6]}…; create one first", field="cart")
    if row.status != "open":
        raise Conflict(f"cart is {row.status}; start a new cart", field="cart")
    if row.variant_id is None:
        raise NotFound(f"no product variant with SKU {sku!r}", field="sku")
    _check_sellable(row.currency, sku, row.variant_currency,
                    bool(row.product_active and variant_active(row.variant_attributes)))
    if quantity:
        _add_line(session, row.id, int(row.variant_id), quantity)
    return row


def clear(session: Session, cart: Cart) -> None:
    session.execute(delete(CartLine).where(CartLine.cart_id == cart.id))


_CART_LINES = (
    select(CartLine.variant_id, CartLine.quantity, Variant.sku, Variant.title, Variant.price_amount,
           Variant.currency.label("line_currency"), Variant.weight_grams,  # type: ignore[attr-defined]
           Product.title.label("product_title"))  # type: ignore[attr-defined]
    .join(Variant, Variant.id == CartLine.variant_id).join(Product, Product.id == Variant.product_id)
    .where(CartLine.cart_id == bindparam("cid")).order_by(CartLine.id)
)
_CART_BY_TOKEN = select(Cart.id, Cart.token, Cart.currency, Cart.channel, Cart.status, Cart.email,
                        Cart.customer_id).where(Cart.token == bindparam("token"))


def _line(r: Any) -> CartLineView:
    """A cart line as plugins see it, from a row of either cart query."""
    return CartLineView(variant_id=r.variant_id, sku=r.sku,
                        title=f"{r.product_title} — {r.title}" if r.title else r.product_title,
                        quantity=r.quantity, unit_price=Money(r.price_amount, r.line_currency),
                        weight_grams=r.weight_grams)


def cart_view(session: Any, cart: Cart, address: Address | None = None) -> CartView:
    """The cart with current prices, as plugins see it (one query)."""
    rows = session.execute(_CART_LINES, {"cid": cart.id}).all()
    lines = tuple(_line(r) for r in rows)
    assert cart.id is not None
    return _view_of(cart, lines, address)


# The cart and its lines in one round trip (quotes, payment methods and checkout read it).
_CART_WITH_LINES = (
    select(Cart.id, Cart.token, Cart.currency, Cart.channel, Cart.status, Cart.email, Cart.customer_id,
           CartLine.variant_id, CartLine.quantity, Variant.sku, Variant.title, Variant.price_amount,
           Variant.weight_grams, Variant.currency.label("line_currency"),  # type: ignore[attr-defined]
           Variant.attributes.label("variant_attributes"), Product.active.label("product_active"),  # type: ignore[attr-defined]
           Product.title.label("product_title"))  # type: ignore[attr-defined]
    .select_from(Cart)
    .outerjoin(CartLine, CartLine.cart_id == Cart.id)
    .outerjoin(Variant, Variant.id == CartLine.variant_id)
    .outerjoin(Product, Product.id == Variant.product_id)
    .where(Cart.token == bindparam("token")).order_by(CartLine.id)
)


def view_by_token(session: Any, token: str, address: Address | None = None) -> tuple[Any, CartView]:
    """``get_cart`` + ``cart_view`` with one query: (the cart row, its view). Refuses a
    cart holding a product taken off sale since it was added (the shopper removes it)."""
    rows = session.execute(_CART_WITH_LINES, {"token": token}).all()
    if not rows:
        raise NotFound(f"no cart with token {token[:6]}…; create one first", field="cart")
    cart = rows[0]
    gone = [r.sku for r in rows if r.variant_id is not None
            and not (r.product_active and variant_active(r.variant_attributes))]
    if gone and cart.status == "open":
        raise Conflict(f"{', '.join(gone)} is no longer for sale; remove it from the cart", field="cart")
    lines = tuple(_line(r) for r in rows if r.variant_id is not None)
    return cart, _view_of(cart, lines, address)


def _view_of(cart: Any, lines: tuple[CartLineView, ...], address: Address | None) -> CartView:
    subtotal = sum((ln.unit_price.amount * ln.quantity for ln in lines), 0)
    weight = sum(ln.weight_grams * ln.quantity for ln in lines)
    return CartView(cart_id=cart.id, currency=cart.currency, lines=lines, subtotal=Money(subtotal, cart.currency),
                    weight_grams=weight, customer_email=cart.email, shipping_address=address, channel=cart.channel)
