"""``comptoir customers segment``: RFM segments stored on every customer."""
from __future__ import annotations

from typing import Any

import click

from comptoir.kernel.cli.base import cli, table, with_kernel


def _customers_group() -> click.Group:
    # another module may own a ``customers`` group: add to it rather than replace it
    existing = cli.commands.get("customers")
    if isinstance(existing, click.Group):
        return existing

    @cli.group("customers")
    def customers() -> None:
        """Customers: segments and pools."""

    return customers


@_customers_group().command("segment")
@with_kernel
def customers_segment(kernel: Any) -> None:
    """Score every customer (recency, frequency, monetary) and store their segment."""
    from comptoir.kernel.services.segmentation import SEGMENT_HELP, segment_customers

    report = segment_customers(kernel.factory)
    rows = [[name, f"{n:,}", SEGMENT_HELP[name]] for name, n in report.counts.items()]
    click.echo(table(rows, ["segment", "customers", "meaning"]))
    click.echo(f"{report.customers:,} customers from {report.orders:,} orders in {report.seconds:.2f}s")
