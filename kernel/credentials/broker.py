"""The broker: plugins use credentials without seeing them.

``ctx.http`` is a ``BrokeredHttp`` bound to one plugin. Each request is checked
against the plugin's granted hosts (``host:<h>``), then, when an account is named,
against ``account:<name>``; the credential is decrypted, audited, and injected into
the outbound request (bearer, header, basic, query or HMAC signature, per the
account's config). Redirects are never followed (they could leave the granted
host). The response the plugin gets back carries a copy of the request with the
injected values masked, and every call lands in the exchange journal, redacted.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any, Callable

import httpx
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials.errors import BrokerError, CredentialNotFound, OAuthError
from comptoir.kernel.credentials.oauth import OAuthConnector
from comptoir.kernel.credentials.redact import MASK, Redactor
from comptoir.kernel.credentials.fastpath import Raw
from comptoir.kernel.credentials.keyring import Envelope, row_aad
from comptoir.kernel.credentials.store import CredentialStore
from comptoir.kernel.errors import ComptoirError, ScopeDenied, ValidationFailed

SECRET_FIELD = {"api_key": "api_key", "basic": "password", "oauth2": "access_token"}
DEFAULT_INJECT = {"api_key": "bearer", "basic": "basic", "oauth2": "bearer"}


@dataclass(frozen=True)
class Credential:
    """A decrypted credential, kept inside the kernel for the time of one request."""

    account_id: int
    kind: str
    config: dict[str, Any]
    value: str
    version: int = 0


class Broker:
    """Kernel-side credential use: rights, decryption, audit, refresh."""

    def __init__(self, factory: sessionmaker[Session], store: CredentialStore, oauth: OAuthConnector,
                 redactor: Redactor, journal: Any, raw: Raw) -> None:
        self.factory = factory
        self.store = store
        self.oauth = oauth
        self.redactor = redactor
        self.journal = journal
        self.raw = raw
        self.client = httpx.Client(timeout=30.0, follow_redirects=False, trust_env=False)

    def check_host(self, plugin: str, host: str, port: int | None) -> None:
        right = f"host:{host}" if port is None else f"host:{host}:{port}"
        with self.raw.reading() as cur:
            if not self.raw.allowed(cur, plugin, right):
                raise ScopeDenied(plugin, f"host:{host}")

    def credential(self, plugin: str, account: str, *, purpose: str = "use", actor: str | None = None) -> Credential:
        """Check ``account:<name>``, decrypt its secret and audit the use, in one transaction.

        Only the plugin's own accounts are looked up (owner = plugin), so naming
        another plugin's account finds nothing.
        """
        actor = actor or f"plugin:{plugin}"
        keyring = self.store.keyring
        keyring.load()
        with self.raw.transaction() as cur:
            row = self.raw.secret_row(cur, plugin, account)
            if (row is None or not row["granted"]) and not self.raw.allowed(cur, plugin, f"account:{account}"):
                raise ScopeDenied(plugin, f"account:{account}")  # denied before "not found": no probing
            if row is None or row["status"] == "deleted" or row["state"] != "active":
                raise CredentialNotFound(f"plugin {plugin!r} has no usable account {account!r}; connect it with "
                                         f"`comptoir credentials set {plugin} {account}` or in the admin",
                                         field="account")
            value = keyring.open(Envelope(row["kek_version"], row["wrapped_dek"], row["ciphertext"]),
                                 row_aad(plugin, account, row["name"], row["version"])).decode()
            self.redactor.add(value)
            self.raw.append_audit(cur, actor=actor, action=purpose, plugin=plugin,
                                  target=f"account:{row['account_id']}",
                                  detail={"secret": row["name"], "version": row["version"]})
        version = int(row["version"])
        if row["kind"] == "oauth2" and not self.oauth.fresh(row["expires_at"]):
            value, version = self.oauth.refresh(self.store.account(plugin, account), version, actor=actor)
        return Credential(int(row["account_id"]), row["kind"], row["config"], value, version)

    def after_unauthorized(self, plugin: str, account: str, cred: Credential) -> Credential:
        """The provider refused an unexpired OAuth token (revoked early): refresh once.

        Concurrent callers that saw the same token version share one refresh.
        """
        value, version = self.oauth.refresh(self.store.account(plugin, account), cred.version,
                                            actor=f"plugin:{plugin}", stale_version=True)
        return Credential(cred.account_id, cred.kind, cred.config, value, version)

    def close(self) -> None:
        self.client.close()


def _inject(cred: Credential, request: httpx.Request, redactor: Redactor) -> httpx.Request:
    """Put the credential where the account's config says; returns the request to send."""
    mode = cred.config.get("inject") or DEFAULT_INJECT[cred.kind]
    value = cred.value
    if mode == "bearer":
        request.headers["Authorization"] = f"Bearer {value}"
    elif mode == "header":
        request.headers[cred.config.get("header", "X-Api-Key")] = cred.config.get("prefix", "") + value
    elif mode == "basic":
        auth = httpx.BasicAuth(cred.config.get("username", ""), value)
        request = next(auth.auth_flow(request))
        redactor.add(request.headers["Authorization"].split(" ", 1)[1])
    elif mode == "query":
        url = request.url.copy_add_param(cred.config.get("param", "api_key"), value)
        request = httpx.Request(request.method, url, headers=request.headers, content=request.content)
    elif mode == "hmac":
        ts = str(int(time.time()))
        body_hash = hashlib.sha256(request.content).hexdigest()
        message = f"{ts}\n{request.method}\n{request.url.raw_path.decode()}\n{body_hash}".encode()
        request.headers[cred.config.get("timestamp_header", "X-Timestamp")] = ts
        request.headers[cred.config.get("header", "X-Signature")] = hmac.new(
            value.encode(), message, hashlib.sha256).hexdigest()
    else:
        raise BrokerError(f"account {cred.config.get('name', '')!r} has an unknown injection mode {mode!r}")
    return request


