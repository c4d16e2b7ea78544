"""Connecting a plugin's provider accounts, and approving the hosts its url settings name.

Shared by the admin pages (``admin/connect_views.py``, the plugins page's settings form)
and the admin API (``api/admin_plugins.py``), so a merchant in the browser and a script
with a token go through the same checks. Secrets go straight into the credential store:
nothing here returns, logs or journals a value; account states carry masked hints only.
"""
from __future__ import annotations

import re
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from comptoir.kernel.credentials.errors import CredentialNotFound, OAuthError
from comptoir.kernel.credentials.models import Account, OAuthState, SecretVersion
from comptoir.kernel.errors import ComptoirError, Conflict, NotFound, ValidationFailed
from comptoir.kernel.manifest import PLACEHOLDER_RE, AccountKind, Manifest
from comptoir.kernel.settings import Settings

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

SECRET_OF_KIND = {"api_key": "api_key", "basic": "password", "oauth2": "access_token"}  # what the broker reads
CALLBACK_PATH = "/admin/connect/callback"
MAX_SECRET = 4096
MAX_LINES = 20
HOSTNAME_RE = re.compile(r"^[a-z0-9.-]+$")
_DEFAULT_BASE_URL = next(f.default for f in fields(Settings) if f.name == "base_url")


class HostApprovalNeeded(Conflict):
    """A url setting names a host the plugin may not reach yet; ``rights`` say what to approve."""

    title = "Host approval needed"

    def __init__(self, plugin: str, needed: dict[str, str]) -> None:
        listed = ", ".join(f"{key} → {right[5:]}" for key, right in needed.items())
        super().__init__(f"{plugin} may not reach {listed} yet; approve it (approve_hosts: "
                         f"{', '.join(sorted(set(needed.values())))}) to let the plugin call that address",
                         field=f"settings.{next(iter(needed))}")
        self.plugin = plugin
        self.needed = needed


# ---- where things are -------------------------------------------------------------------
def shop_url(kernel: "Kernel", request_base: str) -> str:
    """The shop's public base URL: ``COMPTOIR_BASE_URL`` when set, else the address the
    admin's browser used (the built-in default only suits a laptop)."""
    base = kernel.settings.base_url
    if not base or base == _DEFAULT_BASE_URL:
        base = request_base
    return base.rstrip("/")


def manifest_of(kernel: "Kernel", plugin: str) -> Manifest:
    return kernel.host._get(plugin).manifest


def declared(kernel: "Kernel", plugin: str, account: str) -> AccountKind:
    m = manifest_of(kernel, plugin)
    acc = m.scopes.accounts.get(account)
    if acc is None:
        known = ", ".join(sorted(m.scopes.accounts)) or "none"
        raise NotFound(f"plugin {plugin!r} declares no account {account!r} (declared: {known})", field="account")
    return acc


def _creds(kernel: "Kernel") -> Any:
    creds = kernel.services.get("credentials")
    if creds is None:
        raise ComptoirError("this shop has no credential store, so accounts cannot be connected", field="account")
    return creds


def label_of(m: Manifest, name: str, acc: AccountKind) -> str:
    """The account's label, else the label of the secret setting of the same name."""
    setting = m.settings.get(name)
    return acc.label or (setting.label if setting is not None and setting.label else name.replace("_", " "))


def provider_title(acc: AccountKind) -> str:
    return acc.provider.replace("-", " ").replace("_", " ").title() or "the provider"


# ---- url settings and the hosts they name --------------------------------------------------
def check_url(key: str, value: Any) -> str:
    """An http(s) address without credentials in it; '' is allowed (the plugin's default)."""
    where = f"settings.{key}"
    if not isinstance(value, str) or len(value) > 2000:
        raise ValidationFailed(f"{key} must be an address of at most 2000 characters", field=where)
    value = value.strip()
    if not value:
        return value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationFailed(f"{key} is not a valid address; write one such as https://api.example.com",
                               field=where) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(f"{key} must be an http(s) address such as https://api.example.com", field=where)
    if parts.username or parts.password:
        raise ValidationFailed(f"{key} must not carry a user name or password; connect the account instead",
                               field=where)
    if not HOSTNAME_RE.match(parts.hostname):
        raise ValidationFailed(f"{key}: write the host as a name or an IPv4 address", field=where)
    del port  # parsed above only to refuse a bad port
    return value


