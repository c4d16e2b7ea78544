"""Catalog reads shared by the JSON API and the server-rendered pages.

A listing page is four small queries (ids, total, prices, stock), whatever the page
size, so a page of 24 products costs the same as a page of 1.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlmodel import Session

from comptoir.kernel.domain import (
    Category, Location, PaymentTransaction, Product, ProductImage, StockLevel, Variant,
)
from comptoir.kernel.errors import NotFound
from comptoir.kernel.services.catalog import variant_active
from comptoir.kernel.web.api.registry import Page

SORTS = ("title", "price_asc", "price_desc", "newest")


def money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


_ORDER = {"title": "p.title, p.id", "price_asc": "price.p, p.id", "price_desc": "price.p DESC, p.id",
          "newest": "p.id DESC"}
_STOCK = ("SELECT {what} FROM variant v JOIN stock_level sl ON sl.variant_id = v.id "
          "JOIN location l ON l.id = sl.location_id WHERE v.product_id = {pid} AND {where}")


def _variant_for_sale(s: Session, alias: str = "") -> str:
    """SQL that holds for a variant still sold. catalog.update_variant(active=False) writes
    ``{"active": false}`` into the JSON ``attributes`` of one that is not (no key: for
    sale); the column is JSON text on SQLite and ``json`` (not jsonb) on PostgreSQL."""
    col = f"{alias}.attributes" if alias else "attributes"
    if s.get_bind().dialect.name == "postgresql":
        return f"COALESCE({col}->>'active', 'true') <> 'false'"
    return f"COALESCE(json_extract({col}, '$.active'), 1) <> 0"  # JSON false reads as 0


def list_products(s: Session, *, q: str = "", category: str = "", collection: str = "", min_price: int | None = None,
                  max_price: int | None = None, in_stock: bool = False, location_id: int | None = None,
                  sort: str = "title", limit: int = 24, offset: int = 0, include_inactive: bool = False,
                  ids: list[int] | None = None) -> Page:
    """A page of product summaries with their lowest price and units available.

    One SQL statement per page (window count, correlated stock and image lookups for
    the page's rows only), written as plain SQL that SQLite and PostgreSQL both run:
    the catalog listing is the hottest read of a shop."""
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset, "yes": True}
    # units of variants still sold, at the chosen store or wherever ships online
    loc = ("sl.location_id = :location_id" if location_id else "l.ships_online = :yes") + \
        f" AND {_variant_for_sale(s, 'v')}"
    if location_id:
        params["location_id"] = location_id
    if not include_inactive:
        where.append("p.active = :yes")
    if ids is not None:
        where.append("p.id IN :ids")
        params["ids"] = list(ids) or [-1]
    if q:
        sold = "" if include_inactive else f" AND {_variant_for_sale(s)}"  # staff find retired SKUs too
        where.append("(LOWER(p.title) LIKE :needle OR LOWER(p.description) LIKE :needle OR p.id IN "
                     f"(SELECT product_id FROM variant WHERE LOWER(sku) LIKE :needle{sold}))")
        params["needle"] = f"%{q.lower()}%"
    if category:
        where.append("p.category_id IN (SELECT id FROM category WHERE slug = :category)")
        params["category"] = category
    if collection:
        where.append("p.id IN (SELECT i.product_id FROM promo_collection_item i JOIN promo_collection pc "
                     "ON pc.id = i.collection_id WHERE pc.slug = :collection)")
        params["collection"] = collection
    if min_price is not None:
        where.append("price.p >= :min_price")
        params["min_price"] = min_price
    if max_price is not None:
        where.append("price.p <= :max_price")
        params["max_price"] = max_price
    if in_stock:
        where.append("EXISTS (" + _STOCK.format(what="1", pid="p.id",
                                                where=f"sl.on_hand - sl.reserved > 0 AND {loc}") + ")")
    # "Price from" counts only variants still sold: a product none of whose variants is sold
    # drops out of the shop's listing; staff (include_inactive) still see it, without a price.
    join = "LEFT JOIN" if include_inactive else "JOIN"
    sql = (
        "WITH price AS (SELECT product_id AS pid, MIN(price_amount) AS p, MIN(currency) AS cur "
        f"FROM variant WHERE {_variant_for_sale(s)} GROUP BY product_id), "
        "page AS (SELECT p.id, p.slug, p.title, p.active, c.name AS category, price.p, price.cur, "
        f"COUNT(*) OVER () AS total, ROW_NUMBER() OVER (ORDER BY {_ORDER[sort]}) AS rn "
        f"FROM product p {join} price ON price.pid = p.id LEFT JOIN category c ON c.id = p.category_id "
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY {_ORDER[sort]} LIMIT :limit OFFSET :offset) "
        "SELECT page.*, (" + _STOCK.format(what="COALESCE(SUM(sl.on_hand - sl.reserved), 0)", pid="page.id",
                                           where=loc) + ") AS available, "
        "(SELECT path FROM product_image i WHERE i.product_id = page.id ORDER BY i.position LIMIT 1) AS image "
        "FROM page ORDER BY page.rn")
    stmt = text(sql)
    if ids is not None:
        stmt = stmt.bindparams(bindparam("ids", expanding=True))
    rows = s.execute(stmt, params).all()
    if rows:
        total = int(rows[0].total)
    elif offset:  # past the end: the window count saw no row, ask for it
        total = list_products(s, q=q, category=category, collection=collection, min_price=min_price,
                              max_price=max_price, in_stock=in_stock, location_id=location_id, sort=sort,
                              limit=1, offset=0, include_inactive=include_inactive, ids=ids).total
    else:
        total = 0
    items = [{"id": r.id, "slug": r.slug, "title": r.title, "active": bool(r.active), "category": r.category,
              "price_from": money(int(r.p), r.cur) if r.p is not None else None,
              "available": int(r.available or 0), "image": media_url(r.image) if r.image else None} for r in rows]
    return Page(items, total, limit, offset)


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
    if not include_inactive:  # shoppers never see a variant that is no longer sold
        variants = [v for v in variants if variant_active(v.attributes)]
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
                          "available": avail.get(v.id or 0, 0), "weight_grams": v.weight_grams,
                          "active": variant_active(v.attributes)} for v in variants],
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


# The furthest a payment went, in the order that wins: money refunded, captured,
# merely authorized, or released. Without any of these it is still open.
_SETTLED = ("refunded", "captured", "authorized", "voided")


def order_payment(s: Session, order_id: int) -> dict[str, Any] | None:
    """The payment of an order as its provider knows it (plugin, method, provider
    reference, idempotency key, amount) and its ``state``: the furthest of refunded,
    captured, authorized or voided it reached, else ``failed`` when an attempt failed
    (the shopper may try another card) or ``pending``. None for an order without one."""
    rows = s.execute(select(
        PaymentTransaction.plugin, PaymentTransaction.method, PaymentTransaction.kind, PaymentTransaction.status,
        PaymentTransaction.amount, PaymentTransaction.currency, PaymentTransaction.provider_reference,
        PaymentTransaction.idempotency_key).where(PaymentTransaction.order_id == order_id)
        .order_by(PaymentTransaction.id)).all()  # type: ignore[arg-type]
    first = next((r for r in rows if r.kind in ("authorize", "charge")), None)
    if first is None:
        return None
    seen = {r.status for r in rows}
    state = next((st for st in _SETTLED if st in seen), "failed" if seen & {"failed", "declined"} else "pending")
    return {"plugin": first.plugin, "method": first.method, "provider_reference": first.provider_reference,
            "idempotency_key": first.idempotency_key, "amount": first.amount, "currency": first.currency,
            "state": state}
