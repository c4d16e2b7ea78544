"""``comptoir plugins search|info|install|upgrade|rollback|uninstall``: the App store.

The marketplace comes from COMPTOIR_MARKETPLACE_URL (and its key, pinned on first
contact, from COMPTOIR_MARKETPLACE_KEY when given).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from comptoir.kernel.cli.base import table, with_kernel
from comptoir.kernel.cli.plugins import plugins


def _installer(kernel: Any) -> Any:
    return kernel.services["installer"]


def _price(p: dict[str, Any]) -> str:
    pricing = p.get("pricing") or {}
    if pricing.get("model", "free") == "free":
        return "free"
    amount = pricing.get("price") or pricing.get("usage_price") or 0
    return f"{pricing['model']} {amount // 100}.{amount % 100:02d} {pricing.get('currency', '')}"


@plugins.command("search")
@click.argument("query", default="")
@click.option("--category", default="")
@with_kernel
def plugins_search(kernel, query: str, category: str) -> None:  # type: ignore[no-untyped-def]
    """Search the marketplace catalog."""
    res = _installer(kernel).search(query, category)
    rows = [[p["id"], p["version"], p["category"], p["vendor"], _price(p), str(p["installs"]),
             "" if p.get("compatible", True) else "incompatible"] for p in res["results"]]
    click.echo(table(rows, ["id", "version", "category", "vendor", "price", "installs", ""]))
    click.echo(f"{res['total']} found")


@plugins.command("info")
@click.argument("plugin")
@with_kernel
def plugins_info(kernel, plugin: str) -> None:  # type: ignore[no-untyped-def]
    """A plugin's listing: description, rights it asks for, pricing, releases."""
    p = _installer(kernel).info(plugin)
    click.echo(f"{p['name']} ({p['id']}) {p['version']} by {p['vendor']} — {p['category']}, {_price(p)}")
    click.echo(p["summary"])
    click.echo(f"rights: {', '.join(p['rights']) or 'none'}")
    click.echo(f"kernel API: {p['kernel_api']} ({'compatible' if p.get('compatible') else 'NOT compatible'})")
    click.echo(f"installed here: {p['installed'] or 'no'}; installs: {p['installs']}; rating: {p['rating'] or '—'}")


def _confirm_rights(installer: Any, plugin: str, version: str, yes: bool) -> tuple[Any, bool]:
    plan = installer.plan(plugin, version)
    if plan.pending_rights and not yes:
        click.echo(f"{plugin} {plan.version} asks for: {', '.join(plan.pending_rights)}")
        if not click.confirm("Grant these rights and install?", default=False):
            import shutil

            shutil.rmtree(plan.wheel.parent, ignore_errors=True)
            raise click.Abort()
    return plan, True


@plugins.command("install")
@click.argument("plugin")
@click.option("--version", default="", help="exact version (default: latest)")
@click.option("--yes", is_flag=True, help="approve the requested rights without asking")
@with_kernel
def plugins_install(kernel, plugin: str, version: str, yes: bool) -> None:  # type: ignore[no-untyped-def]
    """Verify, install and enable PLUGIN from the marketplace, live."""
    inst = _installer(kernel)
    plan, ok = _confirm_rights(inst, plugin, version, yes)
    done = inst.execute(plan, approve=ok)
    click.echo(f"{plugin} {done.version} installed and enabled")


@plugins.command("upgrade")
@click.argument("plugin")
@click.option("--yes", is_flag=True, help="approve newly requested rights without asking")
@with_kernel
def plugins_upgrade(kernel, plugin: str, yes: bool) -> None:  # type: ignore[no-untyped-def]
    """Upgrade PLUGIN to its latest release (the current one is kept for rollback)."""
    inst = _installer(kernel)
    latest = inst.snapshot().latest(plugin) or ""
    plan, ok = _confirm_rights(inst, plugin, latest, yes)
    done = inst.execute(plan, approve=ok)
    click.echo(f"{plugin} upgraded to {done.version} (from {done.upgrade_from})")


@plugins.command("rollback")
@click.argument("plugin")
@with_kernel
def plugins_rollback(kernel, plugin: str) -> None:  # type: ignore[no-untyped-def]
    """Go back to the version PLUGIN had before its last upgrade."""
    version = _installer(kernel).rollback(plugin)
    click.echo(f"{plugin} rolled back to {version}")


@plugins.command("uninstall")
@click.argument("plugin")
@click.option("--data", type=click.Choice(["keep", "export", "delete"]), default="keep", show_default=True,
              help="what to do with the plugin's stored data")
@click.option("--export-to", type=click.Path(path_type=Path), default=None)
@with_kernel
def plugins_uninstall(kernel, plugin: str, data: str, export_to: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Remove PLUGIN: code, hooks, settings and grants (data kept, exported or deleted)."""
    out = _installer(kernel).uninstall(plugin, data=data, export_to=export_to)
    extra = f"; data exported to {out['export']}" if out.get("export") else f"; data {data}"
    click.echo(f"{plugin} {out['version']} uninstalled{extra}")


@plugins.command("review")
@click.argument("plugin")
@click.argument("rating", type=click.IntRange(1, 5))
@click.argument("text", default="")
@with_kernel
def plugins_review(kernel, plugin: str, rating: int, text: str) -> None:  # type: ignore[no-untyped-def]
    """Rate PLUGIN (1-5) on the marketplace; only shops that installed it may."""
    _installer(kernel).review(plugin, rating, text)
    click.echo(f"review of {plugin} sent")


@plugins.command("audit")
@with_kernel
def plugins_audit(kernel) -> None:  # type: ignore[no-untyped-def]
    """Check installed plugins against the marketplace's signed index; disable blocked versions."""
    disabled = _installer(kernel).audit()
    for line in disabled:
        click.echo(f"disabled {line}: blocked by the marketplace")
    click.echo("index verified" + ("" if disabled else "; no installed version is blocked"))
