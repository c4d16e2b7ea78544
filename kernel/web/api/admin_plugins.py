"""Admin API: plugins (list, enable, disable, settings, rights, connected accounts), staff, roles,
API tokens."""
from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import func, select

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.errors import ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.staff.models import ApiToken, StaffUser
from comptoir.kernel.staff.rights import RIGHTS, all_role_rights, set_role_rights
from comptoir.kernel.staff.service import create_staff, create_token, revoke_token
from comptoir.kernel.web import connect
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, limit_offset

api = Api()
P = "/api/admin/v1"
PLUGIN_SCHEMA = {"type": "object", "required": ["name", "enabled"],
                 "properties": {"name": {"type": "string"}, "enabled": {"type": "boolean"},
                                "version": {"type": "string"}, "requested_rights": {"type": "array"},
                                "pending_rights": {"type": "array"}, "settings": {"type": "object"},
                                "accounts": {"type": "array", "items": {"type": "string"}}}}


def plugin_dict(kernel: Kernel, name: str) -> dict[str, Any]:
    rec = kernel.host._get(name)
    m = rec.manifest
    creds = kernel.services.get("credentials")
    pending: list[str] = []
    if creds is not None:
        try:
            pending = list(creds.pending_rights(name, m))
        except Exception:  # the credential tables may not be migrated on an old shop
            pending = []
    secret = set(m.secret_settings())
    return {"name": name, "title": m.name, "version": m.version, "vendor": m.vendor, "enabled": rec.enabled,
            "source": rec.source, "category": m.category, "capabilities": list(m.capabilities),
            "summary": m.listing.summary, "requested_rights": m.requested_rights(), "pending_rights": pending,
            "accounts": sorted(m.scopes.accounts),
            "settings": {k: v for k, v in rec.settings.items() if k not in secret},
            "settings_schema": {k: {"type": f.type, "label": f.label or k, "default": None if f.type == "secret"
                                    else f.default, "choices": list(f.choices), "help": f.help}
                                for k, f in m.settings.items()},
            "breaker": "open" if getattr(rec.breaker, "is_open", False) else "closed", "load_error": rec.load_error}


