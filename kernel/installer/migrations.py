"""A plugin's own database migrations (``migrations_location``), kept apart from the kernel's.

They run in the shop's process, so only plugins the operator trusts to run in process
may have them; a sandboxed install that declares them is refused (see the installer).
"""
from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

ENV = Path(__file__).parent / "plugin_env"


def version_table(plugin: str) -> str:
    return "alembic_version_" + re.sub(r"[^a-z0-9]", "_", plugin)


def _config(engine: Engine, plugin: str, location: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ENV))
    cfg.set_main_option("version_locations", location)
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_table", version_table(plugin))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, plugin: str, location: str) -> None:
    """Bring ``plugin``'s tables to its newest revision."""
    cfg = _config(engine, plugin, location)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def drop(engine: Engine, plugin: str, location: str) -> None:
    """Run ``plugin``'s downgrades to base (its tables go), then forget its version table."""
    cfg = _config(engine, plugin, location)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.begin() as conn:
        if inspect(conn).has_table(version_table(plugin)):
            conn.execute(text(f'DROP TABLE "{version_table(plugin)}"'))
