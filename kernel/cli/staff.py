"""``comptoir staff``: accounts, passwords, sign-out everywhere and API tokens."""
from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Location
from comptoir.kernel.errors import NotFound
from comptoir.kernel.staff.models import ApiToken, StaffUser
from comptoir.kernel.staff.rights import RIGHTS, ROLES
from comptoir.kernel.staff.service import (
    create_staff, create_token, get_staff, revoke_token, set_password, sign_out_everywhere,
)


@cli.group()
def staff() -> None:
    """Staff accounts and API tokens."""


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="at least 10 characters; leave empty for an SSO-only account")
@with_kernel
def staff_create(kernel: Any, email: str, role: str, name: str, password: str) -> None:
    """Create a staff account."""
    with transaction(kernel.factory) as s:
        user = create_staff(s, email, role=role, password=password, name=name)
        click.echo(f"created {user.email} ({user.role})")


@staff.command("list")
@with_kernel
def staff_list(kernel: Any) -> None:
    """List staff accounts."""
    with kernel.factory() as s:
        rows = [[u.email, u.role, "yes" if u.active else "no", "SSO" if u.oidc_subject else "",
                 u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"]
                for u in s.scalars(select(StaffUser).order_by(StaffUser.email))]
    click.echo(table(rows, ["email", "role", "active", "sso", "last sign-in"]))


@staff.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_kernel
def staff_password(kernel: Any, email: str, password: str) -> None:
    """Set a new password (ends every session of the account)."""
    with transaction(kernel.factory) as s:
        set_password(s, get_staff(s, email), password)
    click.echo(f"password of {email} changed; its sessions are signed out")


@staff.command("sign-out")
@click.argument("email")
@with_kernel
def staff_sign_out(kernel: Any, email: str) -> None:
    """Sign an account out everywhere (a lost phone, a departure)."""
    with kernel.factory() as s:
        uid = get_staff(s, email).id or 0
    sign_out_everywhere(kernel.factory, uid)
    click.echo(f"every session of {email} has ended")


@staff.group("token")
def token() -> None:
    """Scoped API tokens for POS tills and headless clients (scopes are staff rights, plus pos)."""


@token.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice([r for r in RIGHTS
                                                                                   if r != "staff:manage"]))
@click.option("--location", default="", help="store code of a POS till, e.g. ST-MARAIS")
@with_kernel
def token_create(kernel: Any, name: str, scopes: tuple[str, ...], location: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    with transaction(kernel.factory) as s:
        loc_id = None
        if location:
            loc_id = s.scalar(select(Location.id).where(Location.code == location))
            if loc_id is None:
                raise NotFound(f"no location with code {location!r}", field="location")
        row, text = create_token(s, name, list(scopes), created_by="cli", location_id=loc_id)
    click.echo(f"token {row.id} ({', '.join(row.scopes)}):\n{text}\nkeep it now: it is not shown again")


@token.command("list")
@with_kernel
def token_list(kernel: Any) -> None:
    """List tokens (prefixes only)."""
    with kernel.factory() as s:
        rows = [[str(t.id), t.name, t.prefix + "…", ",".join(t.scopes), "revoked" if t.revoked_at else "active"]
                for t in s.scalars(select(ApiToken).order_by(ApiToken.id))]
    click.echo(table(rows, ["id", "name", "token", "scopes", "state"]))


@token.command("revoke")
@click.argument("token_id", type=int)
@with_kernel
def token_revoke(kernel: Any, token_id: int) -> None:
    """Revoke a token: the next request with it is refused."""
    with transaction(kernel.factory) as s:
        row = revoke_token(s, token_id)
    click.echo(f"token {row.id} ({row.name}) revoked")