def host_right(url: str) -> str:
    """``host:<host>`` for the default ports (what a manifest declares), else ``host:<host>:<port>``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"host:{host}" if parts.port in (None, 80, 443) else f"host:{host}:{parts.port}"


def hosts_to_approve(kernel: "Kernel", plugin: str, values: dict[str, Any]) -> dict[str, str]:
    """``{setting: right}`` for the url settings in ``values`` whose host the plugin may not
    reach. Only changed values ask: saving a form leaves the others (defaults included) as
    they were, so the merchant is not asked about addresses they did not touch."""
    rec = kernel.host._get(plugin)
    current = kernel.host._effective_settings(rec)
    needed: dict[str, str] = {}
    for key, value in values.items():
        f = rec.manifest.settings.get(key)
        if f is None or f.type != "url" or not value or value == current.get(key):
            continue
        right = host_right(str(value))
        if not kernel.host.rights.allowed(plugin, right):
            needed[key] = right
    return needed


def approve_hosts(kernel: "Kernel", plugin: str, values: dict[str, Any], approved: list[str], actor: str) -> list[str]:
    """Grant the hosts the url settings need when the admin approved exactly them; else
    raise ``HostApprovalNeeded`` naming what is still to approve. Returns the rights granted."""
    needed = hosts_to_approve(kernel, plugin, values)
    if not needed:
        return []
    missing = {k: r for k, r in needed.items() if r not in approved}
    if missing:
        raise HostApprovalNeeded(plugin, missing)
    rights = sorted(set(needed.values()))
    return list(_creds(kernel).grant(plugin, rights, actor))


# ---- account states (masked) -------------------------------------------------------------------
def _rows(kernel: "Kernel", plugin: str) -> dict[str, tuple[Account, dict[str, SecretVersion]]]:
    with kernel.factory() as s:
        accounts = list(s.scalars(select(Account).where(Account.owner == plugin)))
        out: dict[str, tuple[Account, dict[str, SecretVersion]]] = {}
        for acc in accounts:
            latest: dict[str, SecretVersion] = {}
            for row in s.scalars(select(SecretVersion).where(SecretVersion.account_id == acc.id)
                                 .order_by(SecretVersion.name, SecretVersion.version)):  # type: ignore[arg-type]
                latest[row.name] = row
            out[acc.name] = (acc, latest)
        return out


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else ""


def account_states(kernel: "Kernel", plugin: str) -> list[dict[str, Any]]:
    """Every account the plugin declares, with its masked state. Never a value."""
    m = manifest_of(kernel, plugin)
    creds = kernel.services.get("credentials")
    rows = _rows(kernel, plugin) if creds is not None else {}
    settings = kernel.host._effective_settings(kernel.host._get(plugin))
    out = []
    for name, acc in sorted(m.scopes.accounts.items()):
        row, secrets = rows.get(name, (None, {}))
        secret = secrets.get(SECRET_OF_KIND[acc.kind])
        connected = (row is not None and row.status == "active" and secret is not None and secret.state == "active")
        state = "connected" if connected else ("pending" if row is not None and row.status == "pending"
                                               else "not connected")
        needs = [{"key": k, "label": m.settings[k].label or k, "value": str(settings.get(k) or "")}
                 for k in acc.placeholders()]
        out.append({
            "name": name, "kind": acc.kind, "provider": acc.provider, "provider_title": provider_title(acc),
            "label": label_of(m, name, acc), "help": acc.help, "state": state, "connected": connected,
            "hint": secret.hint if connected and secret is not None else "",
            "connected_at": _when(secret.created_at) if connected and secret is not None else "",
            "username": str(row.config.get("username", "")) if row is not None and acc.kind == "basic" else "",
            "username_label": acc.username_label or "User name",
            "raw_access": acc.raw_access,
            "raw_granted": bool(acc.raw_access and kernel.host.rights.allowed(plugin, f"raw:{name}")),
            "inject": acc.injection_mode(),
            "oauth": {"ready": bool(acc.authorize_url), "needs": needs,
                      "client_needed": not (acc.client_id or acc.registration_url)} if acc.kind == "oauth2" else None,
        })
    return out


def account_state(kernel: "Kernel", plugin: str, account: str) -> dict[str, Any]:
    declared(kernel, plugin, account)
    return next(a for a in account_states(kernel, plugin) if a["name"] == account)


# ---- connect, disconnect -----------------------------------------------------------------------------
def _clean_secret(value: str) -> str:
    value = (value or "").strip()  # pasted keys often carry a trailing newline
    if not value:
        raise ValidationFailed("paste the key or password to store; an empty value cannot be connected", field="secret")
    if len(value) > MAX_SECRET or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationFailed(f"the value must be one line of at most {MAX_SECRET} characters", field="secret")
    return value


def set_raw(kernel: "Kernel", plugin: str, account: str, approve: bool | None, actor: str) -> None:
    """Grant (or take back) ``raw:<account>``: the plugin reads the secret itself. Audited."""
    acc = declared(kernel, plugin, account)
    if approve is None:
        return
    if approve and not acc.raw_access:
        raise ValidationFailed(f"{plugin} does not ask to read {account} itself", field="approve_raw")
    right = f"raw:{account}"
    creds = _creds(kernel)
    if approve:
        creds.grant(plugin, [right], actor)
    elif acc.raw_access and kernel.host.rights.allowed(plugin, right):
        creds.revoke(plugin, [right], actor)


def store_secret(kernel: "Kernel", plugin: str, account: str, secret: str, *, actor: str, username: str = "",
                 approve_raw: bool | None = None) -> None:
    """Store an api_key/basic account's value (a new version when it exists), with the
    manifest's injection config, and grant ``account:<name>``: connecting is the approval."""
    acc = declared(kernel, plugin, account)
    if acc.kind == "oauth2":
        raise ValidationFailed(f"{account} is an OAuth account: connect it with {provider_title(acc)} "
                               "(the admin's Connect button, or POST …/oauth)", field="account")
    value = _clean_secret(secret)
    config: dict[str, Any] = acc.injection_config()
    if acc.kind == "basic":
        username = (username or "").strip()
        if not username or len(username) > 200 or any(ord(c) < 32 for c in username):
            raise ValidationFailed(f"{acc.username_label or 'the user name'} is required (one line, "
                                   "at most 200 characters)", field="username")
        config["username"] = username
    creds = _creds(kernel)
    creds.store.create_account(plugin, account, kind=acc.kind, provider=acc.provider, config=config, actor=actor)
    creds.store.put(plugin, account, SECRET_OF_KIND[acc.kind], value, actor=actor)
    creds.grant(plugin, [f"account:{account}"], actor)
    set_raw(kernel, plugin, account, approve_raw, actor)


