"""Connected accounts against a real OpenID provider (oidc-provider-mock, in a thread):
authorization code + PKCE, tokens in the store, one refresh for many concurrent callers
(threads of one kernel, and two kernels standing for two processes)."""
from __future__ import annotations

import io
import json
import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import update

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.errors import OAuthError
from comptoir.kernel.credentials.models import SecretVersion
from comptoir.kernel.credentials.oauth import discover
from comptoir.kernel.runtime import Kernel

from .conftest import add_plugin, make_kernel, manifest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the provider's own Authlib use

CLIENT_SECRET = "oauth-client-secret-5e2b7d"
REDIRECT = "http://127.0.0.1:8000/admin/accounts/callback"


class Provider:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token_requests: list[str] = []  # grant types seen by the token endpoint

    def refreshes(self) -> int:
        return self.token_requests.count("refresh_token")


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    import oidc_provider_mock
    import werkzeug.serving

    old = os.environ.get("AUTHLIB_INSECURE_TRANSPORT")
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider runs on plain http locally
    app = oidc_provider_mock.app(access_token_max_age=timedelta(hours=1))
    seen: list[str] = []

    def counting(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/oauth2/token":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            seen.append(parse_qs(body.decode()).get("grant_type", [""])[0])
        if environ.get("PATH_INFO") == "/userinfo":
            # RFC 6750 answers an invalid token with 401; this mock says 400 access_denied
            def rfc6750(status: str, headers: Any, *rest: Any) -> Any:
                if status.startswith("400"):
                    status = "401 UNAUTHORIZED"
                    headers = [*headers, ("WWW-Authenticate", 'Bearer error="invalid_token"')]
                return start_response(status, headers, *rest)

            return app(environ, rfc6750)
        return app(environ, start_response)

    server = werkzeug.serving.make_server("127.0.0.1", 0, counting, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    p = Provider(f"http://127.0.0.1:{server.server_port}")
    p.token_requests = seen
    yield p
    server.shutdown()
    if old is None:
        os.environ.pop("AUTHLIB_INSECURE_TRANSPORT", None)
    else:
        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = old


def _connect(k: Kernel, provider: Provider, plugin: str = "social") -> tuple[Any, dict[str, Any]]:
    host = provider.base.removeprefix("http://")
    ctx = add_plugin(k, manifest(plugin, accounts={"net": {"kind": "oauth2", "provider": "mock", "hosts": [host]}}))
    conf = discover(provider.base)
    svc = k.services["credentials"]
    url = svc.oauth.start(plugin, "net", client_id="comptoir-shop", client_secret=CLIENT_SECRET,
                          authorize_url=conf["authorization_endpoint"], token_url=conf["token_endpoint"],
                          redirect_uri=REDIRECT, scope="openid email", provider="mock")
    q = parse_qs(urlparse(url).query)
    assert q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) >= 43
    assert "code_verifier" not in url
    # the merchant signs in at the provider, which redirects back with a code
    r = httpx.post(url, data={"sub": "merchant@example.com"})
    back = parse_qs(urlparse(r.headers["location"]).query)
    svc.oauth.callback(back["state"][0], back["code"][0])
    return ctx, conf


def _expire(k: Kernel, plugin: str = "social") -> None:
    with k.factory() as s, s.begin():
        s.execute(update(SecretVersion).where(SecretVersion.name == "access_token")
                  .values(expires_at=datetime.now(timezone.utc) - timedelta(minutes=5)))


def test_connect_then_brokered_call(ck: Kernel, provider: Provider) -> None:
    ctx, conf = _connect(ck, provider)
    r = ctx.http.get(conf["userinfo_endpoint"], account="net")
    assert r.status_code == 200 and r.json()["sub"] == "merchant@example.com"
    acct = ctx.credentials.accounts()[0]
    assert acct["status"] == "active" and set(acct["secrets"]) == {"access_token", "refresh_token", "client_secret"}
    # the state is single use
    with pytest.raises(OAuthError):
        ck.services["credentials"].oauth.callback("not-a-state", "code")


def test_twenty_concurrent_calls_cause_one_refresh(ck: Kernel, provider: Provider) -> None:
    ctx, conf = _connect(ck, provider)
    _expire(ck)
    before = provider.refreshes()
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            statuses.append(ctx.http.get(conf["userinfo_endpoint"], account="net").status_code)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and statuses == [200] * 20
    assert provider.refreshes() - before == 1
    assert len(audit.entries(ck.factory, action="oauth.refresh", limit=100)) == 1


def test_two_processes_refresh_once(tmp_path: Path, db_url: str, provider: Provider) -> None:
    k1 = make_kernel(tmp_path, db_url)
    k2 = make_kernel(tmp_path, db_url)  # separate engine and locks: another worker process
    try:
        ctx1, conf = _connect(k1, provider)
        add_plugin(k2, ctx1.manifest, grant=False)
        ctx2 = k2.host.context("social")
        _expire(k1)
        before = provider.refreshes()
        barrier = threading.Barrier(20)
        statuses: list[int] = []

        def call(ctx: Any) -> None:
            barrier.wait()
            statuses.append(ctx.http.get(conf["userinfo_endpoint"], account="net").status_code)

        threads = [threading.Thread(target=call, args=(c,)) for c in [ctx1] * 10 + [ctx2] * 10]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 20
        assert provider.refreshes() - before == 1
    finally:
        k1.close()
        k2.close()


def test_refresh_token_never_reaches_the_plugin(ck: Kernel, provider: Provider) -> None:
    host = provider.base.removeprefix("http://")
    ctx, conf = _connect(ck, provider)
    m = manifest("social", accounts={"net": {"kind": "oauth2", "provider": "mock", "hosts": [host], "raw_access": True}})
    ck.host.add(object(), m)
    ck.host.enable("social", persist=False)
    ctx = ck.host.context("social")
    ck.services["credentials"].grant("social", ["raw:net"], "admin")
    token = ctx.credentials.raw("net")
    refresh = ck.services["credentials"].store.read("social", "net", "refresh_token", actor="test")
    assert token and token != refresh
    exposed = json.dumps(ctx.credentials.accounts()) + repr(ctx.credentials) + repr(ctx.http)
    assert refresh not in exposed and CLIENT_SECRET not in exposed and token not in exposed


def test_token_refused_by_the_provider_is_refreshed_once_and_retried(ck: Kernel, provider: Provider) -> None:
    ctx, conf = _connect(ck, provider)
    # the provider no longer accepts the stored token although it has not expired
    ck.services["credentials"].store.put("social", "net", "access_token", "revoked-token-0123456789",
                                         actor="test", expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    before = provider.refreshes()
    r = ctx.http.get(conf["userinfo_endpoint"], account="net")
    assert r.status_code == 200 and provider.refreshes() - before == 1
    assert "revoked-token" not in str(r.request.headers)
    # other errors are answers, not a reason to refresh
    r = ctx.http.get(f"{provider.base}/userinfo-missing", account="net")
    assert r.status_code == 404 and provider.refreshes() - before == 1


def test_refused_token_without_refresh_token_returns_the_401(ck_sqlite: Kernel, provider: Provider) -> None:
    ctx, conf = _connect(ck_sqlite, provider)
    store = ck_sqlite.services["credentials"].store
    store.delete_secret("social", "net", "refresh_token")  # a provider that issues none
    store.put("social", "net", "access_token", "revoked-token-abcdef0123", actor="test",
              expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    before = provider.refreshes()
    r = ctx.http.get(conf["userinfo_endpoint"], account="net")
    assert r.status_code == 401 and provider.refreshes() == before
    _expire(ck_sqlite)  # expired and nothing to refresh with: a clear error, no value in it
    with pytest.raises(OAuthError, match="reconnect the account") as err:
        ctx.http.get(conf["userinfo_endpoint"], account="net")
    assert "revoked-token" not in err.value.message