def check_settings(kernel: Kernel, name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Validate against the manifest's settings schema; secrets belong in the credential store."""
    m = kernel.host._get(name).manifest
    out: dict[str, Any] = {}
    for key, value in values.items():
        f = m.settings.get(key)
        where = f"settings.{key}"
        if f is None:
            raise ValidationFailed(f"plugin {name!r} has no setting {key!r}", field=where)
        if f.type == "secret":
            raise ValidationFailed(f"{key} is a secret: store it with `comptoir credentials` so it stays encrypted",
                                   field=where)
        if f.type in ("integer", "money"):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationFailed(f"{key} must be a whole number", field=where)
        elif f.type == "boolean":
            if isinstance(value, str):
                value = value.lower() in ("1", "true", "on", "yes")
            if not isinstance(value, bool):
                raise ValidationFailed(f"{key} must be true or false", field=where)
        elif f.type == "choice":
            if value not in f.choices:
                raise ValidationFailed(f"{key} must be one of {', '.join(f.choices)}", field=where)
        elif f.type == "url":
            value = connect.check_url(key, value)
        elif not isinstance(value, str) or len(value) > 2000:
            raise ValidationFailed(f"{key} must be text of at most 2000 characters", field=where)
        out[key] = value
    return out


@api.op("GET", f"{P}/plugins", summary="Installed plugins", tag="admin: plugins", right="plugins:manage",
        paginated=True, response=S.page_of(PLUGIN_SCHEMA), query=limit_offset(50))
def admin_plugins(call: Call) -> Page:
    names = sorted(call.kernel.host.records)
    lim, off = call.query["limit"], call.query["offset"]
    return Page([plugin_dict(call.kernel, n) for n in names[off:off + lim]], len(names), lim, off)


@api.op("GET", f"{P}/plugins/{{name}}", summary="One plugin", tag="admin: plugins", right="plugins:manage",
        response=PLUGIN_SCHEMA)
def admin_plugin(call: Call) -> dict[str, Any]:
    return plugin_dict(call.kernel, call.path["name"])


@api.op("POST", f"{P}/plugins/{{name}}/enable", summary="Enable a plugin now", tag="admin: plugins",
        right="plugins:manage", response=PLUGIN_SCHEMA)
def admin_enable_plugin(call: Call) -> dict[str, Any]:
    call.kernel.host.enable(call.path["name"])
    return plugin_dict(call.kernel, call.path["name"])


@api.op("POST", f"{P}/plugins/{{name}}/disable", summary="Disable a plugin now", tag="admin: plugins",
        right="plugins:manage", response=PLUGIN_SCHEMA)
def admin_disable_plugin(call: Call) -> dict[str, Any]:
    call.kernel.host.disable(call.path["name"])
    return plugin_dict(call.kernel, call.path["name"])


class SettingsApprovalIn(S.In):
    settings: dict[str, Any]
    approve_hosts: list[str] = Field(default_factory=list, max_length=20)


@api.op("PUT", f"{P}/plugins/{{name}}/settings", summary="Change a plugin's settings", tag="admin: plugins",
        right="plugins:manage", body=SettingsApprovalIn, response=PLUGIN_SCHEMA)
def admin_plugin_settings(call: Call) -> dict[str, Any]:
    """A ``url`` setting whose host the plugin may not reach yet is refused (409, naming the
    ``host:…`` right) unless ``approve_hosts`` lists that right, which is then granted."""
    name = call.path["name"]
    save_settings(call.kernel, name, call.body.settings, call.body.approve_hosts, call.actor)
    return plugin_dict(call.kernel, name)


def save_settings(kernel: Kernel, name: str, values: dict[str, Any], approved: list[str], actor: str) -> list[str]:
    """Validate, approve the hosts url settings name (or raise ``HostApprovalNeeded``), store.
    Returns the ``host:`` rights granted on the way."""
    rec = kernel.host._get(name)
    clean = check_settings(kernel, name, values)
    granted = connect.approve_hosts(kernel, name, clean, approved, actor)
    kernel.host.configure(name, {**rec.settings, **clean})
    return granted


@api.op("POST", f"{P}/plugins/{{name}}/grant", summary="Grant rights a plugin requested", tag="admin: plugins",
        right="plugins:manage", body=S.GrantIn, response=PLUGIN_SCHEMA)
def admin_grant(call: Call) -> dict[str, Any]:
    """Only rights the plugin's manifest requests can be granted."""
    name = call.path["name"]
    grant_rights(call.kernel, name, call.body.rights, call.actor)
    return plugin_dict(call.kernel, name)


def grant_rights(kernel: Kernel, name: str, rights: list[str], actor: str) -> list[str]:
    rec = kernel.host._get(name)
    creds = kernel.services.get("credentials")
    if creds is None:
        raise ValidationFailed("this shop has no credential store; rights follow the manifests", field="rights")
    asked = set(rec.manifest.requested_rights())
    extra = [r for r in rights if r not in asked]
    if extra:
        raise ValidationFailed(f"{name} did not request {', '.join(extra)}", field="rights")
    return list(creds.grant(name, rights, actor, version=rec.manifest.version))


# ---- connected accounts -----------------------------------------------------------------
ACCOUNT_SCHEMA = {
    "type": "object", "required": ["name", "kind", "state", "connected"],
    "properties": {"name": {"type": "string"}, "kind": {"type": "string", "enum": ["oauth2", "api_key", "basic"]},
                   "provider": {"type": "string"}, "label": {"type": "string"},
                   "state": {"type": "string", "enum": ["connected", "pending", "not connected"]},
                   "connected": {"type": "boolean"}, "hint": {"type": "string", "description": "masked: …1234"},
                   "connected_at": {"type": "string"}, "username": {"type": "string"},
                   "raw_access": {"type": "boolean"}, "raw_granted": {"type": "boolean"},
                   "inject": {"type": "string"}}}
ACCOUNTS_SCHEMA = {"type": "object", "required": ["plugin", "accounts"],
                   "properties": {"plugin": {"type": "string"}, "accounts": {"type": "array", "items": ACCOUNT_SCHEMA}}}
CONNECTED_SCHEMA = {**ACCOUNT_SCHEMA, "properties": {
    **ACCOUNT_SCHEMA["properties"],
    "setup": {"type": "object", "description": "what the plugin set up at the provider (account_connected)",
              "properties": {"lines": {"type": "array", "items": {"type": "string"}}, "error": {"type": "string"}}}}}


class AccountSecretIn(S.In):
    secret: str = Field(min_length=1, max_length=connect.MAX_SECRET, description="stored encrypted; never returned")
    username: str = Field(default="", max_length=200, description="basic accounts: the user name (not secret)")
    approve_raw: bool | None = Field(default=None, description="let the plugin read the secret itself (raw:<account>)")


class OAuthStartIn(S.In):
    client_id: str = Field(default="", max_length=500)
    client_secret: str = Field(default="", max_length=connect.MAX_SECRET)
    settings: dict[str, Any] = Field(default_factory=dict, description="url settings the provider's address needs")
    approve_hosts: list[str] = Field(default_factory=list, max_length=20)
    approve_raw: bool | None = None


def _public(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k in ACCOUNT_SCHEMA["properties"]}  # type: ignore[operator]


@api.op("GET", f"{P}/plugins/{{name}}/accounts", summary="A plugin's accounts and whether they are connected",
        tag="admin: plugins", right="plugins:manage", response=ACCOUNTS_SCHEMA)
def admin_plugin_accounts(call: Call) -> dict[str, Any]:
    """Masked state only: a hint of the last characters, never a value."""
    name = call.path["name"]
    return {"plugin": name, "accounts": [_public(a) for a in connect.account_states(call.kernel, name)]}


@api.op("PUT", f"{P}/plugins/{{name}}/accounts/{{account}}", summary="Connect (or replace) an API-key account",
        tag="admin: plugins", right="plugins:manage", body=AccountSecretIn, response=CONNECTED_SCHEMA)
def admin_connect_account(call: Call) -> dict[str, Any]:
    """Stores the secret in the credential store (never returned), with the injection the
    manifest declares, grants ``account:<name>``, then lets the plugin finish its set-up
    (``account_connected``): ``setup`` holds its lines, or its error."""
    name, account, b = call.path["name"], call.path["account"], call.body
    connect.store_secret(call.kernel, name, account, b.secret, actor=call.actor, username=b.username,
                         approve_raw=b.approve_raw)
    setup = connect.after_connect(call.kernel, name, account, connect.shop_url(call.kernel, str(call.request.base_url)))
    return {**_public(connect.account_state(call.kernel, name, account)), "setup": setup}


@api.op("DELETE", f"{P}/plugins/{{name}}/accounts/{{account}}", summary="Disconnect an account (secrets wiped)",
        tag="admin: plugins", right="plugins:manage", response=ACCOUNT_SCHEMA)
def admin_disconnect_account(call: Call) -> dict[str, Any]:
    name, account = call.path["name"], call.path["account"]
    connect.disconnect(call.kernel, name, account, actor=call.actor)
    return _public(connect.account_state(call.kernel, name, account))


@api.op("POST", f"{P}/plugins/{{name}}/accounts/{{account}}/oauth", summary="Start connecting an OAuth account",
        tag="admin: plugins", right="plugins:manage", body=OAuthStartIn,
        response={"type": "object", "required": ["authorize_url"],
                  "properties": {"authorize_url": {"type": "string"}, "redirect_uri": {"type": "string"}}})
def admin_oauth_start(call: Call) -> dict[str, Any]:
    """Open ``authorize_url`` in the browser of a signed-in admin: the provider sends it back
    to ``redirect_uri`` (the admin's callback page), which stores the tokens. ``settings``
    may set the url settings the provider's address is built from (e.g. a Mastodon instance)."""
    name, account, b = call.path["name"], call.path["account"], call.body
    connect.check_account_settings(call.kernel, name, account, b.settings)
    if b.settings:
        save_settings(call.kernel, name, b.settings, b.approve_hosts, call.actor)
    connect.set_raw(call.kernel, name, account, b.approve_raw, call.actor)
    shop = connect.shop_url(call.kernel, str(call.request.base_url))
    url = connect.oauth_start(call.kernel, name, account, shop, actor=call.actor, client_id=b.client_id,
                              client_secret=b.client_secret)
    return {"authorize_url": url, "redirect_uri": shop + connect.CALLBACK_PATH}


# ---- staff, roles, tokens ---------------------------------------------------------------
STAFF_SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string"},
                                                 "role": {"type": "string"}, "active": {"type": "boolean"}}}


