"""Promo collections: named, hand-picked sets of products ("Summer sale", "Gift ideas")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at


class PromoCollection(SQLModel, table=True):
    __tablename__ = "promo_collection"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=120)
    name: str = Field(max_length=200)
    created_at: datetime = created_at()


class PromoCollectionItem(SQLModel, table=True):
    __tablename__ = "promo_collection_item"
    __table_args__ = (UniqueConstraint("collection_id", "product_id"),)

    id: int | None = Field(default=None, primary_key=True)
    collection_id: int = Field(foreign_key="promo_collection.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    position: int = 0
