"""Admin API, catalog side: products, variants, bulk prices, collections, images, stock."""
from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import func, select

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Location, Product, ProductImage, StockLevel, StockMove, Variant
from comptoir.kernel.domain.collections import PromoCollection, PromoCollectionItem
from comptoir.kernel.errors import NotFound, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import stock
from comptoir.kernel.services.catalog import (
    VariantInput, add_variant, create_product, delete_variant, ensure_category, slugify, update_variant,
    variant_active,
)
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset
from comptoir.kernel.web.queries import list_products, location_dict, product_detail

api = Api()
P = "/api/admin/v1"
MAX_IMAGE = 5 * 1024 * 1024
IMAGE_TYPES = {b"\x89PNG": "png", b"\xff\xd8\xff": "jpg", b"GIF8": "gif", b"RIFF": "webp"}


# ---- shared actions (the admin pages call these too) --------------------------------
def bulk_price(kernel: Kernel, product_ids: list[int], mode: str, value: int) -> int:
    """Reprice every variant of the given products; all or nothing. Returns variants changed."""
    changed = 0
    with transaction(kernel.factory) as s:
        for v in s.scalars(select(Variant).where(Variant.product_id.in_(product_ids))  # type: ignore[attr-defined]
                           .with_for_update()):
            if mode == "set":
                new = value
            elif mode == "percent":
                new = (v.price_amount * (100 + value) + 50) // 100  # integer rounding, half up
            else:
                new = v.price_amount + value
            if new < 0:
                raise ValidationFailed(f"{v.sku} would cost less than nothing ({new})", field="value")
            v.price_amount = new
            s.add(v)
            changed += 1
        if not changed:
            raise NotFound("none of these products exist", field="product_ids")
    return changed


def add_to_collection(kernel: Kernel, name: str, product_ids: list[int]) -> dict[str, Any]:
    with transaction(kernel.factory) as s:
        slug = slugify(name)
        col = s.scalars(select(PromoCollection).where(PromoCollection.slug == slug)).first()
        if col is None:
            col = PromoCollection(slug=slug, name=name.strip())
            s.add(col)
            s.flush()
        have = set(s.scalars(select(PromoCollectionItem.product_id)
                             .where(PromoCollectionItem.collection_id == col.id)))
        known = set(s.scalars(select(Product.id).where(Product.id.in_(product_ids))))  # type: ignore[union-attr]
        if set(product_ids) - known:
            raise NotFound(f"no products {sorted(set(product_ids) - known)}", field="product_ids")
        pos = len(have)
        for pid in product_ids:
            if pid not in have:
                s.add(PromoCollectionItem(collection_id=col.id or 0, product_id=pid, position=pos))
                have.add(pid)
                pos += 1
        return {"id": col.id, "slug": col.slug, "name": col.name, "product_count": len(have)}


