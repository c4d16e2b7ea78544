"""The registry's own tables, on their own SQLModel metadata (never the shop's schema).

Created with ``create_all`` by :func:`comptoir.marketplace.db.init_db`; the kernel's
Alembic environment never sees them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class MarketBase(SQLModel, registry=registry()):
    """Base of the marketplace tables: a metadata separate from the kernel's."""


metadata = MarketBase.metadata


class Vendor(MarketBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    display_name: str = Field(default="", max_length=200)
    token_hash: str = Field(max_length=64, index=True)  # sha256 of the API token; the token is shown once
    created_at: datetime = _ts()


class VendorKey(MarketBase, table=True):
    """A vendor's Ed25519 public key. Only an ``approved`` key may sign releases; a new
    key stays ``pending`` until the operator approves it, which retires the old one."""

    __tablename__ = "vendor_key"
    id: int | None = Field(default=None, primary_key=True)
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    key_id: str = Field(max_length=16, unique=True)
    public_key: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending | approved | retired
    created_at: datetime = _ts()


class Plugin(MarketBase, table=True):
    """A listing: the latest release's manifest fields, denormalised for the catalog."""

    __table_args__ = (Index("ix_plugin_category_installs", "category", "install_count"),)
    id: str = Field(primary_key=True, max_length=64)
    vendor_id: int = Field(foreign_key="vendor.id", index=True)
    dist_name: str = Field(index=True, unique=True, max_length=200)  # normalized PEP 503 name
    name: str = Field(max_length=200)
    category: str = Field(max_length=32, index=True)
    summary: str = ""
    description: str = ""
    latest_version: str = Field(default="", max_length=64)
    kernel_api: str = Field(default="", max_length=64)
    pricing: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    capabilities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rights: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    install_count: int = 0
    rating_sum: int = 0
    rating_count: int = 0
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class Release(MarketBase, table=True):
    __table_args__ = (UniqueConstraint("plugin_id", "version", name="uq_release_version"),)
    id: int | None = Field(default=None, primary_key=True)
    plugin_id: str = Field(foreign_key="plugin.id", index=True, max_length=64)
    version: str = Field(max_length=64)
    filename: str = Field(max_length=300, unique=True)
    sha256: str = Field(max_length=64)
    size: int
    requires_python: str = ""
    kernel_api: str = ""
    manifest: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metadata_sha256: str = Field(default="", max_length=64)
    vendor_key_id: str = Field(max_length=16)
    vendor_signature: str = ""
    market_signature: str = ""
    yanked: bool = False
    yank_reason: str = ""
    blocked: bool = False
    block_reason: str = ""
    uploaded_at: datetime = _ts()


class Install(MarketBase, table=True):
    """A shop installed a release; the receipt token lets that shop review the plugin."""

    id: int | None = Field(default=None, primary_key=True)
    plugin_id: str = Field(foreign_key="plugin.id", index=True, max_length=64)
    version: str = Field(max_length=64)
    shop_id: str = Field(max_length=64, index=True)
    token_hash: str = Field(max_length=64, index=True)
    created_at: datetime = _ts()


class Review(MarketBase, table=True):
    __table_args__ = (UniqueConstraint("plugin_id", "shop_id", name="uq_review_shop"),)
    id: int | None = Field(default=None, primary_key=True)
    plugin_id: str = Field(foreign_key="plugin.id", index=True, max_length=64)
    shop_id: str = Field(max_length=64)
    rating: int
    text: str = ""
    created_at: datetime = _ts()


class SnapshotState(MarketBase, table=True):
    """The signed index metadata last issued: version only grows."""

    __tablename__ = "snapshot_state"
    id: int = Field(default=1, primary_key=True)
    version: int = 0
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    dirty: bool = True
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
