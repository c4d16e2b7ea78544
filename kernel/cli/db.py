"""``comptoir init`` and ``comptoir db …``."""
from __future__ import annotations

import click

from comptoir.kernel.cli.base import cli
from comptoir.kernel.settings import Settings


@cli.command()
def init() -> None:
    """Create the shop's home folder and database schema."""
    from comptoir.kernel.db import make_engine
    from comptoir.kernel.migrate import upgrade

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    _ensure_master_key(settings)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    engine.dispose()
    click.echo(f"shop ready in {settings.home} ({engine.url.render_as_string(hide_password=True)})")


def _ensure_master_key(settings: Settings) -> None:
    """A new shop gets its credential-store master key (0600 file in the home)."""
    try:
        from comptoir.kernel.credentials.extension import ensure_master_key
    except ModuleNotFoundError:
        return
    ensure_master_key(settings)


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations (kernel and plugin branches)."""
    from comptoir.kernel.db import make_engine
    from comptoir.kernel.migrate import current, upgrade

    settings = Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    upgrade(engine, revision)
    click.echo(f"database at {', '.join(sorted(current(engine)))}")
    engine.dispose()
