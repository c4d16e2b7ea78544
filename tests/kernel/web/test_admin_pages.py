"""Admin console pages: widgets per role, plugin pages and menus, orders, bulk edits."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Order, Variant
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.types import MenuItem, WidgetSpec
from comptoir.kernel.web.app import create_app
from tests.kernel.web.helpers import csrf_of, sign_in
from tests.plugins.kernel_fixtures import manifest


class WidgetsAndPages:
    """A plugin with one widget for owners, an admin page and a menu entry."""

    @hookimpl
    def dashboard_widgets(self, ctx: Any, role: str) -> list[WidgetSpec]:
        return [WidgetSpec(id="hello", title="Hello widget", roles=("owner",), template="number")]

    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        return {"value": 42, "label": "answers"}

    @hookimpl
    def web_routes(self, ctx: Any) -> list[Any]:
        async def hello(request: Request) -> PlainTextResponse:
            return PlainTextResponse("plugin page for " + request.scope["comptoir_staff"].name)

        return [Route("/hello", hello)]

    @hookimpl
    def admin_menu_items(self, ctx: Any, role: str) -> list[MenuItem]:
        return [MenuItem(label="Hello", path="/plugins/hello-plugin/hello", roles=("owner",))]


def test_dashboard_widgets_menu_and_plugin_pages(shop: Kernel) -> None:
    shop.host.add(WidgetsAndPages(), manifest("hello-plugin"))
    shop.host.enable("hello-plugin", persist=False)
    with TestClient(create_app(shop, start_jobs=False)) as c:
        assert c.get("/plugins/hello-plugin/hello", follow_redirects=False).status_code == 303
        sign_in(c, "owner@shop.test")
        dash = c.get("/admin").text
        assert 'hx-get="/admin/widgets/hello-plugin/hello"' in dash and 'href="/plugins/hello-plugin/hello"' in dash
        w = c.get("/admin/widgets/hello-plugin/hello").text
        assert "42" in w and "answers" in w
        assert c.get("/plugins/hello-plugin/hello").text == "plugin page for owner@shop.test"
        assert c.get("/plugins/nope/x").status_code == 404
        c.post("/admin/logout", data={"csrf": csrf_of(c)})
        sign_in(c, "support@shop.test")
        assert "hello-plugin" not in c.get("/admin").text
        assert c.get("/admin/widgets/hello-plugin/hello").status_code == 404
    shop.host.disable("hello-plugin", persist=False)


def test_every_admin_page_renders_for_the_owner(client: TestClient, shop: Kernel) -> None:
    sign_in(client, "owner@shop.test")
    with read_only(shop.factory) as s:
        oid = s.scalar(select(Order.id))
    for path in ("/admin", "/admin/products", "/admin/products/1", "/admin/products/new", "/admin/orders",
                 f"/admin/orders/{oid}", "/admin/customers", "/admin/customers/1", "/admin/stock", "/admin/plugins",
                 "/admin/journal", "/admin/staff", "/admin/account", "/admin/orders?status=paid&offset=0"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])


def test_order_actions_and_bulk_price_through_forms(client: TestClient, shop: Kernel) -> None:
    sign_in(client, "owner@shop.test")
    with read_only(shop.factory) as s:
        oid = s.scalar(select(Order.id).where(Order.status == "placed"))
        price = s.scalar(select(Variant.price_amount).where(Variant.product_id == 1))
    csrf = csrf_of(client)
    page = client.post(f"/admin/orders/{oid}/mark-paid", data={"csrf": csrf}).text
    assert "marked paid" in page and 'id="order-status">paid' in page
    page = client.post(f"/admin/orders/{oid}/fulfil", data={"csrf": csrf}).text
    assert 'id="order-status">fulfilled' in page
    page = client.post("/admin/products/bulk", data={"csrf": csrf, "product_id": ["1"], "action": "price",
                                                     "mode": "delta", "value": "1.50"}).text
    assert "prices changed" in page
    with read_only(shop.factory) as s:
        assert s.scalar(select(Variant.price_amount).where(Variant.product_id == 1)) == (price or 0) + 150
    page = client.post("/admin/products/bulk", data={"csrf": csrf, "product_id": ["1", "2"], "action": "collection",
                                                     "collection": "Gift ideas"}).text
    assert "Gift ideas: 2 products" in page


def test_demo_storefront_pages(client: TestClient) -> None:
    home = client.get("/").text
    assert "New in" in home
    slug = home.split('data-product="', 1)[1].split('"', 1)[0]
    product = client.get(f"/shop/p/{slug}").text
    sku = product.split('name="sku" value="', 1)[1].split('"', 1)[0]
    csrf = product.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    cart = client.post("/shop/cart", data={"csrf": csrf, "sku": sku, "quantity": "2"}).text
    assert "cart updated" in cart and 'id="checkout-link"' in cart
    assert client.post("/shop/cart", data={"sku": sku}).status_code == 403  # no CSRF token
    addr = {"csrf": csrf, "step": "quote", "email": "buyer@example.com", "name": "Buyer", "line1": "1 rue A",
            "postal_code": "75001", "city": "Paris", "country": "fr"}
    choose = client.post("/shop/checkout", data=addr).text
    quote = choose.split('name="quote" value="', 1)[1].split('"', 1)[0]
    method = choose.split('name="method" value="', 1)[1].split('"', 1)[0]
    done = client.post("/shop/checkout", data={**addr, "country": "FR", "step": "place", "quote": quote,
                                               "method": method, "idem": "abc"})
    assert "Thank you" in done.text and 'id="order-number"' in done.text
    assert client.get("/shop/c/tea").status_code == 200
    assert client.get("/shop/c/nope").status_code == 404
