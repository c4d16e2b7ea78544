"""In Chromium: an owner composes a dashboard by drag and drop (reorder, remove, add,
resize, configure), saves it, and the composed page loads each widget live."""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.kernel.web.helpers import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_owner_composes_by_drag_and_drop(page: Any, live_shop: str) -> None:
    page.goto(f"{live_shop}/admin/login")
    page.fill("input[name=email]", "owner@shop.test")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin$"))

    page.goto(f"{live_shop}/admin/dashboard/compose")
    cells = page.locator("#layout .cell")
    assert cells.count() == 8
    # drag "Plugin health" (near the end) over the top half of the first widget: HTML5 drag events
    # dispatched in the page (Playwright's mouse drag scrolls the long list mid-gesture)
    source = page.locator("#layout .cell[data-widget=plugin_health]")
    target = cells.nth(0)
    transfer = page.evaluate_handle("new DataTransfer()")
    source.dispatch_event("dragstart", {"dataTransfer": transfer})
    box = target.bounding_box()
    target.dispatch_event("dragover", {"dataTransfer": transfer, "clientY": box["y"] + 2, "clientX": box["x"] + 5})
    source.dispatch_event("dragend", {"dataTransfer": transfer})
    assert cells.nth(0).get_attribute("data-widget") == "plugin_health"
    page.click("#layout .cell[data-widget=rfm_segments] .remove")
    page.click("#layout .cell[data-widget=sales_by_channel] .remove")
    page.click("#palette .add[data-widget=sales_by_channel]")  # back, at the end
    page.select_option("#layout .cell[data-widget=top_products] .width", "3")
    page.fill("#layout .cell[data-widget=top_products] .config", '{"days": 7, "limit": 3}')
    page.click("#save")
    page.wait_for_selector("#status:text('Saved 7 widgets.')")

    page.goto(f"{live_shop}/admin/dashboard/mine")
    order = page.locator("#composed .widget").evaluate_all("els => els.map(e => e.dataset.widget)")
    assert order == ["core-widgets/plugin_health", "core-widgets/sales_today", "core-widgets/top_products",
                     "core-widgets/stock_alerts", "core-widgets/carrier_delays", "core-widgets/recent_mentions",
                     "core-widgets/sales_by_channel"]
    top = page.locator("#composed .widget[data-widget='core-widgets/top_products']")
    assert "span 3" in (top.get_attribute("style") or "")
    top.locator("table").wait_for()  # loaded by htmx with its settings
    assert top.locator("tr").count() <= 4  # header + at most 3 products (limit 3)
    page.locator("#composed .widget[data-widget='core-widgets/plugin_health'] table").wait_for()
