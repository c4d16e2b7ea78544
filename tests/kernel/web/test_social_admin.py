"""Publishing on social networks from the admin and the JSON API: the compose form
(publish now shows the outcome at once, a date schedules), the list (status, link,
error, cancel), the product page's "Share on social", roles, CSRF and the API."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Product
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import social_posts
from tests.kernel.services.test_social_posts import Publisher, _with_publisher
from tests.kernel.web.helpers import csrf_of, sign_in, token


@pytest.fixture
def testnet(shop: Kernel) -> Iterator[Publisher]:
    plugin = Publisher()
    _with_publisher(shop, plugin)
    yield plugin


def _product(shop: Kernel) -> tuple[int, str, str]:
    with read_only(shop.factory) as s:
        p = s.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.id)).first()  # type: ignore[attr-defined]
        assert p is not None
        return p.id or 0, p.title, p.slug


def test_publish_now_from_the_form(client: TestClient, shop: Kernel, testnet: Publisher) -> None:
    sign_in(client, "owner@shop.test")
    pid, title, _ = _product(shop)
    page = client.get(f"/admin/social?product_id={pid}")
    assert page.status_code == 200 and 'name="network" value="testnet"' in page.text
    assert f'<option value="{pid}" selected>' in page.text and 'href="/admin/social"' in page.text  # menu entry
    csrf = csrf_of(client, "/admin/social")
    r = client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "product_id": str(pid),
                                                 "text": "", "mode": "now"})
    assert r.status_code == 200 and "published on testnet" in r.text
    assert testnet.calls and testnet.calls[0].startswith(title)
    assert 'href="https://testnet.example/t1"' in r.text and 'data-status="published"' in r.text


def test_a_refusal_is_shown_at_once(client: TestClient, testnet: Publisher) -> None:
    testnet.fail = "Testnet: rate limit reached, try again in 5 minutes"
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client, "/admin/social")
    r = client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "text": "<b>Hello</b>",
                                                 "mode": "now"})
    assert 'class="flash error"' in r.text and "rate limit reached" in r.text and "retried automatically" in r.text
    assert "attempt 1 of 3" in r.text and "&lt;b&gt;Hello&lt;/b&gt;" in r.text  # what was typed is escaped


def test_schedule_then_cancel(client: TestClient, shop: Kernel, testnet: Publisher) -> None:
    sign_in(client, "marketing@shop.test")  # marketing publishes
    csrf = csrf_of(client, "/admin/social")
    r = client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "text": "Sale on Friday",
                                                 "mode": "later", "scheduled_for": "2099-01-01T09:00",
                                                 "tz_offset": "60"})
    assert "within a year" in r.text and 'class="flash error"' in r.text  # the date is checked, nothing stored
    when = (datetime.now(timezone.utc) + timedelta(days=2)).replace(second=0, microsecond=0)
    local = when.astimezone(timezone(timedelta(hours=2)))
    r = client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "text": "Sale on Friday",
                                                 "mode": "later", "scheduled_for": local.strftime("%Y-%m-%dT%H:%M"),
                                                 "tz_offset": "120"})
    assert f"for {when.strftime('%Y-%m-%d %H:%M')} UTC" in r.text and testnet.calls == []
    [post], _ = social_posts.page(shop)
    assert post["status"] == "scheduled" and post["created_by"] == "marketing@shop.test"
    assert 'data-action="cancel"' in r.text
    r = client.post(f"/admin/social/posts/{post['id']}/cancel", data={"csrf": csrf})
    assert "post on testnet cancelled" in r.text and 'data-status="cancelled"' in r.text
    assert 'data-action="cancel"' not in r.text


def test_form_errors_name_what_is_wrong(client: TestClient, testnet: Publisher) -> None:
    sign_in(client, "owner@shop.test")
    csrf = csrf_of(client, "/admin/social")
    r = client.post("/admin/social/posts", data={"csrf": csrf, "text": "hi", "mode": "now"})
    assert "choose at least one network (testnet)" in r.text
    r = client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "text": "hi",
                                                 "link": "javascript:alert(1)", "mode": "now"})
    assert "link must be an http(s) address" in r.text and testnet.calls == []


def test_roles_and_csrf(client: TestClient, shop: Kernel, testnet: Publisher) -> None:
    pid, _, _ = _product(shop)
    sign_in(client, "manager@shop.test")
    assert client.get("/admin/social").status_code == 200
    assert 'data-action="share"' in client.get(f"/admin/products/{pid}").text
    assert client.post("/admin/social/posts", data={"network": "testnet", "text": "no token",
                                                    "mode": "now"}).status_code == 403
    assert testnet.calls == []
    client.post("/admin/logout", data={"csrf": csrf_of(client, "/admin/social")})
    for role in ("picker", "support"):
        sign_in(client, f"{role}@shop.test")
        assert client.get("/admin/social").status_code == 403
        csrf = csrf_of(client, "/admin/orders")
        assert 'href="/admin/social"' not in client.get("/admin/orders").text
        assert client.post("/admin/social/posts", data={"csrf": csrf, "network": "testnet", "text": "x",
                                                        "mode": "now"}).status_code == 403
        denied = client.get("/api/admin/v1/social/posts")
        assert denied.status_code == 403 and "social:publish" in denied.json()["detail"]
        client.post("/admin/logout", data={"csrf": csrf})
    assert testnet.calls == []


def test_api_publish_list_cancel(client: TestClient, shop: Kernel, testnet: Publisher) -> None:
    auth = {"Authorization": f"Bearer {token(shop, 'social:publish')}"}
    pid, title, slug = _product(shop)
    r = client.post("/api/admin/v1/social/posts", json={"networks": ["testnet"], "product_id": pid}, headers=auth)
    assert r.status_code == 201
    [now_post] = r.json()["items"]
    assert now_post["status"] == "published" and now_post["url"] == "https://testnet.example/t1"
    assert now_post["text"].startswith(title) and now_post["link"] == f"{shop.settings.base_url}/shop/p/{slug}"
    later = (datetime.now(timezone.utc) + timedelta(hours=5)).isoformat()
    r = client.post("/api/admin/v1/social/posts", json={"networks": ["testnet"], "text": "Tomorrow",
                                                       "scheduled_for": later}, headers=auth)
    [scheduled] = r.json()["items"]
    assert r.status_code == 201 and scheduled["status"] == "scheduled" and len(testnet.calls) == 1
    bad = client.post("/api/admin/v1/social/posts", json={"networks": ["nope"], "text": "x"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["field"] == "networks"
    naive = client.post("/api/admin/v1/social/posts", json={"networks": ["testnet"], "text": "x",
                                                           "scheduled_for": "2030-01-01T09:00:00"}, headers=auth)
    assert naive.status_code == 422 and naive.json()["field"] == "scheduled_for"
    listed = client.get("/api/admin/v1/social/posts?limit=1", headers=auth).json()
    assert listed["total"] == 2 and listed["next_offset"] == 1 and listed["items"][0]["id"] == scheduled["id"]
    only = client.get("/api/admin/v1/social/posts?status=published", headers=auth).json()
    assert [i["id"] for i in only["items"]] == [now_post["id"]]
    gone = client.delete(f"/api/admin/v1/social/posts/{scheduled['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json()["status"] == "cancelled"
    again = client.delete(f"/api/admin/v1/social/posts/{scheduled['id']}", headers=auth)
    assert again.status_code == 409
    assert client.delete("/api/admin/v1/social/posts/999999", headers=auth).status_code == 404
    reader = {"Authorization": f"Bearer {token(shop, 'customers:read')}"}
    assert client.get("/api/admin/v1/social/posts", headers=reader).status_code == 403
