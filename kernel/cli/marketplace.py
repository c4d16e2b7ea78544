"""``comptoir marketplace serve|approve-key|block``: run and operate the registry."""
from __future__ import annotations

from pathlib import Path

import click

from comptoir.kernel.cli.base import cli


@cli.group()
def marketplace() -> None:
    """The plugin marketplace (registry, catalog, pip index)."""


@marketplace.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=int)
@click.option("--seed-first-party", "seed", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="publish the plugins in this folder (e.g. plugins/) first, as any vendor would")
def marketplace_serve(host: str, port: int, seed: Path | None) -> None:
    """Serve the marketplace (settings: COMPTOIR_MARKETPLACE_HOME, _DATABASE_URL, _ADMIN_TOKEN)."""
    import uvicorn

    from comptoir.marketplace.app import create_app
    from comptoir.marketplace.settings import MarketSettings

    settings = MarketSettings.from_env()
    if "COMPTOIR_MARKETPLACE_URL" not in __import__("os").environ:
        settings = settings.with_(base_url=f"http://{host}:{port}")
    app = create_app(settings)
    if seed is not None:
        from comptoir.marketplace.seed import seed_first_party

        for line in seed_first_party(app.state.market, seed):
            click.echo(f"published {line}")
    click.echo(f"marketplace on http://{host}:{port}/ (key {app.state.market.key.key_id}, home {settings.home})")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@marketplace.command("approve-key")
@click.argument("key_id")
def marketplace_approve_key(key_id: str) -> None:
    """Approve a vendor's pending signing key (retires its previous key)."""
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings

    mp = Marketplace(MarketSettings.from_env())
    key = mp.approve_key(key_id)
    click.echo(f"key {key.key_id} {key.status}")
    mp.close()


@marketplace.command("block")
@click.argument("plugin")
@click.argument("version")
@click.option("--reason", required=True)
def marketplace_block(plugin: str, version: str, reason: str) -> None:
    """Block PLUGIN VERSION: removed from the index; shops refuse it."""
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings

    mp = Marketplace(MarketSettings.from_env())
    mp.block(plugin, version, reason)
    click.echo(f"{plugin} {version} blocked")
    mp.close()
