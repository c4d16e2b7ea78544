"""Catalog reads and merchant feedback: listings, releases, installs, reviews, dashboards."""
from __future__ import annotations

import hashlib
import secrets
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from sqlalchemy import func, select

from comptoir.kernel.manifest import CATEGORIES
from comptoir.marketplace.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from comptoir.marketplace.models import Install, Plugin, Release, Review, Vendor, VendorKey
from comptoir.marketplace.service import Marketplace


def compatible(kernel_api: str, kernel: str) -> bool:
    """True when a release's kernel range admits hook-API version ``kernel``."""
    try:
        return Version(kernel) in SpecifierSet(kernel_api)
    except (InvalidVersion, ValueError):
        return False


def listing_summary(p: Plugin, vendor: str, kernel: str = "") -> dict[str, Any]:
    out = {
        "id": p.id, "name": p.name, "vendor": vendor, "category": p.category, "summary": p.summary,
        "version": p.latest_version, "kernel_api": p.kernel_api, "pricing": p.pricing,
        "installs": p.install_count, "rating": round(p.rating_sum / p.rating_count, 2) if p.rating_count else None,
        "ratings": p.rating_count, "dist_name": p.dist_name,
    }
    if kernel:
        out["compatible"] = compatible(p.kernel_api, kernel)
    return out


def search(mp: Marketplace, q: str = "", *, category: str = "", kernel: str = "", page: int = 1,
           per_page: int = 20) -> dict[str, Any]:
    """A page of listings matching ``q`` (inverted index), optionally compatible with ``kernel``."""
    if category and category not in CATEGORIES:
        raise ValidationFailed(f"unknown category {category!r}; known: {', '.join(CATEGORIES)}", field="category")
    per_page = max(1, min(per_page, 100))
    total, page_ids = mp.index.search_page(q, category=category, kernel=kernel, offset=(page - 1) * per_page,
                                           limit=per_page)
    docs = mp.index.docs  # the index carries what a result line shows: no database read
    results = [doc_summary(docs[i], kernel) for i in page_ids if i in docs]
    return {"total": total, "page": page, "per_page": per_page, "results": results}


def doc_summary(d: Any, kernel: str = "") -> dict[str, Any]:
    out = {"id": d.id, "name": d.name, "vendor": d.vendor, "category": d.category, "summary": d.summary,
           "version": d.version, "kernel_api": d.kernel_api, "pricing": d.pricing, "installs": d.installs,
           "rating": d.rating, "ratings": d.ratings, "dist_name": d.dist_name}
    if kernel:
        out["compatible"] = compatible(d.kernel_api, kernel)
    return out


def categories(mp: Marketplace) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for doc in mp.index.docs.values():
        counts[doc.category] = counts.get(doc.category, 0) + 1
    return [{"id": c, "listings": counts.get(c, 0)} for c in CATEGORIES]


def _plugin(s: Any, plugin_id: str) -> tuple[Plugin, Vendor]:
    row = s.execute(select(Plugin, Vendor).join(Vendor, Vendor.id == Plugin.vendor_id)
                    .where(Plugin.id == plugin_id)).first()
    if row is None:
        raise NotFound(f"no plugin {plugin_id!r} in the catalog; try `comptoir plugins search`")
    return row[0], row[1]


def listing(mp: Marketplace, plugin_id: str, *, kernel: str = "") -> dict[str, Any]:
    """The listing page: description, releases, rights, pricing plan, reviews."""
    with mp.factory() as s:
        p, v = _plugin(s, plugin_id)
        releases = list(s.scalars(select(Release).where(Release.plugin_id == plugin_id)))
        reviews = list(s.scalars(select(Review).where(Review.plugin_id == plugin_id)
                                 .order_by(Review.created_at.desc()).limit(50)))  # type: ignore[attr-defined]
    releases.sort(key=lambda r: Version(r.version), reverse=True)
    out = listing_summary(p, v.name, kernel)
    out.update({
        "description": p.description, "capabilities": p.capabilities, "rights": p.rights,
        "screenshots": releases[0].manifest.get("listing", {}).get("screenshots", []) if releases else [],
        "releases": [{"version": r.version, "kernel_api": r.kernel_api, "yanked": r.yanked,
                      "yank_reason": r.yank_reason, "uploaded_at": r.uploaded_at.isoformat(),
                      **({"compatible": compatible(r.kernel_api, kernel)} if kernel else {})}
                     for r in releases if not r.blocked],
        "reviews": [{"rating": r.rating, "text": r.text, "at": r.created_at.isoformat()} for r in reviews],
    })
    return out


