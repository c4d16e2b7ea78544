"""In Chromium: the owner adds a variant on the product page, edits its price inline
(htmx swaps the row, the page stays), and a shopper finds and buys it in the shop; on a
phone the variants table fits the screen."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.test_shop_and_admin import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_adds_a_variant_and_the_shop_sells_it(page: Any, live_shop: str) -> None:
    sign_in(page, live_shop, "owner@shop.test")
    page.goto(live_shop + "/admin/products")
    page.click("table a[href^='/admin/products/'] >> nth=0")
    page.wait_for_selector("#variants-table")
    product_url = page.url
    shop_href = page.get_attribute("a[href^='/shop/p/']", "href")

    form = page.locator("#add-variant")
    form.locator("input[name=sku]").fill("BROWSER-XL")
    form.locator("input[name=title]").fill("Size XL")
    form.locator("input[name=price]").fill("19.9")
    form.locator("input[name=weight]").fill("300")
    form.locator("input[name^=stock_] >> nth=0").fill("5")
    page.click("#add-variant-button")
    page.wait_for_selector(".flash:text('variant BROWSER-XL added')")
    row = page.locator("tr[data-sku='BROWSER-XL']")
    assert "19.90 €" in row.inner_text() and "Size XL" in row.inner_text() and ": 5" in row.inner_text()

    # a second add with the same SKU is refused on the page, naming the field
    form = page.locator("#add-variant")
    form.locator("input[name=sku]").fill("BROWSER-XL")
    form.locator("input[name=price]").fill("1")
    page.click("#add-variant-button")
    assert page.get_attribute("#add-variant-error", "data-field") == "sku"
    assert page.locator("#add-variant input[name=sku]").get_attribute("aria-invalid") == "true"

    # inline edit: the row turns into inputs and back, without leaving the page
    page.goto(product_url)
    page.locator("tr[data-sku='BROWSER-XL'] [data-action=edit]").click()
    page.wait_for_selector("tr[data-sku='BROWSER-XL'].editing")
    page.fill("tr[data-sku='BROWSER-XL'] input[name=price]", "21.5")
    page.click("tr[data-sku='BROWSER-XL'] [data-action=save]")
    page.wait_for_selector("tr[data-sku='BROWSER-XL']:not(.editing) >> text=21.50 €")
    assert page.url == product_url

    page.goto(live_shop + shop_href)
    choice = page.locator("label", has_text="Size XL")
    assert "21.50 €" in choice.inner_text() and "5 available" in choice.inner_text()
    choice.locator("input[name=sku]").check()
    page.click("#add-to-cart")
    page.wait_for_url(re.compile(r".*/shop/cart$"))
    assert "Size XL" in page.inner_text("main") and "21.50 €" in page.inner_text("main")


def test_variants_table_fits_a_phone(browser: Any, live_shop: str) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    try:
        sign_in(page, live_shop, "owner@shop.test")
        page.goto(live_shop + "/admin/products/1")
        page.wait_for_selector("#variants-table")
        assert not page.is_visible("#variants-table thead")
        fits = page.evaluate("() => { const t = document.getElementById('variants-table');"
                             " return t.getBoundingClientRect().right <= window.innerWidth + 1; }")
        assert fits
        label = page.evaluate("() => getComputedStyle(document.querySelector("
                              "'#variants-table td[data-label=Price]'), '::before').content")
        assert label == '"Price"'
    finally:
        ctx.close()
