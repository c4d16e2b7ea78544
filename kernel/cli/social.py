"""``comptoir social``: collect mentions and reviews now, and read what was collected."""
from __future__ import annotations

import sys
from typing import Any

import click

from comptoir.kernel.cli.base import cli, table, with_kernel


@cli.group("social")
def social() -> None:
    """Social networks: mentions, replies and reviews in the customer records."""


@social.command("collect")
@click.option("--plugin", "plugins", multiple=True, help="only this plugin (repeatable); default: every collector")
@with_kernel
def social_collect(kernel: Any, plugins: tuple[str, ...]) -> None:
    """Ask each social plugin for what is new since its last collection, and store it.

    Exits with status 1 when a plugin failed (the others are still collected)."""
    from comptoir.kernel.errors import NotFound
    from comptoir.kernel.services.mentions import collect, collectors

    names = list(plugins) or collectors(kernel)
    if not names:
        raise NotFound("no enabled plugin collects mentions; enable one first, e.g. "
                       "`comptoir plugins enable mastodon` (or bluesky, google-reviews)", field="plugin")
    report = collect(kernel, plugins=names)
    rows = [[p.plugin, str(p.fetched), str(p.new), str(p.updated), str(p.linked), str(p.rejected),
             f"failed: {p.error}" if p.error else "ok"] for p in report.plugins]
    click.echo(table(rows, ["plugin", "fetched", "new", "updated", "linked", "rejected", "status"]))
    totals = report.as_dict()
    click.echo(f"{totals['new']} new, {totals['updated']} updated, {totals['linked']} linked to customers"
               + (f"; {len(report.failed)} plugin(s) failed, see `comptoir journal`" if report.failed else ""))
    if report.failed:
        sys.exit(1)


@social.command("mentions")
@click.option("--customer", "customer_id", type=int, default=None, help="only this customer's")
@click.option("--network", default="", help="mastodon, bluesky, google …")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@with_kernel
def social_mentions(kernel: Any, customer_id: int | None, network: str, limit: int) -> None:
    """The latest mentions and reviews, newest first."""
    from comptoir.kernel.services.mentions import mention_page

    items, total = mention_page(kernel.factory, customer_id=customer_id, network=network.strip().lower(),
                                limit=limit)
    rows = [[m["at"][:16].replace("T", " "), m["network"], m["kind"], "★" * (m["rating"] or 0),
             m["author_handle"][:30], str(m["customer_id"] or ""), " ".join(m["text"].split())[:60]] for m in items]
    click.echo(table(rows, ["at", "network", "kind", "rating", "author", "customer", "text"]))
    click.echo(f"{len(items)} of {total}")
