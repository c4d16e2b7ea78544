"""Catalog writes: categories, products with variants, locations."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from comptoir.kernel.domain import Category, Location, Product, Variant
from comptoir.kernel.errors import Conflict, ValidationFailed
from comptoir.kernel.money import check_currency


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
        if not isinstance(v.price_amount, int) or v.price_amount < 0:
            raise ValidationFailed("price_amount must be a non-negative whole number of cents",
                                   field=f"variants.{i}.price_amount")
        if not v.sku.strip():
            raise ValidationFailed("sku is required", field=f"variants.{i}.sku")
        if session.scalars(select(Variant.id).where(Variant.sku == v.sku)).first() is not None:
            raise Conflict(f"SKU {v.sku!r} is already used", field=f"variants.{i}.sku")
        session.add(Variant(product_id=product.id or 0, sku=v.sku.strip(), title=v.title,
                            price_amount=v.price_amount, currency=check_currency(v.currency, f"variants.{i}.currency"),
                            weight_grams=v.weight_grams, attributes=v.attributes))
    session.flush()
    return product


def ensure_location(session: Session, code: str, name: str, *, kind: str = "warehouse", city: str = "",
                    priority: int = 100, ships_online: bool = True) -> Location:
    loc = session.scalars(select(Location).where(Location.code == code)).first()
    if loc is None:
        loc = Location(code=code, name=name, kind=kind, city=city, priority=priority, ships_online=ships_online)
        session.add(loc)
        session.flush()
    return loc
