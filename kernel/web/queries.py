"""Catalog reads shared by the JSON API and the server-rendered pages.

A listing page is four small queries (ids, total, prices, stock), whatever the page
size, so a page of 24 products costs the same as a page of 1.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlmodel import Session

from comptoir.kernel.domain import Category, Location, Product, ProductImage, StockLevel, Variant
from comptoir.kernel.domain.collections import PromoCollection, PromoCollectionItem
from comptoir.kernel.errors import NotFound
from comptoir.kernel.web.api.registry import Page

SORTS = ("title", "price_asc", "price_desc", "newest")


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def list_products(s: Session, *, q: str = "", category: str = "", collection: str = "", min_price: int | None = None,
                  max_price: int | None = None, in_stock: bool = False, location_id: int | None = None,
                  sort: str = "title", limit: int = 24, offset: int = 0, include_inactive: bool = False,
                  ids: list[int] | None = None) -> Page:
    """A page of product summaries with their lowest price and units available."""
    price = (select(Variant.product_id.label("pid"), func.min(Variant.price_amount).label("p"))  # type: ignore[attr-defined]
             .group_by(Variant.product_id).subquery())
    where: list[Any] = []
    if not include_inactive:
        where.append(Product.active.is_(True))  # type: ignore[attr-defined]
    if ids is not None:
        where.append(Product.id.in_(ids))  # type: ignore[union-attr]
    if q:
        needle = f"%{q.lower()}%"
        where.append(or_(func.lower(Product.title).like(needle), func.lower(Product.description).like(needle),
                         Product.id.in_(select(Variant.product_id).where(func.lower(Variant.sku).like(needle)))))  # type: ignore[union-attr]
    if category:
        where.append(Product.category_id.in_(select(Category.id).where(Category.slug == category)))  # type: ignore[union-attr]
    if collection:
        where.append(Product.id.in_(select(PromoCollectionItem.product_id).join(  # type: ignore[union-attr]
            PromoCollection, PromoCollection.id == PromoCollectionItem.collection_id).where(
            PromoCollection.slug == collection)))
    if min_price is not None:
        where.append(price.c.p >= min_price)
    if max_price is not None:
        where.append(price.c.p <= max_price)
    if in_stock:
        stocked = select(StockLevel.variant_id).join(Location, Location.id == StockLevel.location_id).where(
            StockLevel.on_hand - StockLevel.reserved > 0)
        stocked = stocked.where(StockLevel.location_id == location_id) if location_id else stocked.where(
            Location.ships_online.is_(True))  # type: ignore[attr-defined]
        where.append(Product.id.in_(select(Variant.product_id).where(Variant.id.in_(stocked))))  # type: ignore[union-attr]
    base = select(Product.id).join(price, price.c.pid == Product.id).where(*where)
    order = {"title": [Product.title, Product.id], "price_asc": [price.c.p, Product.id],
             "price_desc": [price.c.p.desc(), Product.id], "newest": [Product.id.desc()]}[sort]  # type: ignore[union-attr]
    total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = s.execute(select(Product.id, Product.slug, Product.title, Product.active, Category.name, price.c.p)
                     .join(price, price.c.pid == Product.id).outerjoin(Category, Category.id == Product.category_id)
                     .where(*where).order_by(*order).limit(limit).offset(offset)).all()
    ids = [r[0] for r in rows]
    currency: dict[int, str] = {}
    stock: dict[int, int] = {}
    images: dict[int, str] = {}
    if ids:
        for pid, cur in s.execute(select(Variant.product_id, func.min(Variant.currency))
                                  .where(Variant.product_id.in_(ids)).group_by(Variant.product_id)):  # type: ignore[attr-defined]
            currency[pid] = cur
        sq = (select(Variant.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
              .join(StockLevel, StockLevel.variant_id == Variant.id)
              .join(Location, Location.id == StockLevel.location_id).where(Variant.product_id.in_(ids)))  # type: ignore[attr-defined]
        sq = sq.where(StockLevel.location_id == location_id) if location_id else sq.where(
            Location.ships_online.is_(True))  # type: ignore[attr-defined]
        for pid, n in s.execute(sq.group_by(Variant.product_id)):
            stock[pid] = int(n or 0)
        for pid, path in s.execute(select(ProductImage.product_id, ProductImage.path)
                                   .where(ProductImage.product_id.in_(ids))  # type: ignore[attr-defined]
                                   .order_by(ProductImage.product_id, ProductImage.position.desc())):  # type: ignore[attr-defined]
            images[pid] = media_url(path)
    items = [{"id": r[0], "slug": r[1], "title": r[2], "active": r[3], "category": r[4],
              "price_from": money(r[5], currency.get(r[0], "EUR")) if r[5] is not None else None,
              "available": stock.get(r[0], 0), "image": images.get(r[0])} for r in rows]
    return Page(items, int(total), limit, offset)


def media_url(path: str) -> str:
    return path if "://" in path else f"/media/{path}"


def find_product(s: Session, key: str | int) -> Product:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        product = s.get(Product, int(key))
    else:
        product = s.scalars(select(Product).where(Product.slug == key)).first()
    if product is None:
        raise NotFound(f"no product {key!r}", field="product")
    return product


def product_detail(s: Session, key: str | int, *, include_inactive: bool = False) -> dict[str, Any]:
    p = find_product(s, key)
    if not p.active and not include_inactive:
        raise NotFound(f"product {key!r} is not for sale", field="product")
    cat = s.get(Category, p.category_id) if p.category_id else None
    variants = list(s.scalars(select(Variant).where(Variant.product_id == p.id).order_by(Variant.id)))
    avail: dict[int, int] = {v.id or 0: 0 for v in variants}
    for vid, n in s.execute(select(StockLevel.variant_id, func.sum(StockLevel.on_hand - StockLevel.reserved))
                            .join(Location, Location.id == StockLevel.location_id)
                            .where(StockLevel.variant_id.in_(list(avail)), Location.ships_online.is_(True))  # type: ignore[attr-defined]
                            .group_by(StockLevel.variant_id)):
        avail[vid] = int(n or 0)
    imgs = s.scalars(select(ProductImage).where(ProductImage.product_id == p.id).order_by(ProductImage.position))
    return {"id": p.id, "slug": p.slug, "title": p.title, "description": p.description,
            "category": cat.name if cat else None, "category_slug": cat.slug if cat else None, "active": p.active,
            "attributes": p.attributes,
            "variants": [{"id": v.id, "sku": v.sku, "title": v.title, "price": money(v.price_amount, v.currency),
                          "available": avail.get(v.id or 0, 0), "weight_grams": v.weight_grams} for v in variants],
            "images": [{"id": i.id, "url": media_url(i.path), "alt": i.alt, "position": i.position} for i in imgs]}


def product_availability(s: Session, key: str | int) -> dict[str, Any]:
    """Units available per location and variant: "is it in stock in the shop near me"."""
    p = find_product(s, key)
    variants = dict(s.execute(select(Variant.id, Variant.sku).where(Variant.product_id == p.id)).all())
    rows = s.execute(select(Location.id, Location.code, Location.name, Location.kind, Location.city,
                            StockLevel.variant_id, StockLevel.on_hand - StockLevel.reserved)
                     .join(StockLevel, StockLevel.location_id == Location.id)
                     .where(StockLevel.variant_id.in_(list(variants)))  # type: ignore[attr-defined]
                     .order_by(Location.priority, Location.id)).all()
    out: dict[int, dict[str, Any]] = {}
    for lid, code, name, kind, city, vid, n in rows:
        loc = out.setdefault(lid, {"location_id": lid, "code": code, "name": name, "kind": kind, "city": city,
                                   "variants": []})
        loc["variants"].append({"variant_id": vid, "sku": variants[vid], "available": int(n)})
    return {"product_id": p.id, "locations": list(out.values())}


def location_dict(loc: Location) -> dict[str, Any]:
    return {"id": loc.id, "code": loc.code, "name": loc.name, "kind": loc.kind, "city": loc.city,
            "country": loc.country, "ships_online": loc.ships_online}


def summaries(s: Session, ids: list[int]) -> list[dict[str, Any]]:
    """Summaries of active products, in the order of ``ids`` (recommendations keep their rank)."""
    if not ids:
        return []
    found = {p["id"]: p for p in list_products(s, ids=ids, limit=len(ids)).items}
    return [found[i] for i in ids if i in found]
