"""Single sign-on against a real local OpenID Connect provider (oidc-provider-mock)."""
from __future__ import annotations

import threading
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from starlette.testclient import TestClient

from comptoir.kernel.runtime import Kernel
from comptoir.kernel.web.app import create_app
from comptoir.kernel.web.auth.oidc import OidcConfig


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    import oidc_provider_mock
    import werkzeug.serving

    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _sso(c: TestClient, who: str) -> httpx.Response:
    start = c.get("/admin/sso", follow_redirects=False)
    assert start.status_code in (302, 303, 307)
    at_provider = start.headers["location"]
    q = parse_qs(urlparse(at_provider).query)
    assert q["client_id"] == ["comptoir-admin"] and "openid" in q["scope"][0]
    # the person signs in at the provider, which sends the browser back with a code
    back = httpx.post(at_provider, data={"sub": who})
    assert back.status_code in (302, 303)
    callback = urlparse(back.headers["location"])
    return c.get(f"{callback.path}?{callback.query}", follow_redirects=False)


def test_sso_signs_in_an_existing_staff_account(shop: Kernel, issuer: str) -> None:
    cfg = OidcConfig(issuer=issuer, client_id="comptoir-admin", client_secret="s3cret", label="Company SSO")
    with TestClient(create_app(shop, oidc=cfg, start_jobs=False)) as c:
        assert "Company SSO" in c.get("/admin/login").text
        r = _sso(c, "manager@shop.test")
        assert r.status_code == 303 and r.headers["location"] == "/admin"
        page = c.get("/admin")
        assert page.status_code == 200 and "manager@shop.test" in page.text
    with TestClient(create_app(shop, oidc=cfg, start_jobs=False)) as c:
        r = _sso(c, "stranger@example.com")
        assert r.status_code == 403 and "no active staff account" in r.text
        assert c.get("/admin", follow_redirects=False).status_code == 303
