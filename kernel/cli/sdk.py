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


@sdk.command("build")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None, help="output folder (default PATH/dist)")
def sdk_build(path: Path, out: Path | None) -> None:
    """Build the release wheel (manifest injected as .dist-info/comptoir.toml)."""
    from comptoir.sdk.wheel import build, sha256_file

    wheel = build(path, out or path / "dist")
    click.echo(f"built {wheel} sha256={sha256_file(wheel)}")


DEFAULT_KEY = Path("~/.comptoir/vendor.key")


@sdk.command("keygen")
@click.option("--out", type=click.Path(path_type=Path), default=str(DEFAULT_KEY), show_default=True)
@click.option("--force", is_flag=True, help="overwrite an existing key")
def sdk_keygen(out: Path, force: bool) -> None:
    """Create an Ed25519 signing key; register the printed public key with the marketplace."""
    from comptoir.sdk.errors import SdkError
    from comptoir.sdk.signing import generate_key, key_id, save_key

    out = out.expanduser()
    if out.exists() and not force:
        raise SdkError(f"{out} exists; pass --force to replace it (the marketplace must then re-approve the new key)")
    pub = save_key(generate_key(), out)
    click.echo(f"private key: {out} (keep it secret)\npublic key:  {pub}\nkey id:      {key_id(pub)}")


@sdk.command("sign")
@click.argument("wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", type=click.Path(path_type=Path), default=str(DEFAULT_KEY), show_default=True)
def sdk_sign(wheel: Path, key: Path) -> None:
    """Sign WHEEL (sha256 + plugin id + version) into WHEEL.sig."""
    from comptoir.sdk.signing import load_key, sign_wheel

    sig = sign_wheel(wheel, load_key(key.expanduser()))
    click.echo(f"signed: {sig}")


@sdk.command("register")
@click.argument("name")
@click.option("--marketplace", envvar="COMPTOIR_MARKETPLACE_URL", default="http://127.0.0.1:8100", show_default=True)
@click.option("--key", type=click.Path(path_type=Path), default=str(DEFAULT_KEY), show_default=True,
              help="private key whose .pub is registered")
def sdk_register(name: str, marketplace: str, key: Path) -> None:
    """Create vendor account NAME with your public key; prints the API token once."""
    from comptoir.sdk.publish import register

    pub = Path(f"{key.expanduser()}.pub").read_text().strip()
    out = register(marketplace, name, pub)
    click.echo(f"vendor {out['vendor']} created; key {out['key_id']} is {out['key_status']}\n"
               f"token (store it, it is shown once): {out['token']}")


@sdk.command("publish")
@click.argument("wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--marketplace", envvar="COMPTOIR_MARKETPLACE_URL", default="http://127.0.0.1:8100", show_default=True)
@click.option("--token", envvar="COMPTOIR_VENDOR_TOKEN", required=True, help="vendor API token")
def sdk_publish(wheel: Path, marketplace: str, token: str) -> None:
    """Upload WHEEL and WHEEL.sig to the marketplace."""
    from comptoir.sdk.publish import publish

    out = publish(marketplace, wheel, token)
    click.echo(f"published {out['plugin']} {out['version']} sha256={out['sha256']}")
