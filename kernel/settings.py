"""Settings read from the environment: the same code runs embedded or distributed."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


def _default_home() -> Path:
    return Path(os.environ.get("COMPTOIR_HOME", Path.cwd() / ".comptoir")).resolve()


@dataclass(frozen=True)
class Settings:
    """Everything that differs between a laptop and a production cluster.

    ``database_url`` defaults to SQLite in ``home``; ``redis_url`` unset means jobs run
    in-process. Plugins never see this object: they get a ``PluginContext``.
    """

    home: Path = field(default_factory=_default_home)
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    journal_enabled: bool = True
    hook_timeout_ms: int = 5000
    breaker_threshold: int = 5
    breaker_cooldown_s: float = 30.0
    reservation_ttl_s: int = 900
    plugin_dir: Path | None = None
    mentions_every_s: int = 900  # scheduled social collections ask each plugin at most this often

    @property
    def sqlite_path(self) -> Path:
        return self.home / "shop.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def effective_plugin_dir(self) -> Path:
        return self.plugin_dir or self.home / "plugins"

    def with_(self, **changes: object) -> "Settings":
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        e = os.environ if env is None else env
        home = Path(e.get("COMPTOIR_HOME", Path.cwd() / ".comptoir")).resolve()
        return cls(
            home=home,
            database_url=e.get("COMPTOIR_DATABASE_URL", ""),
            redis_url=e.get("COMPTOIR_REDIS_URL", ""),
            secret_key=e.get("COMPTOIR_SECRET_KEY", ""),
            base_url=e.get("COMPTOIR_BASE_URL", "http://127.0.0.1:8000"),
            journal_enabled=e.get("COMPTOIR_JOURNAL", "1") not in ("0", "false", "off"),
            hook_timeout_ms=int(e.get("COMPTOIR_HOOK_TIMEOUT_MS", "5000")),
            plugin_dir=Path(e["COMPTOIR_PLUGIN_DIR"]) if e.get("COMPTOIR_PLUGIN_DIR") else None,
            mentions_every_s=int(e.get("COMPTOIR_MENTIONS_EVERY_S", "900")),
        )