def disconnect(kernel: "Kernel", plugin: str, account: str, *, actor: str) -> None:
    """Forget the account: its secrets are wiped for good (audited); rights stay as they are."""
    declared(kernel, plugin, account)
    try:
        _creds(kernel).store.delete_account(plugin, account, actor=actor, destroy=True)
    except CredentialNotFound:
        raise NotFound(f"{plugin}'s {account} is not connected", field="account") from None


def after_connect(kernel: "Kernel", plugin: str, account: str, shop: str) -> dict[str, Any]:
    """Let the plugin finish its set-up at the provider (``account_connected``), when it
    implements the hook and is enabled: ``{"lines": [...], "error": "..."}`` for the admin."""
    if not kernel.host.implements(plugin, "account_connected"):
        return {"lines": [], "error": ""}
    redact = kernel.host.journal.redact
    try:
        answer = kernel.host.call_one(plugin, "account_connected", account=account, shop_url=shop)
    except ComptoirError as exc:  # PluginError (already redacted), ScopeDenied …
        return {"lines": [], "error": redact(exc.message)[:500]}
    lines = answer if isinstance(answer, (list, tuple)) else ([] if answer is None else [answer])
    return {"lines": [redact(str(x))[:500] for x in lines[:MAX_LINES]], "error": ""}


# ---- OAuth 2 ---------------------------------------------------------------------------------------------
def check_account_settings(kernel: "Kernel", plugin: str, account: str, values: dict[str, Any]) -> None:
    """Only the url settings an OAuth account's addresses are built from are set with it."""
    acc = declared(kernel, plugin, account)
    unknown = [key for key in values if key not in acc.placeholders()]
    if unknown:
        raise ValidationFailed(f"{account} is not connected through {', '.join(unknown)}; change other settings "
                               "on the plugins page", field=f"settings.{unknown[0]}")


def _resolve(kernel: "Kernel", plugin: str, url: str) -> str:
    settings = kernel.host._effective_settings(kernel.host._get(plugin))

    def value(match: re.Match[str]) -> str:
        got = str(settings.get(match.group(1)) or "").rstrip("/")
        if not got:
            raise ValidationFailed(f"fill in {match.group(1)} first: the account is connected at that address",
                                   field=f"settings.{match.group(1)}")
        return got

    return PLACEHOLDER_RE.sub(value, url)


def _register(url: str, redirect_uri: str, scope: str, name: str) -> tuple[str, str]:
    """Dynamic client registration: RFC 7591 fields, plus Mastodon's ``scopes`` (each
    server ignores what it does not know). Returns (client_id, client_secret)."""
    body = {"client_name": name, "redirect_uris": [redirect_uri], "scope": scope, "scopes": scope,
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}
    host = urlsplit(url).netloc
    try:
        with httpx.Client(timeout=10.0, follow_redirects=False, trust_env=False) as client:
            r = client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not register the shop's app at {host} ({type(exc).__name__})") from None
    try:
        data = r.json() if r.status_code < 400 else {}
    except ValueError:
        data = {}
    if r.status_code >= 400 or not data.get("client_id"):
        raise OAuthError(f"{host} refused to register the shop's app (HTTP {r.status_code})")
    return str(data["client_id"]), str(data.get("client_secret") or "")


