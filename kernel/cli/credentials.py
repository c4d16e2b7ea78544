"""``comptoir keys``, ``comptoir audit``, ``comptoir credentials`` and the rights commands
(``comptoir plugins grant|revoke|rights``). Values are typed at a hidden prompt and
never printed back: listings show masked hints only."""
from __future__ import annotations

import json
import os

import click

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.cli.plugins import plugins
from comptoir.kernel.errors import ValidationFailed


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'admin')}"


def _svc(kernel):  # type: ignore[no-untyped-def]
    return kernel.services["credentials"]


# ---- keys ----------------------------------------------------------------------
@cli.group()
def keys() -> None:
    """The credential store's key-encryption keyring."""


@keys.command("status")
@with_kernel
def keys_status(kernel) -> None:  # type: ignore[no-untyped-def]
    """Sealed or not, the master key's source, KEK versions, data keys awaiting rewrap."""
    st = _svc(kernel).status()
    if st["sealed"]:
        click.echo(f"SEALED: {st['reason']}")
        click.echo(f"master key source: {st['provider']}")
        raise SystemExit(2)
    click.echo(f"unsealed; master key source: {st['provider']}")
    click.echo(f"primary KEK version: {st['primary']}; versions: {', '.join(map(str, st['versions']))}")
    click.echo(f"data keys awaiting rewrap: {st['pending_rewrap']}")


@keys.command("rotate")
@click.option("--no-rewrap", is_flag=True, help="only promote the new version; rewrap later (background job)")
@click.option("--background", is_flag=True, help="enqueue the rewrap as a background job")
@with_kernel
def keys_rotate(kernel, no_rewrap: bool, background: bool) -> None:  # type: ignore[no-untyped-def]
    """Add and promote a new KEK version; old data keeps decrypting, then data keys are rewrapped."""
    version = _svc(kernel).rotate(actor=_actor())
    click.echo(f"KEK version {version} is now primary")
    if no_rewrap:
        return
    if background:
        kernel.jobs.enqueue("comptoir.kernel.credentials.rotation.rewrap_job")
        click.echo("rewrap enqueued")
        return
    click.echo(f"{_svc(kernel).rewrap()} data keys rewrapped")


# ---- audit ---------------------------------------------------------------------
@cli.group()
def audit() -> None:
    """The append-only, hash-chained audit log of credential uses and rights."""


@audit.command("verify")
@with_kernel
def audit_verify(kernel) -> None:  # type: ignore[no-untyped-def]
    """Check the whole chain; exit status 1 when tampering is found."""
    problems = _svc(kernel).verify_audit()
    if problems:
        for p in problems[:50]:
            click.echo(p)
        click.echo(f"audit log TAMPERED: {len(problems)} problem(s)")
        raise SystemExit(1)
    click.echo("audit log intact")