def _copy(request: httpx.Request) -> httpx.Request:
    return httpx.Request(request.method, request.url, headers=request.headers.copy(), content=request.content,
                         extensions=request.extensions)  # keeps the caller's per-request timeout


def _masked(request: httpx.Request, redactor: Redactor) -> httpx.Request:
    """A copy of ``request`` safe to hand to the plugin: secrets in headers and URL masked."""
    headers = {k: redactor(v) for k, v in request.headers.items()}
    for name in ("authorization", "proxy-authorization"):
        if name in headers:
            headers[name] = MASK
    url = httpx.URL(redactor(str(request.url)))
    return httpx.Request(request.method, url, headers=headers)


class BrokeredHttp:
    """``ctx.http``: an HTTP client that reaches only granted hosts and injects credentials.

    Usage in a plugin: ``ctx.http.post("https://api.x.com/v1/charges", account="stripe", json={…})``.
    """

    def __init__(self, plugin: str, broker: Broker) -> None:
        self._plugin = plugin
        self._broker = broker

    def request(self, method: str, url: str, *, account: str | None = None, **kwargs: Any) -> httpx.Response:
        """Send one request; ``account`` names the plugin's connected account to use."""
        kwargs.pop("follow_redirects", None)  # never: a redirect could leave the granted host
        request = self._broker.client.build_request(method, url, **kwargs)
        host, port = request.url.host, request.url.port
        if request.url.scheme not in ("http", "https") or not host:
            raise BrokerError(f"plugin {self._plugin!r} may only call http(s) URLs")
        label = f"http:{host}"
        journal, redactor = self._broker.journal, self._broker.redactor
        t0 = time.perf_counter_ns()
        cred: Credential | None = None
        plain = request
        try:
            self._broker.check_host(self._plugin, host, port)
            if account is not None:
                cred = self._broker.credential(self._plugin, account)
                plain.read()  # the body may be sent twice (retry after a refused token)
                request = _inject(cred, _copy(plain), redactor)
        except ScopeDenied as exc:
            journal.record(self._plugin, label, (time.perf_counter_ns() - t0) // 1000, "denied", exc.message)
            raise
        except CredentialNotFound as exc:
            journal.record(self._plugin, label, (time.perf_counter_ns() - t0) // 1000, "denied", exc.message)
            raise
        except ComptoirError as exc:  # sealed store, audit unavailable, refresh failed …
            journal.record(self._plugin, label, (time.perf_counter_ns() - t0) // 1000, "error", exc.message)
            raise
        try:
            response = self._broker.client.send(request)
            if response.status_code == 401 and cred is not None and cred.kind == "oauth2":
                try:
                    cred = self._broker.after_unauthorized(self._plugin, account or "", cred)
                except OAuthError:
                    pass  # nothing to refresh with: the provider's 401 is the answer
                else:
                    response.close()
                    request = _inject(cred, _copy(plain), redactor)
                    response = self._broker.client.send(request)
        except httpx.HTTPError as exc:
            message = redactor(f"{type(exc).__name__}: {exc}")
            journal.record(self._plugin, label, (time.perf_counter_ns() - t0) // 1000, "error", message)
            raise BrokerError(f"plugin {self._plugin!r}: call to {host} failed: {message}") from None
        elapsed = (time.perf_counter_ns() - t0) // 1000
        outcome = "ok" if response.status_code < 400 else "error"
        journal.record(self._plugin, label, elapsed, outcome,
                       "" if outcome == "ok" else f"HTTP {response.status_code}",
                       {"method": method.upper(), "path": redactor(request.url.path), "status": response.status_code})
        response.request = _masked(request, redactor)
        return response

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def __repr__(self) -> str:
        return f"<BrokeredHttp plugin={self._plugin}>"


class PluginCredentials:
    """``ctx.credentials``: the plugin's account metadata, and raw values where approved."""

    def __init__(self, plugin: str, manifest_accounts: dict[str, Any], broker: Broker,
                 allowed: Callable[[str, str], bool]) -> None:
        self._plugin = plugin
        self._declared = manifest_accounts
        self._broker = broker
        self._allowed = allowed

    def accounts(self) -> list[dict[str, Any]]:
        """The plugin's own accounts: name, kind, provider, status, masked hints."""
        return [{k: v for k, v in a.items() if k != "owner"} for a in self._broker.store.accounts(self._plugin)]

    def connected(self, name: str) -> bool:
        return any(a["name"] == name and a["status"] == "active" for a in self._broker.store.accounts(self._plugin))

    def raw(self, name: str) -> str:
        """The raw secret of account ``name`` (the access token for OAuth, never the
        refresh token). Needs ``raw_access`` in the manifest AND the ``raw:<name>`` grant."""
        declared = self._declared.get(name)
        if declared is None or not declared.raw_access:
            raise ScopeDenied(self._plugin, f"raw:{name}")
        if not self._allowed(self._plugin, f"raw:{name}"):
            raise ScopeDenied(self._plugin, f"raw:{name}")
        return self._broker.credential(self._plugin, name, purpose="raw.read").value

    def store_secret(self, name: str, value: str) -> int:
        """Keep a secret the provider handed the plugin (e.g. the signing secret it returns
        when the plugin registers a webhook endpoint) as the new version of account ``name``.

        Narrow on purpose: only a single-value (``api_key``) account the manifest declares,
        only with the ``account:<name>`` grant, and only the plugin's own account (created
        when the admin has not yet). Audited with the plugin as actor; returns the version.
        """
        declared = self._declared.get(name)
        if declared is None or not self._allowed(self._plugin, f"account:{name}"):
            raise ScopeDenied(self._plugin, f"account:{name}")
        if declared.kind != "api_key":
            raise ValidationFailed(f"plugin {self._plugin!r} may store only api_key secrets; account {name!r} "
                                   f"is {declared.kind}", field="account")
        if not isinstance(value, str) or not value.strip() or len(value) > 4096:
            raise ValidationFailed(f"plugin {self._plugin!r}: the secret for account {name!r} must be "
                                   "1 to 4096 characters", field="value")
        store, actor = self._broker.store, f"plugin:{self._plugin}"
        try:
            account = store.account(self._plugin, name)
        except CredentialNotFound:
            account = store.create_account(self._plugin, name, kind="api_key", provider=declared.provider,
                                           actor=actor)
        if account.kind != "api_key":
            raise ValidationFailed(f"account {name!r} of plugin {self._plugin!r} holds {account.kind} "
                                   "credentials; connect it in the admin", field="account")
        return store.put(self._plugin, name, "api_key", value, actor=actor)

    def __repr__(self) -> str:
        return f"<PluginCredentials plugin={self._plugin}>"
