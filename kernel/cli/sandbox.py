"""``comptoir sandbox report|probe``: what isolation sandboxed plugins actually get here."""
from __future__ import annotations

import json

import click

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.errors import ComptoirError


@cli.group()
def sandbox() -> None:
    """Untrusted plugins run in sandboxed workers: inspect them."""


def _manager(kernel):  # type: ignore[no-untyped-def]
    manager = kernel.services.get("sandbox")
    if manager is None:
        raise ComptoirError("the sandbox is not part of this build (comptoir.sandbox is missing)")
    return manager


def _layers_table(layers: list[dict]) -> str:  # type: ignore[type-arg]
    rows = [[str(x["name"]), "yes" if x.get("applied") else "NO", str(x.get("detail", ""))] for x in layers]
    return table(rows, ["layer", "applied", "detail"])


@sandbox.command("report")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (what the admin UI shows)")
@with_kernel
def sandbox_report(kernel, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Each sandboxed plugin: state, failures, and every isolation layer, applied or not.

    With no sandboxed plugin installed, a probe worker shows what this machine provides.
    """
    from comptoir.sandbox.report import sandbox_report as build

    manager = _manager(kernel)
    reports = build(kernel)
    probe = None if reports else manager.probe()
    if as_json:
        click.echo(json.dumps({"plugins": reports, "machine_probe": probe}, indent=2, default=str))
        return
    if probe is not None:
        click.echo("no sandboxed plugin is installed; a probe worker on this machine got:")
        click.echo(_layers_table(probe))
        return
    for r in reports:
        state = r["state"] + (f" (disabled: {r['disabled_reason']})" if r["disabled_reason"] else "")
        click.echo(f"{r['plugin']} {r['version']}: {'enabled' if r['enabled'] else 'disabled'}, worker {state}, "
                   f"pid {r['pid'] or '-'}, failures {r['failures_total']}")
        if r["last_error"]:
            click.echo(f"  last error: {r['last_error']}")
        for hook, why in r["hooks_not_sandboxable"].items():
            click.echo(f"  hook {hook} not available in the sandbox: {why}")
        click.echo(_layers_table(r["layers"]))
        click.echo("")


@sandbox.command("probe")
@with_kernel
def sandbox_probe(kernel) -> None:  # type: ignore[no-untyped-def]
    """Start a worker without plugin code and show the layers this machine applies."""
    click.echo(_layers_table(_manager(kernel).probe()))