def staff_dict(u: StaffUser) -> dict[str, Any]:
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "active": u.active,
            "sso": bool(u.oidc_subject), "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}


def token_dict(t: ApiToken) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "prefix": t.prefix, "scopes": t.scopes, "location_id": t.location_id,
            "created_by": t.created_by, "created_at": t.created_at.isoformat(), "active": t.revoked_at is None}


@api.op("GET", f"{P}/staff", summary="Staff accounts", tag="admin: staff", right="staff:manage", paginated=True,
        response=S.page_of(STAFF_SCHEMA), query=limit_offset(50))
def admin_staff(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(StaffUser)) or 0
        rows = s.scalars(select(StaffUser).order_by(StaffUser.email).limit(lim).offset(off))
        return Page([staff_dict(u) for u in rows], total, lim, off)


@api.op("POST", f"{P}/staff", summary="Create a staff account", tag="admin: staff", right="staff:manage",
        body=S.StaffIn, response=STAFF_SCHEMA, status=201)
def admin_create_staff(call: Call) -> dict[str, Any]:
    b: S.StaffIn = call.body
    with transaction(call.kernel.factory) as s:
        return staff_dict(create_staff(s, b.email, role=b.role, password=b.password, name=b.name))


@api.op("PATCH", f"{P}/staff/{{staff_id}}", summary="Change a role, (de)activate, sign out everywhere",
        tag="admin: staff", right="staff:manage", body=S.StaffPatch, response=STAFF_SCHEMA)