def save_image(kernel: Kernel, product_id: int, data: bytes, alt: str = "") -> dict[str, Any]:
    """Store an uploaded image (PNG, JPEG, GIF, WebP, checked by content) for a product."""
    if len(data) > MAX_IMAGE:
        raise ValidationFailed("an image is at most 5 MB", field="file")
    ext = next((e for magic, e in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if ext is None or (ext == "webp" and data[8:12] != b"WEBP"):
        raise ValidationFailed("send a PNG, JPEG, GIF or WebP image", field="file")
    with transaction(kernel.factory) as s:
        if s.get(Product, product_id) is None:
            raise NotFound(f"no product {product_id}", field="product_id")
        rel = f"products/{product_id}/{secrets.token_hex(8)}.{ext}"
        target = kernel.settings.data_dir / "media" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        pos = (s.scalar(select(func.max(ProductImage.position)).where(ProductImage.product_id == product_id)) or 0) + 1
        img = ProductImage(product_id=product_id, path=rel, alt=alt[:200], position=pos)
        s.add(img)
        s.flush()
        return {"id": img.id, "url": f"/media/{rel}", "alt": img.alt, "position": pos}


# ---- products ------------------------------------------------------------------------
@api.op("GET", f"{P}/products", summary="Products (admin)", tag="admin: catalog", right="catalog:read",
        paginated=True, response=S.page_of(S.ProductSummary),
        query=(Param("q", {"type": "string", "maxLength": 100}), *limit_offset(50)))
def admin_list_products(call: Call) -> Page:
    """Every product, for sale or not."""
    with read_only(call.kernel.factory) as s:
        return list_products(s, q=call.query["q"] or "", limit=call.query["limit"], offset=call.query["offset"],
                             include_inactive=True)


@api.op("POST", f"{P}/products", summary="Create a product with its variants", tag="admin: catalog",
        right="catalog:write", body=S.ProductIn, response=S.ProductOut, status=201)
def admin_create_product(call: Call) -> dict[str, Any]:
    b: S.ProductIn = call.body
    with transaction(call.kernel.factory) as s:
        cat = ensure_category(s, b.category) if b.category.strip() else None
        p = create_product(s, b.title, [VariantInput(sku=v.sku, price_amount=v.price_amount, currency=v.currency,
                                                     title=v.title, weight_grams=v.weight_grams) for v in b.variants],
                           description=b.description, category_id=cat.id if cat else None, active=b.active)
        return product_detail(s, p.id or 0, include_inactive=True)


@api.op("GET", f"{P}/products/{{product_id}}", summary="Product (admin)", tag="admin: catalog",
        right="catalog:read", response=S.ProductOut)
def admin_get_product(call: Call) -> dict[str, Any]:
    with read_only(call.kernel.factory) as s:
        return product_detail(s, call.path["product_id"], include_inactive=True)


@api.op("PATCH", f"{P}/products/{{product_id}}", summary="Edit a product", tag="admin: catalog",
        right="catalog:write", body=S.ProductPatch, response=S.ProductOut)
def admin_patch_product(call: Call) -> dict[str, Any]:
    b: S.ProductPatch = call.body
    with transaction(call.kernel.factory) as s:
        p = s.get(Product, call.path["product_id"])
        if p is None:
            raise NotFound(f"no product {call.path['product_id']}", field="product_id")
        if b.title is not None:
            p.title = b.title.strip() or p.title
        if b.description is not None:
            p.description = b.description
        if b.active is not None:
            p.active = b.active
        if b.category is not None:
            p.category_id = ensure_category(s, b.category).id if b.category.strip() else None
        s.add(p)
        s.flush()
        return product_detail(s, p.id or 0, include_inactive=True)


@api.op("POST", f"{P}/products/{{product_id}}/variants", summary="Add a variant", tag="admin: catalog",
        right="catalog:write", body=S.VariantIn, response=S.ProductOut, status=201)
def admin_add_variant(call: Call) -> dict[str, Any]:
    """A new SKU for the product, in the product's currency; receive its stock with ``/stock/receive``."""
    b: S.VariantIn = call.body
    with transaction(call.kernel.factory) as s:
        add_variant(s, call.path["product_id"], VariantInput(sku=b.sku, price_amount=b.price_amount,
                                                              currency=b.currency, title=b.title,
                                                              weight_grams=b.weight_grams))
        return product_detail(s, call.path["product_id"], include_inactive=True)


def variant_out(s: Any, v: Variant) -> dict[str, Any]:
    return {"id": v.id, "sku": v.sku, "title": v.title, "price": {"amount": v.price_amount, "currency": v.currency},
            "available": stock.total_available(s, v.id or 0), "weight_grams": v.weight_grams,
            "active": variant_active(v.attributes)}


@api.op("PATCH", f"{P}/variants/{{variant_id}}", summary="Edit a variant (price, title, weight, for sale)",
        tag="admin: catalog", right="catalog:write", body=S.VariantPatch, response=S.VariantOut)
def admin_patch_variant(call: Call) -> dict[str, Any]:
    """``active: false`` stops selling a variant (carts refuse it, the shop hides it) while
    past orders and stock history keep it; ``active: true`` sells it again."""
    b: S.VariantPatch = call.body
    with transaction(call.kernel.factory) as s:
        v = update_variant(s, call.path["variant_id"], title=b.title, price_amount=b.price_amount,
                           weight_grams=b.weight_grams, active=b.active)
        return variant_out(s, v)


@api.op("DELETE", f"{P}/variants/{{variant_id}}", summary="Delete a variant nothing refers to",
        tag="admin: catalog", right="catalog:write", status=204)
def admin_delete_variant(call: Call) -> None:
    """Only for a variant without orders, stock history or reservations, and never a
    product's last one (409 otherwise: deactivate it with PATCH ``active: false``)."""
    with transaction(call.kernel.factory) as s:
        delete_variant(s, call.path["variant_id"])


@api.op("POST", f"{P}/products/bulk-price", summary="Change many prices at once", tag="admin: catalog",
        right="catalog:write", body=S.BulkPriceIn,
        response={"type": "object", "properties": {"variants_changed": {"type": "integer"}}})
def admin_bulk_price(call: Call) -> dict[str, Any]:
    """``set`` a price, change it by a ``percent`` (e.g. -15), or add a ``delta`` in minor units."""
    b: S.BulkPriceIn = call.body
    return {"variants_changed": bulk_price(call.kernel, b.product_ids, b.mode, b.value)}


@api.op("POST", f"{P}/collections", summary="Create a promo collection or add products to it",
        tag="admin: catalog", right="catalog:write", body=S.CollectionIn,
        response={"type": "object", "properties": {"id": {"type": "integer"}, "slug": {"type": "string"},
                                                   "name": {"type": "string"}, "product_count": {"type": "integer"}}})
def admin_collection(call: Call) -> dict[str, Any]:
    return add_to_collection(call.kernel, call.body.name, call.body.product_ids)


@api.op("GET", f"{P}/collections", summary="Promo collections", tag="admin: catalog", right="catalog:read",
        paginated=True, response=S.page_of({"type": "object"}), query=limit_offset(50))
def admin_collections(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(PromoCollection)) or 0
        rows = s.execute(select(PromoCollection.id, PromoCollection.slug, PromoCollection.name,
                                func.count(PromoCollectionItem.id))
                         .outerjoin(PromoCollectionItem, PromoCollectionItem.collection_id == PromoCollection.id)
                         .group_by(PromoCollection.id).order_by(PromoCollection.name).limit(lim).offset(off)).all()
        return Page([{"id": r[0], "slug": r[1], "name": r[2], "product_count": r[3]} for r in rows], total, lim, off)


@api.op("POST", f"{P}/products/{{product_id}}/images", summary="Upload a product image", tag="admin: catalog",
        right="catalog:write", multipart=True, status=201,
        response={"type": "object", "properties": {"id": {"type": "integer"}, "url": {"type": "string"}}})
def admin_upload_image(call: Call) -> dict[str, Any]:
    """multipart/form-data with a ``file`` field (PNG, JPEG, GIF or WebP, up to 5 MB)."""
    upload = call.form.get("file") if call.form is not None else None
    if upload is None or isinstance(upload, str):
        raise ValidationFailed("attach the image as the 'file' field", field="file")
    data = upload.file.read(MAX_IMAGE + 1)
    return save_image(call.kernel, call.path["product_id"], data, str(call.form.get("alt", "")))


# ---- stock -----------------------------------------------------------------------------
@api.op("GET", f"{P}/locations", summary="Locations (admin)", tag="admin: stock", right="stock:read",
        paginated=True, response=S.page_of(S.LocationOut), query=limit_offset(50))
def admin_locations(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Location)) or 0
        rows = s.scalars(select(Location).order_by(Location.priority, Location.id).limit(lim).offset(off))
        return Page([location_dict(x) for x in rows], total, lim, off)


@api.op("GET", f"{P}/stock", summary="Stock levels per location", tag="admin: stock", right="stock:read",
        paginated=True, response=S.page_of({"type": "object"}), query=(
            Param("location_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}),
            Param("q", {"type": "string", "maxLength": 100}, "SKU or product title"), *limit_offset(50)))
def admin_stock(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    return stock_page(call.kernel, call.query["location_id"], call.query["q"] or "", lim, off)


def stock_page(kernel: Kernel, location_id: int | None, q: str, lim: int, off: int) -> Page:
    where: list[Any] = []
    if location_id:
        where.append(StockLevel.location_id == location_id)
    if q:
        needle = f"%{q.lower()}%"
        where.append(func.lower(Variant.sku).like(needle) | func.lower(Product.title).like(needle))
    base = (select(StockLevel.variant_id, StockLevel.location_id, Variant.sku, Product.title, Location.code,
                   StockLevel.on_hand, StockLevel.reserved, StockLevel.low_threshold)
            .join(Variant, Variant.id == StockLevel.variant_id).join(Product, Product.id == Variant.product_id)
            .join(Location, Location.id == StockLevel.location_id).where(*where))
    with read_only(kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = s.execute(base.order_by(Variant.sku, Location.priority).limit(lim).offset(off)).all()
    return Page([{"variant_id": r[0], "location_id": r[1], "sku": r[2], "product": r[3], "location": r[4],
                  "on_hand": r[5], "reserved": r[6], "available": r[5] - r[6], "low_threshold": r[7]}
                 for r in rows], total, lim, off)


STOCK_OK = {"type": "object", "properties": {"ok": {"type": "boolean"}}}


@api.op("POST", f"{P}/stock/receive", summary="Receive units at a location", tag="admin: stock",
        right="stock:write", body=S.StockIn, response=STOCK_OK)
def admin_receive(call: Call) -> dict[str, Any]:
    b: S.StockIn = call.body
    with transaction(call.kernel.factory) as s:
        stock.receive(s, b.variant_id, b.location_id, b.quantity, note=b.note or f"by {call.actor}")
    return {"ok": True}


@api.op("POST", f"{P}/stock/remove", summary="Remove units (loss, damage, count)", tag="admin: stock",
        right="stock:write", body=S.StockIn, response=STOCK_OK)
def admin_remove(call: Call) -> dict[str, Any]:
    b: S.StockIn = call.body
    with transaction(call.kernel.factory) as s:
        stock.remove(s, b.variant_id, b.location_id, b.quantity, note=b.note or f"by {call.actor}")
    return {"ok": True}


@api.op("POST", f"{P}/stock/transfer", summary="Move units between locations", tag="admin: stock",
        right="stock:write", body=S.TransferIn, response=STOCK_OK)
def admin_transfer(call: Call) -> dict[str, Any]:
    b: S.TransferIn = call.body
    with transaction(call.kernel.factory) as s:
        stock.transfer(s, b.variant_id, b.from_location_id, b.to_location_id, b.quantity,
                       note=b.note or f"by {call.actor}")
    return {"ok": True}


@api.op("GET", f"{P}/stock/moves", summary="Stock move history", tag="admin: stock", right="stock:read",
        paginated=True, response=S.page_of({"type": "object"}), query=limit_offset(50))
def admin_moves(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(StockMove)) or 0
        rows = s.scalars(select(StockMove).order_by(StockMove.id.desc()).limit(lim).offset(off))  # type: ignore[union-attr]
        return Page([{"id": m.id, "variant_id": m.variant_id, "from_location_id": m.from_location_id,
                      "to_location_id": m.to_location_id, "quantity": m.quantity, "reason": m.reason,
                      "note": m.note, "at": m.created_at.isoformat()} for m in rows], total, lim, off)