def _reusable_client(creds: Any, plugin: str, account: str, token_url: str, redirect_uri: str) -> str:
    """The client id registered by an earlier connect to the same provider, if still usable."""
    try:
        acc = creds.store.account(plugin, account)
    except CredentialNotFound:
        return ""
    cfg = acc.config or {}
    if cfg.get("token_url") != token_url or cfg.get("redirect_uri") != redirect_uri or not cfg.get("client_id"):
        return ""
    with creds.factory() as s:
        row = s.scalars(select(SecretVersion).where(SecretVersion.account_id == acc.id,
                                                    SecretVersion.name == "client_secret")
                        .order_by(SecretVersion.version.desc())).first()  # type: ignore[union-attr]
    return str(cfg["client_id"]) if row is not None and row.state == "active" else ""


def oauth_start(kernel: "Kernel", plugin: str, account: str, shop: str, *, actor: str, client_id: str = "",
                client_secret: str = "") -> str:
    """Begin "Connect with <provider>": the authorize URL to send the admin's browser to.

    The client id comes from the manifest, from an earlier registration, from a fresh
    dynamic registration, or from the admin (``client_id``/``client_secret``)."""
    acc = declared(kernel, plugin, account)
    if acc.kind != "oauth2":
        raise ValidationFailed(f"{account} is not an OAuth account; store its key instead", field="account")
    if not acc.authorize_url:
        raise ValidationFailed(f"{plugin} does not say where to connect {account} (no authorize_url in its "
                               "manifest); ask its vendor", field="account")
    creds = _creds(kernel)
    redirect_uri = shop + CALLBACK_PATH
    authorize_url, token_url = _resolve(kernel, plugin, acc.authorize_url), _resolve(kernel, plugin, acc.token_url)
    scope = " ".join(acc.scopes)
    secret: str | None = None
    if acc.client_id:
        cid = acc.client_id
    elif acc.registration_url:
        cid = _reusable_client(creds, plugin, account, token_url, redirect_uri)
        if not cid:
            cid, secret = _register(_resolve(kernel, plugin, acc.registration_url), redirect_uri, scope,
                                    f"Comptoir ({urlsplit(shop).netloc})")
    else:
        cid = (client_id or "").strip()
        if not cid or len(cid) > 500:
            raise ValidationFailed(f"enter the client id of the shop's app at {provider_title(acc)}",
                                   field="client_id")
        secret = _clean_secret(client_secret) if client_secret else None
    url = creds.oauth.start(plugin, account, client_id=cid, client_secret=secret or None,
                            authorize_url=authorize_url, token_url=token_url, redirect_uri=redirect_uri,
                            scope=scope, provider=acc.provider, inject=acc.injection_mode(), actor=actor)
    extra = acc.injection_config()
    if len(extra) > 1:  # header/query injection: the connector stored only the mode
        row = creds.store.account(plugin, account)
        creds.store.create_account(plugin, account, kind="oauth2", provider=acc.provider,
                                   config={**row.config, **extra}, actor=actor, status=row.status)
    return str(url)


def oauth_pending(kernel: "Kernel", state: str) -> tuple[str, str] | None:
    """(plugin, account) of a pending connect flow, or None when the state is unknown."""
    if not state or len(state) > 128:
        return None
    with kernel.factory() as s:
        pending = s.get(OAuthState, state)
        acc = s.get(Account, pending.account_id) if pending is not None else None
        return (acc.owner, acc.name) if acc is not None else None


def oauth_refused(kernel: "Kernel", state: str) -> None:
    """The admin (or the provider) refused: the pending state is spent."""
    with kernel.factory() as s, s.begin():
        pending = s.get(OAuthState, state)
        if pending is not None:
            s.delete(pending)


def oauth_finish(kernel: "Kernel", state: str, code: str, *, actor: str) -> tuple[str, str]:
    """Exchange the code (single-use state), grant ``account:<name>``; returns (plugin, account)."""
    found = oauth_pending(kernel, state)
    if found is None:
        raise OAuthError("unknown or already used connect link; start connecting again")
    plugin, account = found
    creds = _creds(kernel)
    creds.oauth.callback(state, code, actor=actor)
    creds.grant(plugin, [f"account:{account}"], actor)
    return plugin, account