def admin_patch_staff(call: Call) -> dict[str, Any]:
    """Deactivating or signing out ends every session of the account at once."""
    b: S.StaffPatch = call.body
    with transaction(call.kernel.factory) as s:
        u = s.get(StaffUser, call.path["staff_id"])
        if u is None:
            raise ValidationFailed(f"no staff account {call.path['staff_id']}", field="staff_id")
        if call.principal and u.id == call.principal.id and call.principal.kind == "staff" and (
                b.active is False or (b.role and b.role != "owner")):
            raise ValidationFailed("you cannot demote or deactivate yourself; ask another owner", field="staff_id")
        if b.role is not None:
            u.role = b.role
        if b.active is not None:
            u.active = b.active
        if b.sign_out_everywhere or b.active is False:
            u.session_generation += 1
        s.add(u)
        s.flush()
        return staff_dict(u)


ROLES_SCHEMA = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}


@api.op("GET", f"{P}/roles", summary="Rights of each role", tag="admin: staff", right="staff:manage",
        response=ROLES_SCHEMA)
def admin_roles(call: Call) -> dict[str, Any]:
    with read_only(call.kernel.factory) as s:
        return {role: sorted(r) for role, r in all_role_rights(s).items()}


@api.op("PUT", f"{P}/roles/{{role}}", summary="Adjust the rights of a role", tag="admin: staff",
        right="staff:manage", body=S.RoleIn, response=ROLES_SCHEMA)
def admin_set_role(call: Call) -> dict[str, Any]:
    with transaction(call.kernel.factory) as s:
        set_role_rights(s, call.path["role"], call.body.rights)
        return {role: sorted(r) for role, r in all_role_rights(s).items()}


@api.op("GET", f"{P}/tokens", summary="API tokens", tag="admin: staff", right="staff:manage", paginated=True,
        response=S.page_of({"type": "object"}), query=limit_offset(50))
def admin_tokens(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(ApiToken)) or 0
        rows = s.scalars(select(ApiToken).order_by(ApiToken.id.desc()).limit(lim).offset(off))  # type: ignore[union-attr]
        return Page([token_dict(t) for t in rows], total, lim, off)


@api.op("POST", f"{P}/tokens", summary="Create a scoped API token (shown once)", tag="admin: staff",
        right="staff:manage", body=S.TokenIn, status=201,
        response={"type": "object", "properties": {"token": {"type": "string"}, "id": {"type": "integer"}}})
def admin_create_token(call: Call) -> dict[str, Any]:
    """Scopes are rights (see /api/admin/v1/roles); a POS till needs ``pos`` and a ``location_id``."""
    assert RIGHTS
    b: S.TokenIn = call.body
    with transaction(call.kernel.factory) as s:
        row, text = create_token(s, b.name, b.scopes, created_by=call.actor, location_id=b.location_id)
        return {**token_dict(row), "token": text}


@api.op("DELETE", f"{P}/tokens/{{token_id}}", summary="Revoke an API token", tag="admin: staff",
        right="staff:manage", response={"type": "object"})
def admin_revoke_token(call: Call) -> dict[str, Any]:
    with transaction(call.kernel.factory) as s:
        return token_dict(revoke_token(s, call.path["token_id"]))
