"""``comptoir journal``: what each plugin did, and why a call failed."""
from __future__ import annotations

import click

from comptoir.kernel.cli.base import cli, table, with_kernel


@cli.command()
@click.option("--plugin", help="only this plugin")
@click.option("--outcome", type=click.Choice(["ok", "error", "timeout", "skipped", "denied"]))
@click.option("--limit", default=50, show_default=True)
@with_kernel
def journal(kernel, plugin: str | None, outcome: str | None, limit: int) -> None:  # type: ignore[no-untyped-def]
    """Recent hook calls, newest first."""
    rows = [[e.at.strftime("%Y-%m-%d %H:%M:%S"), e.plugin, e.hook, e.outcome, f"{e.duration_us / 1000:.1f} ms",
             e.error[:80]] for e in kernel.host.journal.entries(plugin=plugin, limit=limit, outcome=outcome)]
    click.echo(table(rows, ["at", "plugin", "hook", "outcome", "took", "error"]) if rows else "the journal is empty")
