"""Marketplace settings, from the environment (``COMPTOIR_MARKETPLACE_*``)."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class MarketSettings:
    """Where the registry keeps its database, files and signing key, and its policies.

    ``auto_approve_keys`` is for a demo marketplace run next to a shop: vendor keys are
    approved on registration. A real operator approves each key (and each key change).
    """

    home: Path
    database_url: str = ""
    admin_token: str = ""
    base_url: str = "http://127.0.0.1:8100"
    auto_approve_keys: bool = False
    snapshot_ttl_s: int = 24 * 3600
    max_wheel_bytes: int = 5 * 1024 * 1024

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'marketplace.db'}"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def key_path(self) -> Path:
        return self.home / "marketplace.key"

    def with_(self, **changes: object) -> "MarketSettings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "MarketSettings":
        e = os.environ if env is None else env
        return cls(
            home=Path(e.get("COMPTOIR_MARKETPLACE_HOME", Path.cwd() / ".comptoir-marketplace")).resolve(),
            database_url=e.get("COMPTOIR_MARKETPLACE_DATABASE_URL", ""),
            admin_token=e.get("COMPTOIR_MARKETPLACE_ADMIN_TOKEN", ""),
            base_url=e.get("COMPTOIR_MARKETPLACE_URL", "http://127.0.0.1:8100"),
            auto_approve_keys=e.get("COMPTOIR_MARKETPLACE_AUTO_APPROVE", "0") in ("1", "true", "on"),
            snapshot_ttl_s=int(e.get("COMPTOIR_MARKETPLACE_SNAPSHOT_TTL_S", str(24 * 3600))),
        )
