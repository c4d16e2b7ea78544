"""``comptoir plugins list|enable|disable|settings``."""
from __future__ import annotations

import json

import click

from comptoir.kernel.cli.base import cli, table, with_kernel


@cli.group()
def plugins() -> None:
    """Installed plugins: list, enable, disable, configure."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@with_kernel
def plugins_list(kernel, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Every installed plugin with its state."""
    recs = sorted(kernel.host.records.values(), key=lambda r: r.name)
    if as_json:
        click.echo(json.dumps([{"id": r.name, "version": r.manifest.version, "enabled": r.enabled,
                                "category": r.manifest.category, "vendor": r.manifest.vendor} for r in recs]))
        return
    rows = [[r.name, r.manifest.version, "enabled" if r.enabled else "disabled", r.manifest.category,
             r.manifest.vendor, "paused" if r.breaker.is_open else ""] for r in recs]
    click.echo(table(rows, ["id", "version", "state", "category", "vendor", "health"]))


@plugins.command("enable")
@click.argument("plugin")
@with_kernel
def plugins_enable(kernel, plugin: str) -> None:  # type: ignore[no-untyped-def]
    """Enable PLUGIN; running shops pick it up within a second."""
    kernel.host.enable(plugin)
    click.echo(f"{plugin} enabled")


@plugins.command("disable")
@click.argument("plugin")
@with_kernel
def plugins_disable(kernel, plugin: str) -> None:  # type: ignore[no-untyped-def]
    """Disable PLUGIN; its data and settings are kept."""
    kernel.host.disable(plugin)
    click.echo(f"{plugin} disabled")


@plugins.command("set")
@click.argument("plugin")
@click.argument("pairs", nargs=-1, required=True)
@with_kernel
def plugins_set(kernel, plugin: str, pairs: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Set settings: comptoir plugins set PLUGIN key=value …  (values are JSON or text)."""
    rec = kernel.host.records.get(plugin)
    settings = dict(rec.settings) if rec else {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep:
            raise click.UsageError(f"{pair!r} is not key=value")
        if rec and key not in rec.manifest.settings:
            raise click.UsageError(f"{plugin} has no setting {key!r}; it has: {', '.join(rec.manifest.settings) or 'none'}")
        if rec and rec.manifest.settings[key].type == "secret":
            raise click.UsageError(f"{key!r} is a secret: store it with `comptoir credentials set {plugin} {key}`")
        try:
            settings[key] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key] = raw
    kernel.host.configure(plugin, settings)
    click.echo(f"{plugin}: {', '.join(sorted(settings))} set")
