"""Catalog writes: categories, products with variants, locations.

The JSON admin API and the admin pages both call these functions, so a rule (unique
SKU, non-negative price, one currency per product) holds the same way for both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import delete, exists, select
from sqlmodel import Session

from comptoir.kernel.domain import (
    CartLine, Category, Location, OrderLine, Product, Reservation, StockLevel, StockMove, Variant,
)
from comptoir.kernel.errors import Conflict, NotFound, ValidationFailed
from comptoir.kernel.money import check_currency
from comptoir.kernel.services import stock

# A variant has no column saying whether it is for sale, and adding one needs a schema
# migration; until then the flag lives in its JSON attributes under this key (absent: for sale).
ACTIVE_KEY = "active"
MAX_WEIGHT_GRAMS = 1_000_000
MAX_PRICE = 2**31 - 1


def variant_active(attributes: Mapping[str, Any] | None) -> bool:
    """Whether a variant with these attributes may be sold."""
    return bool((attributes or {}).get(ACTIVE_KEY, True))


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug:
        raise ValidationFailed("a title with at least one letter or digit is required", field="title")
    return slug[:200]


@dataclass
class VariantInput:
    sku: str
    price_amount: int
    currency: str = "EUR"
    title: str = ""
    weight_grams: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


def ensure_category(session: Session, name: str, parent_id: int | None = None) -> Category:
    slug = slugify(name)
    cat = session.scalars(select(Category).where(Category.slug == slug)).first()
    if cat is None:
        cat = Category(slug=slug, name=name, parent_id=parent_id)
        session.add(cat)
        session.flush()
    return cat


def create_product(session: Session, title: str, variants: list[VariantInput], *, description: str = "",
                   category_id: int | None = None, attributes: dict[str, Any] | None = None,
                   slug: str | None = None, active: bool = True) -> Product:
    if not title.strip():
        raise ValidationFailed("title is required", field="title")
    if not variants:
        raise ValidationFailed("a product needs at least one variant (SKU and price)", field="variants")
    slug = slug or slugify(title)
    if session.scalars(select(Product.id).where(Product.slug == slug)).first() is not None:
        raise Conflict(f"a product with slug {slug!r} exists", field="slug")
    product = Product(title=title.strip(), slug=slug, description=description, category_id=category_id,
                      attributes=attributes or {}, active=active)
    session.add(product)
    session.flush()
    for i, v in enumerate(variants):
        if v.currency != variants[0].currency:
            raise ValidationFailed(f"all variants of a product share one currency: {variants[0].currency}, "
                                   f"not {v.currency}", field=f"variants.{i}.currency")
    seen: set[str] = set()
    for i, v in enumerate(variants):
        if v.sku.strip() in seen:
            raise Conflict(f"sku {v.sku.strip()!r} appears twice in this product", field=f"variants.{i}.sku")
        seen.add(v.sku.strip())
        session.add(_checked_variant(session, product.id or 0, v, prefix=f"variants.{i}."))
    session.flush()
    return product


def _checked_variant(session: Session, product_id: int, v: VariantInput, *, prefix: str = "") -> Variant:
    """A new Variant row from ``v`` once every rule holds; errors name ``prefix`` + the field."""
    sku = v.sku.strip()
    if not sku:
        raise ValidationFailed("sku is required", field=f"{prefix}sku")
    if len(sku) > 100:
        raise ValidationFailed("sku is at most 100 characters", field=f"{prefix}sku")
    if len(v.title) > 200:
        raise ValidationFailed("title is at most 200 characters", field=f"{prefix}title")
    _check_price(v.price_amount, f"{prefix}price_amount")
    _check_weight(v.weight_grams, f"{prefix}weight_grams")
    currency = check_currency(v.currency, f"{prefix}currency")
    if session.scalars(select(Variant.id).where(Variant.sku == sku)).first() is not None:
        raise Conflict(f"sku {sku!r} is already used by another variant; choose another", field=f"{prefix}sku")
    return Variant(product_id=product_id, sku=sku, title=v.title.strip(), price_amount=v.price_amount,
                   currency=currency, weight_grams=v.weight_grams, attributes=dict(v.attributes))


def _check_price(amount: object, name: str) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 <= amount <= MAX_PRICE:
        raise ValidationFailed(f"{name} must be a non-negative whole number of minor units (cents)", field=name)


def _check_weight(grams: object, name: str) -> None:
    if not isinstance(grams, int) or isinstance(grams, bool) or not 0 <= grams <= MAX_WEIGHT_GRAMS:
        raise ValidationFailed(f"{name} must be a whole number of grams from 0 to {MAX_WEIGHT_GRAMS}", field=name)


def add_variant(session: Session, product_id: int, v: VariantInput, *,
                initial_stock: Mapping[int, int] | None = None, note: str = "") -> Variant:
    """Add a variant to a product, in the product's currency, and receive its first units.

    ``initial_stock`` maps location ids to units received there, in the same transaction:
    a refused location or quantity leaves no half-made variant behind."""
    if session.get(Product, product_id) is None:
        raise NotFound(f"no product {product_id}", field="product_id")
    have = session.scalars(select(Variant.currency).where(Variant.product_id == product_id)).first()
    if have is not None and have != v.currency:
        raise ValidationFailed(f"this product is priced in {have}; its variants cannot be priced in {v.currency}",
                               field="currency")
    variant = _checked_variant(session, product_id, v)
    session.add(variant)
    session.flush()
    for location_id, quantity in (initial_stock or {}).items():
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            raise ValidationFailed(f"initial stock at location {location_id} must be a whole number, 0 or more",
                                   field=f"initial_stock.{location_id}")
        if quantity:
            stock.receive(session, variant.id or 0, location_id, quantity, note=note or "initial stock")
    return variant


def update_variant(session: Session, variant_id: int, *, title: str | None = None, price_amount: int | None = None,
                   weight_grams: int | None = None, active: bool | None = None) -> Variant:
    """Change what is given (None leaves a value as it is). The SKU and currency stay:
    orders, stock moves and plugins refer to the SKU."""
    v = session.get(Variant, variant_id)
    if v is None:
        raise NotFound(f"no variant {variant_id}", field="variant_id")
    if title is not None:
        if len(title) > 200:
            raise ValidationFailed("title is at most 200 characters", field="title")
        v.title = title.strip()
    if price_amount is not None:
        _check_price(price_amount, "price_amount")
        v.price_amount = price_amount
    if weight_grams is not None:
        _check_weight(weight_grams, "weight_grams")
        v.weight_grams = weight_grams
    if active is not None:
        # a new dict: the JSON column only notices reassignment, not in-place changes
        attrs = {k: val for k, val in (v.attributes or {}).items() if k != ACTIVE_KEY}
        v.attributes = attrs if active else {**attrs, ACTIVE_KEY: False}
    session.add(v)
    session.flush()
    return v


def variant_in_use(session: Session, variant_id: int) -> str | None:
    """Why a variant must be kept (orders, stock history, reservations refer to it), or None."""
    for table, what in ((OrderLine, "orders"), (StockMove, "stock moves"), (Reservation, "stock reservations")):
        if session.scalar(select(exists().where(table.variant_id == variant_id))):  # type: ignore[attr-defined]
            return what
    return None


def delete_variant(session: Session, variant_id: int) -> int:
    """Delete a variant nothing refers to (a typo, a size never stocked); returns its product id.

    A variant with orders, stock history or reservations is deactivated instead, never
    deleted, so past orders and stock counts keep their meaning. Lines in open carts go."""
    v = session.get(Variant, variant_id)
    if v is None:
        raise NotFound(f"no variant {variant_id}", field="variant_id")
    used = variant_in_use(session, variant_id)
    if used:
        raise Conflict(f"{v.sku} appears in {used}; deactivate it instead of deleting it", field="variant_id")
    others = session.scalar(select(exists().where(Variant.product_id == v.product_id, Variant.id != variant_id)))
    if not others:
        raise Conflict(f"{v.sku} is the product's only variant; a product needs one", field="variant_id")
    session.execute(delete(CartLine).where(CartLine.variant_id == variant_id))  # type: ignore[arg-type]
    session.execute(delete(StockLevel).where(StockLevel.variant_id == variant_id))  # type: ignore[arg-type]
    session.delete(v)
    session.flush()
    return v.product_id


def ensure_location(session: Session, code: str, name: str, *, kind: str = "warehouse", city: str = "",
                    priority: int = 100, ships_online: bool = True) -> Location:
    loc = session.scalars(select(Location).where(Location.code == code)).first()
    if loc is None:
        loc = Location(code=code, name=name, kind=kind, city=city, priority=priority, ships_online=ships_online)
        session.add(loc)
        session.flush()
    return loc
