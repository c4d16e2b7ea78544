"""``comptoir export`` and ``comptoir import``: the shop's data in open files."""
from __future__ import annotations

from pathlib import Path

import click

from comptoir.kernel.cli.base import cli, with_kernel


@cli.command("export")
@click.argument("folder", type=click.Path(path_type=Path))
@with_kernel
def export_cmd(kernel, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Write every table to FOLDER as JSON Lines, with a manifest."""
    from comptoir.kernel import dataport

    total = sum(dataport.count_rows(kernel).values())
    with click.progressbar(length=total, label="exporting") as bar:
        counts = dataport.export(kernel, folder, progress=bar.update)
    click.echo(f"exported {sum(counts.values())} rows from {len(counts)} tables to {folder}")


@cli.command("import")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@with_kernel
def import_cmd(kernel, folder: Path) -> None:  # type: ignore[no-untyped-def]
    """Load an export into this (empty) shop."""
    import json

    from comptoir.kernel import dataport

    manifest = folder / "manifest.json"
    total = sum(json.loads(manifest.read_text())["tables"].values()) if manifest.exists() else 0
    with click.progressbar(length=total, label="importing") as bar:
        counts = dataport.import_(kernel, folder, progress=bar.update)
    click.echo(f"imported {sum(counts.values())} rows into {len(counts)} tables")
