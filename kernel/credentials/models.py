"""Tables of the credential store: keyring, accounts, secret versions, grants, audit.

Nothing here holds a plaintext secret or key: KEK versions are wrapped by the master
key (which lives outside the database), data keys are wrapped by a KEK, and secret
values are AES-256-GCM ciphertexts bound to their row by associated data.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column, ts_column


class KekVersion(SQLModel, table=True):
    """One version of the key-encryption key, wrapped by the master key."""

    __tablename__ = "cred_kek"

    version: int = Field(primary_key=True)
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # nonce(12) + AES-GCM(master, KEK)
    primary: bool = False
    created_at: datetime = created_at()


class Account(SQLModel, table=True):
    """A connected account (OAuth2 or API key) owned by one plugin.

    ``config`` says how the broker injects the credential (bearer, header, basic,
    query, hmac) and, for OAuth, where the provider's endpoints are. No secrets.
    """

    __tablename__ = "cred_account"
    __table_args__ = (UniqueConstraint("owner", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    owner: str = Field(max_length=64, index=True)
    name: str = Field(max_length=64)
    kind: str = Field(max_length=12)  # oauth2 | api_key | basic
    provider: str = Field(default="", max_length=80)
    config: dict[str, Any] = json_column()
    status: str = Field(default="active", max_length=12)  # pending | active | deleted
    created_at: datetime = created_at()
    updated_at: datetime | None = ts_column()


class SecretVersion(SQLModel, table=True):
    """One immutable version of one named secret of an account (envelope-encrypted)."""

    __tablename__ = "cred_secret"
    __table_args__ = (UniqueConstraint("account_id", "name", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="cred_account.id", index=True)
    name: str = Field(max_length=64)  # api_key | access_token | refresh_token | client_secret …
    version: int
    kek_version: int
    wrapped_dek: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # nonce + AES-GCM(KEK, DEK)
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # nonce + AES-GCM(DEK, value)
    hint: str = Field(default="", max_length=16)  # masked: last 4 characters at most
    state: str = Field(default="active", max_length=10)  # active | deleted | destroyed
    expires_at: datetime | None = ts_column()
    created_at: datetime = created_at()


class Grant(SQLModel, table=True):
    """A right held by a plugin (``orders:read``, ``host:api.x.com``, ``raw:stripe`` …)."""

    __tablename__ = "cred_grant"

    plugin: str = Field(primary_key=True, max_length=64)
    right: str = Field(primary_key=True, max_length=200)
    granted_by: str = Field(max_length=120)
    granted_at: datetime = created_at()


class RightsReview(SQLModel, table=True):
    """The last manifest version of a plugin whose rights an admin (or the system) reviewed."""

    __tablename__ = "cred_review"

    plugin: str = Field(primary_key=True, max_length=64)
    version: str = Field(max_length=64)
    reviewed_by: str = Field(max_length=120)
    reviewed_at: datetime = created_at()


class AuditEntry(SQLModel, table=True):
    """One append-only, hash-chained audit row. Holds identifiers, never values."""

    __tablename__ = "cred_audit"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # assigned by the appender: id = previous id + 1
    at: str = Field(max_length=40)  # ISO-8601 UTC, kept as text so the hash input is stable
    actor: str = Field(max_length=120)
    # no secondary indexes: every credential use appends a row, and each index is one
    # more page written per commit; listing by plugin or action is a rare admin scan
    action: str = Field(max_length=40)
    plugin: str = Field(default="", max_length=64)
    target: str = Field(default="", max_length=200)
    detail: dict[str, Any] = json_column()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The tip of the chain: the lock appenders serialize on, and a guard against truncation."""

    __tablename__ = "cred_audit_head"

    name: str = Field(primary_key=True, max_length=16)
    last_id: int = 0
    last_hash: str = Field(default="", max_length=64)


class OAuthState(SQLModel, table=True):
    """A pending "connect your account" flow: state and the (encrypted) PKCE verifier."""

    __tablename__ = "cred_oauth_state"

    state: str = Field(primary_key=True, max_length=128)
    account_id: int = Field(foreign_key="cred_account.id")
    verifier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    redirect_uri: str = Field(max_length=500)
    expires_at: datetime | None = ts_column()
