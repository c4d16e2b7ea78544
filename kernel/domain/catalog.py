"""Catalog: categories, products, variants (SKUs) with exact prices, images."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column


class Category(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=120)
    name: str = Field(max_length=200)
    parent_id: int | None = Field(default=None, foreign_key="category.id")


class Product(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=200)
    title: str = Field(max_length=300)
    description: str = ""
    category_id: int | None = Field(default=None, foreign_key="category.id", index=True)
    attributes: dict[str, Any] = json_column()
    active: bool = Field(default=True, index=True)
    created_at: datetime = created_at()


class Variant(SQLModel, table=True):
    """A sellable SKU. ``price_amount`` is in minor units of ``currency``."""

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    sku: str = Field(index=True, unique=True, max_length=100)
    title: str = Field(default="", max_length=200)
    price_amount: int = Field(ge=0)
    currency: str = Field(max_length=3)
    weight_grams: int = Field(default=0, ge=0)
    attributes: dict[str, Any] = json_column()


class ProductImage(SQLModel, table=True):
    __tablename__ = "product_image"
    __table_args__ = (UniqueConstraint("product_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    path: str = Field(max_length=500)  # relative to the media folder, or an absolute URL
    alt: str = ""
    position: int = 0
