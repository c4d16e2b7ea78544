"""``comptoir sdk new|check|test|build|keygen|sign|publish|hookdocs``: the vendor's tools."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from comptoir.kernel.cli.base import cli


@cli.group()
def sdk() -> None:
    """Write, test, build, sign and publish a plugin."""


@sdk.command("new")
@click.argument("name")
@click.option("--dir", "target", type=click.Path(path_type=Path), help="folder to create (default ./NAME)")
@click.option("--vendor", default="acme", show_default=True, help="your vendor name on the marketplace")
@click.option("--title", default="", help="display name (default from NAME)")
def sdk_new(name: str, target: Path | None, vendor: str, title: str) -> None:
    """Scaffold a working plugin NAME (manifest, package, one hook, tests)."""
    from comptoir.sdk.scaffold import scaffold

    folder = target or Path(name)
    written = scaffold(folder, name, vendor=vendor, title=title)
    click.echo(f"created {folder} ({len(written)} files); next: cd {folder} && comptoir sdk check && comptoir sdk test")


@sdk.command("check")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--no-import", is_flag=True, help="static check only (do not import the plugin's code)")
def sdk_check(path: Path, no_import: bool) -> None:
    """Validate the manifest and every hook signature of the plugin in PATH."""
    from comptoir.sdk.project import PluginProject

    project = PluginProject.load(path)
    impls = project.check(import_code=not no_import)
    m = project.manifest
    click.echo(f"{m.id} {m.version}: manifest ok; hooks ok: {', '.join(sorted({i.hook for i in impls}))}")
    rights = m.requested_rights()
    click.echo(f"rights requested: {', '.join(rights) if rights else 'none'}")


@sdk.command("test", context_settings={"ignore_unknown_options": True})
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def sdk_test(path: Path, pytest_args: tuple[str, ...]) -> None:
    """Run the plugin's tests against a test kernel (extra args go to pytest)."""
    from comptoir.sdk.project import PluginProject

    project = PluginProject.load(path)
    env = dict(os.environ, COMPTOIR_PLUGIN_ROOT=str(project.root),
               PYTHONPATH=os.pathsep.join(filter(None, [str(project.root), os.environ.get("PYTHONPATH")])))
    cmd = [sys.executable, "-m", "pytest", "-p", "comptoir.sdk.pytest_plugin", "-p", "no:cacheprovider",
           "--rootdir", str(project.root), "-q", str(project.root / "tests"), *pytest_args]
    code = subprocess.call(cmd, cwd=project.root, env=env)
    if code:
        raise SystemExit(code)


@sdk.command("hookdocs")
@click.option("--write", "out", type=click.Path(path_type=Path), default=None,
              help="write the page to this file instead of printing it")
def sdk_hookdocs(out: Path | None) -> None:
    """Print (or --write) the hook reference generated from the hookspec docstrings."""
    from comptoir.sdk import hookdocs

    if out is None:
        click.echo(hookdocs.render())
    else:
        hookdocs.write(out)
        click.echo(f"wrote {out}")
