"""Posts the merchant publishes on social networks, now or on a schedule.

One row per (post, network): the admin's "publish on Mastodon and Bluesky" makes two
rows that succeed or fail on their own. ``next_attempt_at`` is when the row is next
due: the scheduled instant, then the retry instant after a failure, and while a
process is publishing it (status ``publishing``) the end of its lease, so a row whose
publisher died is taken up again instead of staying stuck.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column

POST_STATUSES = ("scheduled", "publishing", "published", "failed", "cancelled")


class SocialPostRecord(SQLModel, table=True):
    __tablename__ = "social_post"
    __table_args__ = (Index("ix_social_post_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=40)
    plugin: str = Field(max_length=64)  # the plugin that answered social_networks with this network
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    text: str = Field(max_length=500)
    link: str = Field(default="", max_length=1000)
    image_url: str = Field(default="", max_length=1000)
    scheduled_for: datetime | None = ts_column()  # None: as soon as possible
    status: str = Field(default="scheduled", max_length=12)
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    remote_id: str = Field(default="", max_length=300)
    url: str = Field(default="", max_length=1000)
    error: str = Field(default="", max_length=500)  # the network's last refusal, redacted, for the merchant
    attempts: int = 0
    created_by: str = Field(default="", max_length=320)
    created_at: datetime = created_at()
    published_at: datetime | None = ts_column()