@audit.command("list")
@click.option("--plugin", default=None)
@click.option("--action", default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@with_kernel
def audit_list(kernel, plugin: str | None, action: str | None, limit: int, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Recent audit rows, most recent first (identifiers only, never values)."""
    from comptoir.kernel.credentials import audit as audit_log

    rows = audit_log.entries(kernel.factory, plugin=plugin, action=action, limit=limit)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    click.echo(table([[r["id"], r["at"][:19], r["actor"], r["action"], r["plugin"], r["target"],
                       json.dumps(r["detail"], sort_keys=True)] for r in rows],
                     ["id", "at", "actor", "action", "plugin", "target", "detail"]))


# ---- rights --------------------------------------------------------------------
@plugins.command("grant")
@click.argument("plugin")
@click.argument("rights", nargs=-1)
@click.option("--all-requested", is_flag=True, help="grant every right the manifest requests")
@with_kernel
def plugins_grant(kernel, plugin: str, rights: tuple[str, ...], all_requested: bool) -> None:  # type: ignore[no-untyped-def]
    """Grant RIGHTS (orders:read, host:api.x.com, account:NAME, raw:NAME …) to PLUGIN."""
    rec = kernel.host.records.get(plugin)
    wanted = list(rights)
    if all_requested:
        if rec is None:
            raise ValidationFailed(f"plugin {plugin!r} is not installed; cannot read its manifest", field="plugin")
        wanted += rec.manifest.requested_rights()
    if not wanted:
        raise click.UsageError("name the rights to grant, or pass --all-requested")
    if rec is not None:
        requested = set(rec.manifest.requested_rights())
        extra = [r for r in wanted if r not in requested]
        if extra:
            click.echo(f"note: {plugin}'s manifest does not request {', '.join(extra)}")
    new = _svc(kernel).grant(plugin, wanted, _actor(), version=rec.manifest.version if rec else "")
    click.echo(f"{plugin}: granted {', '.join(new) if new else 'nothing new'}")


@plugins.command("revoke")
@click.argument("plugin")
@click.argument("rights", nargs=-1)
@click.option("--all", "revoke_all", is_flag=True, help="revoke every right of PLUGIN")
@with_kernel
def plugins_revoke(kernel, plugin: str, rights: tuple[str, ...], revoke_all: bool) -> None:  # type: ignore[no-untyped-def]
    """Revoke RIGHTS of PLUGIN; its next call is refused."""
    if not rights and not revoke_all:
        raise click.UsageError("name the rights to revoke, or pass --all")
    gone = _svc(kernel).revoke(plugin, None if revoke_all else list(rights), _actor())
    click.echo(f"{plugin}: revoked {', '.join(gone) if gone else 'nothing (not granted)'}")


@plugins.command("rights")
@click.argument("plugin")
@with_kernel
def plugins_rights(kernel, plugin: str) -> None:  # type: ignore[no-untyped-def]
    """Rights PLUGIN holds, and those its manifest requests that await approval."""
    svc = _svc(kernel)
    rows = [[g.right, "granted", g.granted_by, str(g.granted_at)[:19]] for g in svc.rights.rights(plugin)]
    rec = kernel.host.records.get(plugin)
    if rec is not None:
        rows += [[r, "PENDING", "", ""] for r in svc.pending_rights(plugin, rec.manifest)]
    click.echo(table(rows, ["right", "state", "by", "at"]) if rows else f"{plugin} holds no rights")


# ---- credentials ----------------------------------------------------------------
@cli.group()
def credentials() -> None:
    """API-key accounts of plugins: entered once, masked ever after."""


@credentials.command("set")
@click.argument("plugin")
@click.argument("account")
@click.option("--kind", type=click.Choice(["api_key", "basic"]), default="api_key", show_default=True)
@click.option("--provider", default="")
@click.option("--inject", type=click.Choice(["bearer", "header", "basic", "query", "hmac"]), default=None,
              help="how the broker sends it (default: bearer for api_key, basic for basic)")
@click.option("--header", default=None, help="header name for --inject header/hmac")
@click.option("--param", default=None, help="query parameter for --inject query")
@click.option("--username", default=None, help="user name for basic auth")
@click.option("--cas", type=int, default=None, help="expected current version (check-and-set)")
@click.option("--value", envvar="COMPTOIR_CREDENTIAL_VALUE", default=None, hidden=True,
              help="the value (from the environment, for scripts); prompted when absent")
@with_kernel
def credentials_set(kernel, plugin: str, account: str, kind: str, provider: str, inject: str | None,  # type: ignore[no-untyped-def]
                    header: str | None, param: str | None, username: str | None, cas: int | None,
                    value: str | None) -> None:
    """Store the secret of PLUGIN's ACCOUNT (prompted with hidden input)."""
    from comptoir.kernel.credentials.errors import CredentialNotFound

    svc = _svc(kernel)
    if value is None:
        value = click.prompt("secret value (hidden)", hide_input=True, confirmation_prompt=True)
    if not value:
        raise ValidationFailed("an empty secret cannot be stored", field="value")
    config = {k: v for k, v in {"inject": inject, "header": header, "param": param, "username": username}.items() if v}
    try:
        existing = svc.store.account(plugin, account)
        if config or existing.kind != kind:
            svc.store.create_account(plugin, account, kind=kind, provider=provider or existing.provider,
                                     config={**existing.config, **config}, actor=_actor())
    except CredentialNotFound:
        svc.store.create_account(plugin, account, kind=kind, provider=provider, config=config, actor=_actor())
    field = "password" if kind == "basic" else "api_key"
    version = svc.store.put(plugin, account, field, value, cas=cas, actor=_actor())
    click.echo(f"{plugin}/{account}: {field} stored as version {version} ({_hint(svc, plugin, account, field)})")


def _hint(svc, plugin: str, account: str, field: str) -> str:  # type: ignore[no-untyped-def]
    for a in svc.store.accounts(plugin):
        if a["name"] == account:
            return str(a["secrets"].get(field, {}).get("hint", ""))
    return ""


@credentials.command("list")
@click.option("--plugin", default=None)
@with_kernel
def credentials_list(kernel, plugin: str | None) -> None:  # type: ignore[no-untyped-def]
    """Accounts and their masked secrets."""
    rows = []
    for a in _svc(kernel).store.accounts(plugin):
        secrets = ", ".join(f"{n} v{s['version']} {s['hint']} {s['state']}" for n, s in sorted(a["secrets"].items()))
        rows.append([a["owner"], a["name"], a["kind"], a["provider"], a["status"], secrets])
    click.echo(table(rows, ["plugin", "account", "kind", "provider", "status", "secrets"]) if rows
               else "no accounts")


@credentials.command("delete")
@click.argument("plugin")
@click.argument("account")
@click.option("--destroy", is_flag=True, help="wipe the ciphertexts for good (no restore)")
@with_kernel
def credentials_delete(kernel, plugin: str, account: str, destroy: bool) -> None:  # type: ignore[no-untyped-def]
    """Delete PLUGIN's ACCOUNT (soft: restorable) or --destroy it."""
    _svc(kernel).store.delete_account(plugin, account, actor=_actor(), destroy=destroy)
    click.echo(f"{plugin}/{account}: {'destroyed' if destroy else 'deleted'}")
