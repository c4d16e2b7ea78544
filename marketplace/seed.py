"""Seed a marketplace with the first-party plugins in ``plugins/``, through the vendor path.

Each plugin is built with ``comptoir sdk build``'s code, signed with the first-party
vendor key and uploaded with the same validation any vendor's release gets. Used by
``comptoir marketplace serve --seed-first-party`` and by the demo shop.
"""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from comptoir.kernel.errors import ComptoirError
from comptoir.marketplace.models import Release, Vendor
from comptoir.marketplace.service import Marketplace
from comptoir.sdk.project import PluginProject
from comptoir.sdk.signing import generate_key, load_key, public_b64, save_key, sign_wheel
from comptoir.sdk.wheel import build

log = logging.getLogger("comptoir.marketplace")


def seed_first_party(market: Marketplace, plugins_root: Path) -> list[str]:
    """Publish every plugin folder under ``plugins_root`` not yet published; returns
    ``id version`` of each release published now. Its vendor key lives in the
    marketplace home (``first-party/<vendor>.key``) and is approved by the operator — here."""
    published = []
    for folder in sorted(p.parent for p in plugins_root.glob("*/pyproject.toml")):
        try:
            project = PluginProject.load(folder)
        except ComptoirError as exc:
            log.warning("not seeding %s: %s", folder.name, exc.message)
            continue
        m = project.manifest
        key = _key(market, m.vendor)
        vendor = _vendor(market, m.vendor, public_b64(key))
        with market.factory() as s:
            if s.scalar(select(Release).where(Release.plugin_id == m.id, Release.version == m.version)):
                continue
        with tempfile.TemporaryDirectory(prefix="comptoir-seed-") as tmp:
            try:
                wheel = build(folder, Path(tmp))
                sig = sign_wheel(wheel, key)
                market.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())
            except ComptoirError as exc:
                log.warning("not seeding %s: %s", m.id, exc.message)
                continue
        published.append(f"{m.id} {m.version}")
    return published


def _key(market: Marketplace, vendor: str) -> Any:
    """One signing key per first-party vendor name, kept in the marketplace home."""
    path = market.settings.home / "first-party" / f"{vendor}.key"
    if path.exists():
        return load_key(path)
    key = generate_key()
    save_key(key, path)
    return key


def _vendor(market: Marketplace, name: str, public_key: str) -> Vendor:
    with market.factory() as s:
        vendor = s.scalar(select(Vendor).where(Vendor.name == name))
    if vendor is None:
        vendor, _token, key = market.register_vendor(name, public_key, display_name=f"{name} (first party)")
        market.approve_key(key.key_id)
    return vendor
