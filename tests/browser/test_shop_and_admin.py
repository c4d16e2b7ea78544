"""End to end in Chromium: a shopper buys, staff take the order through to shipped,
bulk-edit prices, and a role without rights is refused."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import place_order, staff_sign_in as sign_in, to_checkout_options

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_shopper_buys_and_staff_ship_the_order(page: Any, live_shop: str) -> None:
    to_checkout_options(page, live_shop)
    assert "(1)" in page.inner_text("#cart-link")
    number = place_order(page)
    assert number.startswith("C")

    sign_in(page, live_shop, "owner@shop.test")
    page.click("nav.side >> text=Orders")
    page.click(f"text={number}")
    assert page.inner_text("#order-status") == "placed"
    page.click("button[data-action=mark-paid]")
    page.wait_for_selector("#order-status:text('paid')")
    page.click("button[data-action=fulfil]")
    page.wait_for_selector("#order-status:text('fulfilled')")
    assert "Tracking" in page.inner_text("main")


def test_bulk_price_edit(page: Any, live_shop: str) -> None:
    sign_in(page, live_shop, "marketing@shop.test")
    page.goto(live_shop + "/admin/products")
    first = page.locator("td.price").nth(0).inner_text()
    boxes = page.locator("input[name=product_id]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.inner_text("#selected-count") == "2 selected"
    page.select_option("select[name=mode]", "set")
    page.fill("input[name=value]", "7.77")
    page.click("#bulk-bar button[type=submit]")
    page.wait_for_selector(".flash:text('prices changed')")
    prices = [page.locator("td.price").nth(i).inner_text() for i in range(2)]
    assert prices == ["7.77 €", "7.77 €"] and first != "7.77 €"


def test_role_without_rights_is_refused(page: Any, live_shop: str) -> None:
    sign_in(page, live_shop, "picker@shop.test")
    menu = page.inner_text("nav.side")
    assert "Orders" in menu and "Plugins" not in menu and "Customers" not in menu
    response = page.goto(live_shop + "/admin/plugins")
    assert response.status == 403
    assert "does not include" in page.inner_text("body")


def test_admin_works_on_a_phone(browser: Any, live_shop: str) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    sign_in(page, live_shop, "owner@shop.test")
    assert not page.is_visible("nav.side .links a[href='/admin/orders']")
    page.click("#menu-toggle")
    page.click("nav.side .links a[href='/admin/orders']")
    page.wait_for_url(re.compile(r".*/admin/orders$"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1  # nothing forces a sideways scroll
    ctx.close()


def test_image_upload_on_a_product(page: Any, live_shop: str) -> None:
    png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
           b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
    sign_in(page, live_shop, "manager@shop.test")
    page.goto(live_shop + "/admin/products/3")
    before = page.locator("#thumbs img").count()
    page.set_input_files("#image-input", files=[{"name": "cup.png", "mimeType": "image/png", "buffer": png}])
    from playwright.sync_api import expect

    expect(page.locator("#thumbs img")).to_have_count(before + 1)  # no eval: the page's CSP forbids it
    src = page.locator("#thumbs img").last.get_attribute("src")
    assert src.startswith("/media/products/3/")
    page.reload()
    assert page.locator("#thumbs img").count() == before + 1
