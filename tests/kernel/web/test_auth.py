"""Staff identity: CSRF, throttling, sign-out everywhere, revoked tokens, roles."""
from __future__ import annotations

from starlette.testclient import TestClient

from comptoir.kernel.db import transaction
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.staff.service import revoke_token
from comptoir.kernel.web.app import create_app
from tests.kernel.web.helpers import PASSWORD, csrf_of, sign_in, token


def test_sign_in_and_csrf_is_required_on_forms(client: TestClient) -> None:
    assert client.get("/admin", follow_redirects=False).headers["location"].startswith("/admin/login")
    r = sign_in(client, "owner@shop.test")
    assert r.status_code == 303 and r.headers["location"] == "/admin"
    assert "Dashboard" in client.get("/admin").text
    no_token = client.post("/admin/products/bulk", data={"product_id": "1", "action": "price", "mode": "set",
                                                         "value": "1"})
    assert no_token.status_code == 403 and "CSRF" in no_token.text
    wrong = client.post("/admin/products/bulk", data={"csrf": "forged", "product_id": "1", "action": "price",
                                                      "mode": "set", "value": "1"})
    assert wrong.status_code == 403
    api_no_header = client.post("/api/admin/v1/products/bulk-price",
                                json={"product_ids": [1], "mode": "set", "value": 1})
    assert api_no_header.status_code == 403 and api_no_header.json()["field"] == "x-csrf-token"
    ok = client.post("/api/admin/v1/products/bulk-price", headers={"X-CSRF-Token": csrf_of(client)},
                     json={"product_ids": [1], "mode": "set", "value": 1})
    assert ok.status_code == 200
    login_without = client.post("/admin/login", data={"email": "owner@shop.test", "password": PASSWORD})
    assert login_without.status_code == 403


def test_brute_force_is_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert sign_in(client, "manager@shop.test", "wrong password!").status_code == 401
    locked = sign_in(client, "manager@shop.test")  # even the right password waits now
    assert locked.status_code == 429 and "try again" in locked.text
    api = client.post("/api/v1/customers/sign-in", json={"email": "x@example.com", "password": "nope"})
    assert api.status_code in (401, 429)


def test_sign_out_everywhere_ends_other_sessions(shop: Kernel) -> None:
    app = create_app(shop, start_jobs=False)
    with TestClient(app) as phone, TestClient(app) as laptop:
        sign_in(phone, "support@shop.test")
        sign_in(laptop, "support@shop.test")
        assert phone.get("/admin/orders").status_code == 200
        r = laptop.post("/admin/logout-everywhere", data={"csrf": csrf_of(laptop)}, follow_redirects=False)
        assert r.status_code == 303
        assert phone.get("/admin/orders", follow_redirects=False).status_code == 303
        assert laptop.get("/admin/orders", follow_redirects=False).status_code == 303


def test_revoked_token_fails(client: TestClient, shop: Kernel) -> None:
    tok = token(shop, "orders:read")
    h = {"Authorization": f"Bearer {tok}"}
    assert client.get("/api/admin/v1/orders", headers=h).status_code == 200
    with transaction(shop.factory) as s:
        from sqlalchemy import select

        from comptoir.kernel.staff.models import ApiToken

        revoke_token(s, s.scalar(select(ApiToken.id).order_by(ApiToken.id.desc())) or 0)
    r = client.get("/api/admin/v1/orders", headers=h)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


def test_roles_see_their_trade_and_are_refused_elsewhere(client: TestClient) -> None:
    sign_in(client, "picker@shop.test")
    page = client.get("/admin/orders").text
    assert 'href="/admin/stock"' in page and 'href="/admin/plugins"' not in page
    assert client.get("/admin/plugins").status_code == 403
    assert client.get("/admin/customers").status_code == 403
    client.post("/admin/logout", data={"csrf": csrf_of(client, "/admin/orders")})
    sign_in(client, "marketing@shop.test")
    assert client.get("/admin/orders").status_code == 403
    assert client.get("/admin/products").status_code == 200


def test_owner_adjusts_role_rights_and_manages_tokens(client: TestClient) -> None:
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client, "/admin/staff")
    r = client.post("/admin/staff/role", data={"csrf": csrf, "role": "picker",
                                               "right": ["catalog:read", "orders:read", "customers:read"]})
    assert r.status_code == 200
    r = client.post("/admin/staff/token", data={"csrf": csrf, "name": "Till 1", "scope": ["pos"]})
    assert "copy it now" in r.text
    new = r.text.split('id="new-token">', 1)[1].split("<", 1)[0]
    assert new.startswith("cpt_")
    client.post("/admin/logout", data={"csrf": csrf})
    sign_in(client, "picker@shop.test")
    assert client.get("/admin/customers").status_code == 200
    assert client.get("/admin/stock").status_code == 403


def test_staff_api_through_a_session_with_csrf(client: TestClient, shop: Kernel) -> None:
    sign_in(client, "owner@shop.test")
    h = {"X-CSRF-Token": csrf_of(client)}
    people = client.get("/api/admin/v1/staff").json()["items"]
    support = next(p for p in people if p["email"] == "support@shop.test")
    r = client.patch(f"/api/admin/v1/staff/{support['id']}", headers=h, json={"role": "picker"})
    assert r.status_code == 200 and r.json()["role"] == "picker"
    me = next(p for p in people if p["email"] == "owner@shop.test")
    refused = client.patch(f"/api/admin/v1/staff/{me['id']}", headers=h, json={"active": False})
    assert refused.status_code == 422
    with TestClient(create_app(shop, start_jobs=False)) as other:
        sign_in(other, "support@shop.test")
        assert other.get("/admin/stock").status_code == 200  # now a picker
        client.patch(f"/api/admin/v1/staff/{support['id']}", headers=h, json={"active": False})
        assert other.get("/admin/stock", follow_redirects=False).status_code == 303
        assert sign_in(other, "support@shop.test").status_code == 401
