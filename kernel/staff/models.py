"""Staff tables: accounts, per-role rights, API tokens, login throttle."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column, ts_column


class StaffUser(SQLModel, table=True):
    """A person who runs the shop. ``session_generation`` bumps on "sign out everywhere":
    every session cookie carries the generation it was issued under."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="support", max_length=20)
    password_hash: str = Field(default="", max_length=200)  # argon2id; empty = SSO only
    oidc_subject: str = Field(default="", max_length=200, index=True)
    active: bool = True
    session_generation: int = 0
    created_at: datetime = created_at()
    last_login_at: datetime | None = ts_column()


class StaffRole(SQLModel, table=True):
    """Rights of a role, as adjusted by an owner (missing row = the defaults)."""

    __tablename__ = "staff_role"

    name: str = Field(primary_key=True, max_length=20)
    rights: list[str] = json_column(list)
    updated_at: datetime | None = ts_column()


class ApiToken(SQLModel, table=True):
    """A scoped, revocable bearer token (POS terminals, headless clients).

    Only a SHA-256 of the token is stored; the token itself is shown once."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)  # first characters, to recognise a token in a list
    token_hash: str = Field(unique=True, max_length=64)
    scopes: list[str] = json_column(list)
    location_id: int | None = Field(default=None, foreign_key="location.id")  # a POS till's store
    created_by: str = Field(default="", max_length=320)
    created_at: datetime = created_at()
    revoked_at: datetime | None = ts_column()
    last_used_at: datetime | None = ts_column()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per key (account or client address), shared by all web workers."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    window_start: datetime | None = ts_column()
    locked_until: datetime | None = ts_column()


__all__ = ["StaffUser", "StaffRole", "ApiToken", "LoginThrottle", "Any"]
