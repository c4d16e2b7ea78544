"""The installer's tables: what is installed from where, and what the shop has seen.

``installer_trust`` pins the marketplace key and remembers the highest snapshot
version seen, so an older (replayed) index is refused; ``installed_plugin`` keeps the
previous version for rollback and the rights the admin approved.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, json_column, ts_column


class InstalledPlugin(SQLModel, table=True):
    __tablename__ = "installed_plugin"

    plugin: str = Field(primary_key=True, max_length=64)
    version: str = Field(max_length=64)
    previous_version: str = Field(default="", max_length=64)
    dist_name: str = Field(default="", max_length=200)
    sha256: str = Field(default="", max_length=64)
    marketplace: str = Field(default="", max_length=300)
    top_level: list[str] = json_column(list)  # Python packages the wheel ships (to unload them)
    approved_rights: list[str] = json_column(list)
    approved_by: str = Field(default="", max_length=120)
    receipt: str = Field(default="", max_length=100)  # lets this shop review the plugin on the marketplace
    installed_at: datetime = created_at()
    updated_at: datetime | None = ts_column()


class InstallerTrust(SQLModel, table=True):
    __tablename__ = "installer_trust"

    marketplace: str = Field(primary_key=True, max_length=300)
    public_key: str = Field(max_length=64)
    snapshot_version: int = 0
    snapshot_expires: datetime | None = ts_column()
    updated_at: datetime | None = ts_column()

    def as_dict(self) -> dict[str, Any]:
        return {"marketplace": self.marketplace, "key": self.public_key, "snapshot_version": self.snapshot_version}
