"""Mentions in the admin and the JSON API: the customer page's "Talks about the shop",
handles through forms and API, the influence filter and badge, roles and CSRF."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Customer
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import mentions
from comptoir.kernel.types import Mention
from tests.kernel.web.helpers import csrf_of, sign_in, token

NOW = datetime.now(timezone.utc)


def auth(t: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {t}"}


def _said(i: int, **kw: Any) -> Mention:
    values: dict[str, Any] = {"network": "mastodon", "remote_id": f"s{i}", "author_handle": f"@fan{i}@piaille.fr",
                              "text": f"Lovely shop {i}", "url": f"https://piaille.fr/@fan{i}/{i}",
                              "at": (NOW - timedelta(days=i)).isoformat(), **kw}
    return Mention(**values)


@pytest.fixture
def people(shop: Kernel) -> dict[str, int]:
    """Two seeded customers: an ambassador (three mentions, by e-mail) and a reviewer
    known by handle; plus mentions nobody is tied to."""
    with read_only(shop.factory) as s:
        first, second = [c.id or 0 for c in s.scalars(select(Customer).order_by(Customer.id).limit(2))]
        emails = {c.id: c.email for c in s.scalars(select(Customer).where(Customer.id.in_([first, second])))}  # type: ignore[union-attr]
    mentions.add_handle(shop.factory, second, "google", "Jo Reviewer")
    mentions.store(shop, "tests", [
        _said(1, author_email=emails[first]), _said(2, author_email=emails[first], kind="reply"),
        _said(3, author_email=emails[first], text="<script>alert('x')</script> so good"),
        _said(4, network="google", author_handle="Jo Reviewer", kind="review", rating=4, text="Bon accueil",
              url="javascript:alert(1)"),
        _said(5, author_handle="@stranger@mastodon.social", text="who are they?", author_followers=90_000),
    ])
    return {"ambassador": first, "reviewer": second}


def test_customer_page_shows_what_they_said(client: TestClient, people: dict[str, int]) -> None:
    sign_in(client, "owner@shop.test")
    page = client.get(f"/admin/customers/{people['ambassador']}").text
    assert "Talks about the shop" in page and 'data-influence="ambassador"' in page
    assert 'href="https://piaille.fr/@fan1/1"' in page and "Lovely shop 2" in page and "reply" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page  # what people post is escaped
    review = client.get(f"/admin/customers/{people['reviewer']}").text
    assert "★★★★☆" in review and "Bon accueil" in review and "average 4.0 / 5" in review
    assert "javascript:" not in review  # only web addresses become links
    assert "Jo Reviewer" in review and 'action="/admin/customers/%d/handles"' % people["reviewer"] in review


def test_handles_through_the_admin_forms(client: TestClient, shop: Kernel, people: dict[str, int]) -> None:
    sign_in(client, "owner@shop.test")
    cid = people["reviewer"]
    csrf = csrf_of(client, f"/admin/customers/{cid}")
    assert client.post(f"/admin/customers/{cid}/handles", data={"network": "mastodon",
                                                                 "handle": "@stranger@mastodon.social"}
                       ).status_code == 403  # no CSRF token
    r = client.post(f"/admin/customers/{cid}/handles", data={"csrf": csrf, "network": "Mastodon",
                                                             "handle": "@Stranger@mastodon.social"})
    assert r.status_code == 200 and "mastodon handle stranger@mastodon.social recorded; 1 earlier mention tied" in r.text
    assert 'data-influence="influencer"' in r.text and "90,000 followers" in r.text and "who are they?" in r.text
    r = client.post(f"/admin/customers/{people['ambassador']}/handles",
                    data={"csrf": csrf, "network": "mastodon", "handle": "stranger@mastodon.social"})
    assert f"already belongs to customer {cid}" in r.text and 'class="flash error"' in r.text
    r = client.post(f"/admin/customers/{cid}/handles", data={"csrf": csrf, "network": "two words", "handle": "x"})
    assert "network must be a short id" in r.text
    r = client.post(f"/admin/customers/{cid}/handles/delete",
                    data={"csrf": csrf, "network": "mastodon", "handle": "stranger@mastodon.social"})
    assert "handle removed; 1 mention untied" in r.text and "who are they?" not in r.text
    assert [h["network"] for h in mentions.handles(shop.factory, cid)] == ["google"]


def test_customers_list_filters_and_badges_by_influence(client: TestClient, people: dict[str, int]) -> None:
    sign_in(client, "owner@shop.test")
    everyone = client.get("/admin/customers").text
    assert everyone.count('data-influence="ambassador"') == 1 and "ambassadors</option>" in everyone
    only = client.get("/admin/customers?influence=ambassador").text
    assert f'href="/admin/customers/{people["ambassador"]}"' in only
    assert f'href="/admin/customers/{people["reviewer"]}"' not in only
    assert "No customers." in client.get("/admin/customers?influence=influencer").text
    assert client.get("/admin/customers?influence=bogus").status_code == 200  # ignored, not an error


def test_roles_marketing_reads_picker_is_refused(client: TestClient, people: dict[str, int]) -> None:
    cid = people["ambassador"]
    sign_in(client, "marketing@shop.test")
    page = client.get(f"/admin/customers/{cid}").text
    # marketing follows the shop's social life: reads mentions and records handles (customers:social),
    # without the right to edit the customer record itself (customers:write)
    assert "Lovely shop 1" in page and "Add handle" in page
    assert client.get("/api/admin/v1/mentions").status_code == 200
    csrf = csrf_of(client, f"/admin/customers/{cid}")
    added = client.post(f"/admin/customers/{cid}/handles", data={"csrf": csrf, "network": "bluesky",
                                                                 "handle": "x.bsky.social"}, follow_redirects=False)
    assert added.status_code == 303
    assert "x.bsky.social" in client.get(f"/admin/customers/{cid}").text
    client.post("/admin/logout", data={"csrf": csrf})
    sign_in(client, "picker@shop.test")
    assert client.get(f"/admin/customers/{cid}").status_code == 403
    denied = client.get("/api/admin/v1/mentions")
    assert denied.status_code == 403 and "customers:read" in denied.json()["detail"]
    assert client.get(f"/api/admin/v1/customers/{cid}/mentions").status_code == 403
    client.post("/admin/logout", data={"csrf": csrf_of(client, "/admin/orders")})
    sign_in(client, "manager@shop.test")
    assert "Add handle" in client.get(f"/admin/customers/{cid}").text


def test_json_api(client: TestClient, shop: Kernel, owner_token: str, people: dict[str, int]) -> None:
    h = auth(owner_token)
    amb, rev = people["ambassador"], people["reviewer"]
    all_ = client.get("/api/admin/v1/mentions", headers=h).json()
    assert all_["total"] == 5 and [m["remote_id"] for m in all_["items"]][:2] == ["s1", "s2"]
    assert "author_email" not in all_["items"][0]
    assert [m["remote_id"] for m in client.get("/api/admin/v1/mentions?linked=false", headers=h).json()["items"]] == ["s5"]
    assert client.get("/api/admin/v1/mentions?network=google&kind=review", headers=h).json()["total"] == 1
    assert client.get("/api/admin/v1/mentions?kind=like", headers=h).status_code == 422
    page = client.get(f"/api/admin/v1/customers/{amb}/mentions?limit=2", headers=h).json()
    assert (page["total"], len(page["items"]), page["next_offset"]) == (3, 2, 2)
    assert client.get("/api/admin/v1/customers/999999/mentions", headers=h).status_code == 404
    detail = client.get(f"/api/admin/v1/customers/{amb}", headers=h).json()
    assert detail["voice"]["label"] == "ambassador" and detail["voice"]["mentions"] == 3
    listed = client.get("/api/admin/v1/customers?influence=ambassador", headers=h).json()
    assert [c["id"] for c in listed["items"]] == [amb] and listed["items"][0]["influence"] == "ambassador"

    path = f"/api/admin/v1/customers/{rev}/handles/mastodon/@stranger@mastodon.social"
    put = client.put(path, headers=h)
    assert put.status_code == 200 and (put.json()["handle"], put.json()["linked"]) == ("stranger@mastodon.social", 1)
    assert client.put(path, headers=h).json()["linked"] == 0  # idempotent
    taken = client.put(f"/api/admin/v1/customers/{amb}/handles/mastodon/stranger@mastodon.social", headers=h)
    assert taken.status_code == 409 and taken.json()["field"] == "handle"
    assert client.put(f"/api/admin/v1/customers/{rev}/handles/Not%20A%20Net/x", headers=h).status_code == 422
    assert client.put("/api/admin/v1/customers/999999/handles/mastodon/x", headers=h).status_code == 404
    handles = client.get(f"/api/admin/v1/customers/{rev}/handles", headers=h).json()["items"]
    assert [(x["network"], x["handle"]) for x in handles] == [("google", "jo reviewer"),
                                                              ("mastodon", "stranger@mastodon.social")]
    assert client.get(f"/api/admin/v1/customers/{rev}", headers=h).json()["voice"]["label"] == "influencer"
    gone = client.delete(path, headers=h)
    assert gone.status_code == 200 and gone.json()["unlinked"] == 1
    assert client.delete(path, headers=h).status_code == 404

    reader = auth(token(shop, "customers:read"))
    assert client.get("/api/admin/v1/mentions", headers=reader).status_code == 200
    assert client.put(path, headers=reader).status_code == 403
    assert client.post("/api/admin/v1/mentions/collect", headers=reader).status_code == 403
    collected = client.post("/api/admin/v1/mentions/collect", headers=h).json()
    assert collected["new"] == 0 and collected["failed"] == []  # no social plugin in this shop