def release_doc(mp: Marketplace, plugin_id: str, version: str = "") -> dict[str, Any]:
    """Everything a kernel needs to fetch and verify one release (latest when no version)."""
    with mp.factory() as s:
        p, v = _plugin(s, plugin_id)
        version = version or p.latest_version
        rel = s.scalar(select(Release).where(Release.plugin_id == plugin_id, Release.version == version))
        if rel is None or not version:
            raise NotFound(f"no release {plugin_id} {version or '(none installable)'}")
        if rel.blocked:
            raise Conflict(f"{plugin_id} {version} is blocked by the marketplace: {rel.block_reason}")
        key = s.scalar(select(VendorKey).where(VendorKey.key_id == rel.vendor_key_id))
    return {
        "plugin": plugin_id, "version": rel.version, "filename": rel.filename, "url": f"/files/{rel.filename}",
        "sha256": rel.sha256, "size": rel.size, "requires_python": rel.requires_python,
        "kernel_api": rel.kernel_api, "manifest": rel.manifest, "yanked": rel.yanked,
        "vendor": {"name": v.name, "key_id": rel.vendor_key_id, "public_key": key.public_key if key else ""},
        "vendor_signature": rel.vendor_signature, "market_signature": rel.market_signature,
        "market_key_id": mp.key.key_id,
    }


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def record_install(mp: Marketplace, plugin_id: str, version: str, shop_id: str) -> str:
    """Count an install; the returned receipt token lets that shop review the plugin."""
    if not shop_id or len(shop_id) > 64:
        raise ValidationFailed("shop_id: 1-64 characters", field="shop_id")
    token = secrets.token_urlsafe(24)
    with mp.factory() as s, s.begin():
        p, _ = _plugin(s, plugin_id)
        s.add(Install(plugin_id=plugin_id, version=version, shop_id=shop_id, token_hash=_hash(token)))
        p.install_count += 1
        s.add(p)
    mp._index_plugin(plugin_id)
    return token


def add_review(mp: Marketplace, plugin_id: str, token: str, rating: int, text: str = "") -> dict[str, Any]:
    """A review by a merchant who installed the plugin (proved by the install receipt)."""
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ValidationFailed("rating must be an integer from 1 to 5", field="rating")
    with mp.factory() as s, s.begin():
        p, _ = _plugin(s, plugin_id)
        inst = s.scalar(select(Install).where(Install.plugin_id == plugin_id, Install.token_hash == _hash(token or "")))
        if inst is None:
            raise Unauthorized("only a shop that installed this plugin may review it (send its install receipt)")
        if s.scalar(select(Review).where(Review.plugin_id == plugin_id, Review.shop_id == inst.shop_id)):
            raise Conflict("this shop already reviewed the plugin")
        s.add(Review(plugin_id=plugin_id, shop_id=inst.shop_id, rating=rating, text=text[:4000]))
        p.rating_sum += rating
        p.rating_count += 1
        s.add(p)
    mp._index_plugin(plugin_id)
    return {"rating": rating, "text": text[:4000]}


def dashboard(mp: Marketplace, vendor: Vendor) -> dict[str, Any]:
    """A vendor's releases, installs and reviews."""
    with mp.factory() as s:
        plugins = list(s.scalars(select(Plugin).where(Plugin.vendor_id == vendor.id).order_by(Plugin.id)))
        ids = [p.id for p in plugins]
        releases = list(s.scalars(select(Release).where(Release.plugin_id.in_(ids)).order_by(Release.id.desc())))  # type: ignore[union-attr]
        installs = dict(s.execute(select(Install.plugin_id, func.count()).where(Install.plugin_id.in_(ids))
                                  .group_by(Install.plugin_id)).all())
        reviews = list(s.scalars(select(Review).where(Review.plugin_id.in_(ids)).order_by(Review.id.desc()).limit(100)))  # type: ignore[union-attr]
        keys = list(s.scalars(select(VendorKey).where(VendorKey.vendor_id == vendor.id)))
    return {
        "vendor": vendor.name,
        "keys": [{"key_id": k.key_id, "status": k.status} for k in keys],
        "plugins": [{**listing_summary(p, vendor.name), "installs": installs.get(p.id, 0)} for p in plugins],
        "releases": [{"plugin": r.plugin_id, "version": r.version, "sha256": r.sha256, "yanked": r.yanked,
                      "blocked": r.blocked, "block_reason": r.block_reason, "uploaded_at": r.uploaded_at.isoformat()}
                     for r in releases],
        "reviews": [{"plugin": r.plugin_id, "rating": r.rating, "text": r.text, "at": r.created_at.isoformat()}
                    for r in reviews],
    }
