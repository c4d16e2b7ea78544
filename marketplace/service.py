"""The registry's use cases: vendors and keys, signed uploads, yank/block, signed index.

Upload never imports a vendor's code: the wheel is checked by
:func:`comptoir.sdk.wheel.inspect_wheel` (RECORD hashes, limits, manifest) and the hook
signatures by :func:`comptoir.sdk.signatures.check_sources` (AST only).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import Version
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import make_engine
from comptoir.marketplace import keys
from comptoir.marketplace.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from comptoir.marketplace.models import Plugin, Release, SnapshotState, Vendor, VendorKey, metadata, utcnow
from comptoir.marketplace.search import Doc, SearchIndex
from comptoir.marketplace.settings import MarketSettings
from comptoir.sdk.errors import HookSignatureError, SignatureInvalid, WheelInvalid
from comptoir.sdk.signatures import check_sources
from comptoir.sdk.signing import ReleaseSignature, key_id
from comptoir.sdk.wheel import inspect_wheel

SNAPSHOT_TYPE = "comptoir-snapshot/1"


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid_public_key(public_key: str) -> str:
    import base64
    import binascii

    try:
        if len(base64.b64decode(public_key, validate=True)) != 32:
            raise ValueError
    except (binascii.Error, ValueError):
        raise ValidationFailed("public_key must be base64 of a 32-byte Ed25519 key "
                               "(the .pub file written by `comptoir sdk keygen`)", field="public_key") from None
    return public_key.strip()


class Marketplace:
    """One registry: its database, files, signing key and search index."""

    def __init__(self, settings: MarketSettings) -> None:
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        settings.files_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.effective_database_url)
        metadata.create_all(self.engine)
        self.factory = sessionmaker(self.engine, class_=Session, expire_on_commit=False)
        self.key = keys.MarketKey(keys.load_or_create(settings.key_path))
        self.index = SearchIndex()
        self._snapshot_lock = threading.Lock()
        self.reindex()

    def close(self) -> None:
        self.engine.dispose()

    # ---- auth --------------------------------------------------------------------
    def vendor_for_token(self, token: str | None) -> Vendor:
        if not token:
            raise Unauthorized("send your vendor token as 'Authorization: Bearer <token>'")
        with self.factory() as s:
            vendor = s.scalar(select(Vendor).where(Vendor.token_hash == _hash_token(token)))
        if vendor is None:
            raise Unauthorized("unknown vendor token; register with POST /api/v1/vendors")
        return vendor

    def check_operator(self, token: str | None) -> None:
        if not self.settings.admin_token:
            raise Forbidden("operator actions are disabled: set COMPTOIR_MARKETPLACE_ADMIN_TOKEN")
        if not token or not hmac.compare_digest(token, self.settings.admin_token):
            raise Unauthorized("operator token required")

    # ---- vendors and keys ----------------------------------------------------------
    def register_vendor(self, name: str, public_key: str, display_name: str = "") -> tuple[Vendor, str, VendorKey]:
        """Create a vendor; returns (vendor, API token shown once, key — pending unless auto-approved)."""
        import re

        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$", name or ""):
            raise ValidationFailed("vendor name: 2-64 letters, digits, dots, dashes, underscores", field="name")
        public_key = _valid_public_key(public_key)
        token = secrets.token_urlsafe(32)
        with self.factory() as s, s.begin():
            if s.scalar(select(Vendor).where(Vendor.name == name)) is not None:
                raise Conflict(f"vendor {name!r} exists; choose another name", field="name")
            vendor = Vendor(name=name, display_name=display_name or name, token_hash=_hash_token(token))
            s.add(vendor)
            s.flush()
            key = self._add_key(s, vendor, public_key)
        return vendor, token, key

    def _add_key(self, s: Session, vendor: Vendor, public_key: str) -> VendorKey:
        kid = key_id(public_key)
        if s.scalar(select(VendorKey).where(VendorKey.key_id == kid)) is not None:
            raise Conflict(f"key {kid} is already registered", field="public_key")
        key = VendorKey(vendor_id=vendor.id, key_id=kid, public_key=public_key, status="pending")
        s.add(key)
        s.flush()
        if self.settings.auto_approve_keys:
            self._approve(s, key)
        return key

    def propose_key(self, vendor: Vendor, public_key: str) -> VendorKey:
        """A key change: the new key waits for the operator; the old one signs until then."""
        with self.factory() as s, s.begin():
            return self._add_key(s, vendor, _valid_public_key(public_key))

    def approve_key(self, kid: str) -> VendorKey:
        with self.factory() as s, s.begin():
            key = s.scalar(select(VendorKey).where(VendorKey.key_id == kid))
            if key is None:
                raise NotFound(f"no key {kid}")
            self._approve(s, key)
            return key

    @staticmethod
    def _approve(s: Session, key: VendorKey) -> None:
        for old in s.scalars(select(VendorKey).where(VendorKey.vendor_id == key.vendor_id,
                                                     VendorKey.status == "approved")):
            old.status = "retired"
        key.status = "approved"

    def pending_keys(self) -> list[dict[str, Any]]:
        with self.factory() as s:
            rows = s.execute(select(VendorKey, Vendor.name).join(Vendor, Vendor.id == VendorKey.vendor_id)
                             .where(VendorKey.status == "pending")).all()
        return [{"key_id": k.key_id, "vendor": n, "public_key": k.public_key, "created_at": k.created_at.isoformat()}
                for k, n in rows]

    def approved_key(self, s: Session, vendor_id: int) -> VendorKey | None:
        return s.scalar(select(VendorKey).where(VendorKey.vendor_id == vendor_id, VendorKey.status == "approved"))

    # ---- releases --------------------------------------------------------------------
    def upload(self, vendor: Vendor, filename: str, wheel: bytes, signature: bytes) -> Release:
        """Validate a signed wheel, counter-sign it and list it. Errors say what to fix."""
        if len(wheel) > self.settings.max_wheel_bytes:
            raise ValidationFailed(f"{filename} is {len(wheel)} bytes; the limit is {self.settings.max_wheel_bytes}")
        if "/" in filename or "\\" in filename or not filename.endswith(".whl"):
            raise ValidationFailed(f"{filename!r}: upload a .whl file (plugins ship as wheels only)", field="wheel")
        with tempfile.TemporaryDirectory(prefix="comptoir-upload-") as tmp:
            path = Path(tmp) / filename
            path.write_bytes(wheel)
            try:
                info = inspect_wheel(path, max_bytes=self.settings.max_wheel_bytes)
                check_sources(info.sources, info.manifest.id)
            except (WheelInvalid, HookSignatureError) as exc:
                raise ValidationFailed(f"{filename}: {exc.message}") from None
        m = info.manifest
        if m.vendor != vendor.name:
            raise Forbidden(f"{m.id} {m.version}: the manifest names vendor {m.vendor!r}, you are {vendor.name!r}")
        sig = ReleaseSignature.from_json(signature)
        with self.factory() as s, s.begin():
            vkey = self.approved_key(s, vendor.id)  # type: ignore[arg-type]
            if vkey is None:
                raise Forbidden(f"vendor {vendor.name!r} has no approved signing key yet; the operator must "
                                "approve it")
            if sig.key_id != vkey.key_id:
                pending = s.scalar(select(VendorKey).where(VendorKey.key_id == sig.key_id))
                why = "is awaiting the operator's approval" if pending is not None and pending.status == "pending" \
                    else "is not a registered key of this vendor"
                raise SignatureInvalid(f"{m.id} {m.version}: signed with key {sig.key_id}, which {why}; "
                                       f"the approved key is {vkey.key_id}")
            sig.verify(vkey.public_key, plugin=m.id, version=m.version, sha256=info.sha256)
            plugin = s.get(Plugin, m.id)
            dist = canonicalize_name(info.dist)
            if plugin is None:
                if s.scalar(select(Plugin).where(Plugin.dist_name == dist)) is not None:
                    raise Conflict(f"distribution name {dist!r} belongs to another plugin")
                plugin = Plugin(id=m.id, vendor_id=vendor.id, dist_name=dist, name=m.name, category=m.category)
            elif plugin.vendor_id != vendor.id:
                raise Forbidden(f"plugin id {m.id!r} belongs to another vendor")
            elif plugin.dist_name != dist:
                raise Conflict(f"{m.id} is published as {plugin.dist_name!r}, not {dist!r}")
            if s.scalar(select(Release).where(Release.plugin_id == m.id, Release.version == m.version)):
                raise Conflict(f"{m.id} {m.version} is already published; releases are immutable, bump the version")
            (self.settings.files_dir / filename).write_bytes(wheel)
            (self.settings.files_dir / f"{filename}.metadata").write_bytes(info.metadata)
            (self.settings.files_dir / f"{filename}.sig").write_bytes(signature)
            release = Release(
                plugin_id=m.id, version=m.version, filename=filename, sha256=info.sha256, size=info.size,
                requires_python=info.requires_python, kernel_api=m.kernel_api, manifest=m.model_dump(mode="json"),
                metadata_sha256=hashlib.sha256(info.metadata).hexdigest(), vendor_key_id=vkey.key_id,
                vendor_signature=sig.signature,
                market_signature=self.key.sign(keys.countersign_message(m.id, m.version, info.sha256, vendor.name,
                                                                        vkey.public_key)))
            s.add(plugin)
            s.flush()
            s.add(release)
            s.flush()
            self._refresh_listing(s, plugin)
            self._mark_dirty(s)
        self._index_plugin(m.id)
        return release

    def _refresh_listing(self, s: Session, plugin: Plugin) -> None:
        """Listing fields follow the newest release that is neither yanked nor blocked."""
        live = [r for r in s.scalars(select(Release).where(Release.plugin_id == plugin.id))
                if not r.yanked and not r.blocked]
        if live:
            latest = max(live, key=lambda r: Version(r.version))
            m = latest.manifest
            plugin.latest_version, plugin.kernel_api = latest.version, latest.kernel_api
            plugin.name, plugin.category = m["name"], m["category"]
            plugin.summary, plugin.description = m["listing"]["summary"], m["listing"]["description"]
            plugin.pricing, plugin.capabilities = m["pricing"], list(m["capabilities"])
            from comptoir.kernel.manifest import parse_manifest

            plugin.rights = parse_manifest(m).requested_rights()
        else:
            plugin.latest_version = ""
        plugin.updated_at = utcnow()
        s.add(plugin)

    def _get_release(self, s: Session, plugin_id: str, version: str) -> Release:
        rel = s.scalar(select(Release).where(Release.plugin_id == plugin_id, Release.version == version))
        if rel is None:
            raise NotFound(f"no release {plugin_id} {version}")
        return rel

    def yank(self, vendor: Vendor, plugin_id: str, version: str, reason: str = "") -> Release:
        """The vendor withdraws a release: still installable by exact version, never chosen as latest."""
        with self.factory() as s, s.begin():
            plugin = s.get(Plugin, plugin_id)
            if plugin is None or plugin.vendor_id != vendor.id:
                raise NotFound(f"you publish no plugin {plugin_id!r}")
            rel = self._get_release(s, plugin_id, version)
            rel.yanked, rel.yank_reason = True, reason or "yanked by the vendor"
            s.add(rel)
            self._refresh_listing(s, plugin)
            self._mark_dirty(s)
        self._index_plugin(plugin_id)
        return rel

    def block(self, plugin_id: str, version: str, reason: str) -> Release:
        """The operator blocks a version: gone from the index; kernels refuse it."""
        with self.factory() as s, s.begin():
            rel = self._get_release(s, plugin_id, version)
            rel.blocked, rel.block_reason = True, reason or "blocked by the marketplace"
            s.add(rel)
            plugin = s.get(Plugin, plugin_id)
            self._refresh_listing(s, plugin)  # type: ignore[arg-type]
            self._mark_dirty(s)
        self._index_plugin(plugin_id)
        return rel

    # ---- signed index metadata -------------------------------------------------------------
    @staticmethod
    def _mark_dirty(s: Session) -> None:
        state = s.get(SnapshotState, 1) or SnapshotState(id=1)
        state.dirty = True
        s.add(state)

    def snapshot(self, *, now: datetime | None = None) -> dict[str, Any]:
        """The signed snapshot: version, expiry, every listed (plugin, version, sha256).

        Re-issued with a higher version whenever releases change or half its lifetime
        has passed, so a kernel that remembers the highest version detects a rollback
        and one that checks the expiry detects a frozen index.
        """
        now = now or datetime.now(timezone.utc)
        with self._snapshot_lock, self.factory() as s, s.begin():
            state = s.get(SnapshotState, 1) or SnapshotState(id=1)
            ttl = timedelta(seconds=self.settings.snapshot_ttl_s)
            expires = state.expires_at
            if expires is not None and expires.tzinfo is None:
                expires = expires.replace(tzinfo=timezone.utc)  # SQLite returns naive datetimes
            if state.dirty or expires is None or expires - now < ttl / 2 or not state.document:
                state.version += 1
                releases = []
                blocked = []
                for rel in s.scalars(select(Release).order_by(Release.plugin_id, Release.id)):
                    if rel.blocked:
                        blocked.append({"plugin": rel.plugin_id, "version": rel.version, "sha256": rel.sha256})
                    else:
                        releases.append({"plugin": rel.plugin_id, "version": rel.version, "sha256": rel.sha256,
                                         "yanked": rel.yanked})
                signed = {"type": SNAPSHOT_TYPE, "version": state.version, "issued": now.isoformat(),
                          "expires": (now + ttl).isoformat(), "releases": releases, "blocked": blocked}
                state.document = {"signed": signed, "key_id": self.key.key_id,
                                  "signature": self.key.sign(keys.canonical(signed))}
                state.expires_at, state.dirty = now + ttl, False
                s.add(state)
            return dict(state.document)

    # ---- search index --------------------------------------------------------------------
    def reindex(self) -> None:
        with self.factory() as s:
            rows = s.execute(select(Plugin, Vendor.name).join(Vendor, Vendor.id == Plugin.vendor_id)).all()
        for plugin, vendor in rows:
            self._put_doc(plugin, vendor)

    def _index_plugin(self, plugin_id: str) -> None:
        with self.factory() as s:
            row = s.execute(select(Plugin, Vendor.name).join(Vendor, Vendor.id == Plugin.vendor_id)
                            .where(Plugin.id == plugin_id)).first()
        if row is not None:
            self._put_doc(*row)

    def _put_doc(self, plugin: Plugin, vendor: str) -> None:
        if not plugin.latest_version:
            self.index.remove(plugin.id)  # nothing installable: not in the catalog
            return
        self.index.put(Doc(plugin.id, plugin.name, vendor, plugin.category, plugin.summary, plugin.description,
                           plugin.install_count, plugin.kernel_api, plugin.latest_version, plugin.dist_name,
                           dict(plugin.pricing),
                           round(plugin.rating_sum / plugin.rating_count, 2) if plugin.rating_count else None,
                           plugin.rating_count))
