"""What people say about the shop on social networks and review sites, and who they are.

``SocialMention`` rows come from the plugins' ``social_collect_mentions`` hook; they are
unique per (network, remote_id), so collecting twice (or in two processes at once)
never duplicates one. ``CustomerSocialHandle`` ties a customer to their accounts on the
networks; ``SocialCursor`` remembers, per plugin, up to when it was collected.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column

MENTION_KINDS = ("mention", "reply", "review")


def handle_key(handle: str) -> str:
    """How handles are compared: ``@Lea@Piaille.fr`` and ``lea@piaille.fr`` are one person."""
    return " ".join(handle.split()).lstrip("@").lower()


class SocialMention(SQLModel, table=True):
    __tablename__ = "social_mention"
    __table_args__ = (
        UniqueConstraint("network", "remote_id", name="uq_social_mention_remote"),
        Index("ix_social_mention_author", "network", "author_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=40)
    remote_id: str = Field(max_length=300)
    author_handle: str = Field(max_length=200)
    author_key: str = Field(max_length=200)  # handle_key(author_handle): what handles match on
    author_name: str = Field(default="", max_length=200)
    author_email: str = Field(default="", max_length=320)  # lower case; links a customer who signs up later
    author_followers: int | None = None
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    url: str = Field(default="", max_length=1000)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    kind: str = Field(default="mention", max_length=10)  # mention | reply | review
    rating: int | None = None  # 1-5 stars when the network has them
    plugin: str = Field(max_length=64)  # the plugin that collected it
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    linked_by: str = Field(default="", max_length=10)  # "" | email | handle: why customer_id is set
    collected_at: datetime = created_at()


class CustomerSocialHandle(SQLModel, table=True):
    """A customer's account on a network, recorded by staff (admin page or API)."""

    __tablename__ = "customer_social_handles"
    __table_args__ = (UniqueConstraint("network", "handle", name="uq_customer_social_handle"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    network: str = Field(max_length=40)
    handle: str = Field(max_length=200)  # handle_key() of what staff typed
    created_by: str = Field(default="", max_length=320)
    created_at: datetime = created_at()


class SocialCursor(SQLModel, table=True):
    """Per plugin: the latest mention instant stored (the next ``since``) and when the
    plugin was last asked, which spaces the scheduled collections across processes."""

    __tablename__ = "social_cursor"

    plugin: str = Field(primary_key=True, max_length=64)
    since: datetime | None = ts_column()
    checked_at: datetime | None = ts_column()
    last_error: str = Field(default="", max_length=300)
