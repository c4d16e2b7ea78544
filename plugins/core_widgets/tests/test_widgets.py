"""Core widgets over hand-made shop data, with a fixed clock, inside a real kernel."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import update

import comptoir_core_widgets.plugin as plugin_module
from comptoir.kernel.domain import Customer, Order, OrderLine, Shipment, SocialMention, StockLevel
from comptoir.sdk import manifest_from_pyproject

PLUGIN = "core-widgets"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")
NOW = datetime(2026, 3, 15, 14, 0, tzinfo=timezone.utc)


def _order(s: Any, ref: str, at: datetime, total: int, *, channel: str = "web", status: str = "paid",
           currency: str = "EUR") -> Order:
    o = Order(reference=ref, email=f"{ref}@example.com", status=status, channel=channel, currency=currency,
              subtotal=total, total=total, placed_at=at)
    s.add(o)
    s.flush()
    return o


@pytest.fixture
def kernel(plugin_kernel: Any) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    k.host.context(PLUGIN).now = lambda: NOW
    demo = k.demo
    with k.factory() as s, s.begin():
        today = NOW.replace(hour=9)
        a = _order(s, "A", today, 2000)
        _order(s, "B", today, 1500, channel="pos")
        _order(s, "C", datetime(2026, 3, 3, tzinfo=timezone.utc), 3000)
        _order(s, "D", datetime(2026, 2, 20, tzinfo=timezone.utc), 9999)
        _order(s, "E", today, 5000, status="cancelled")
        for variant, qty, price in ((demo.variant_ids[0], 3, 1800), (demo.variant_ids[2], 5, 1250)):
            s.add(OrderLine(order_id=a.id, variant_id=variant, sku="x", title="x", quantity=qty, unit_price=price,
                            total=qty * price, location_id=demo.location_id))
        for i, seg in enumerate(["champions", "champions", "lost", "", "at_risk"]):
            s.add(Customer(email=f"c{i}@example.com", segment=seg))
        for i, (carrier, status, days) in enumerate([("Colissimo", "in_transit", 1), ("Colissimo", "in_transit", 9),
                                                    ("Colissimo", "delivered", 9), ("Mondial Relay", "exception", 2)]):
            s.add(Shipment(order_id=a.id, plugin="x", carrier=carrier, status=status, tracking_number=f"T{i}",
                           created_at=NOW - timedelta(days=days)))
        s.execute(update(StockLevel).where(StockLevel.variant_id == demo.variant_ids[1])
                  .values(on_hand=3, reserved=1, low_threshold=5))
        for i, (network, kind, rating, who, days) in enumerate([
                ("google", "review", 4, "Marie Curie", 1), ("mastodon", "mention", None, "", 2),
                ("bluesky", "reply", None, "Zoé", 45)]):
            s.add(SocialMention(network=network, remote_id=f"r{i}", author_handle=f"@fan{i}", author_key=f"fan{i}",
                                author_name=who, text="Très  bon\nthé " + "x" * 100 * (i == 1), url="", kind=kind,
                                rating=rating, plugin=network, at=NOW - timedelta(days=days)))
    yield k  # closed by plugin_kernel


def data(kernel: Any, widget: str, **config: Any) -> Any:
    return kernel.host.call_one(PLUGIN, "widget_data", widget_id=widget, config=config)


def test_widgets_per_role(kernel: Any) -> None:
    owner = [w.id for w in kernel.host.call("dashboard_widgets", role="owner")]
    assert owner == ["sales_today", "sales_by_channel", "top_products", "stock_alerts", "rfm_segments",
                     "carrier_delays", "plugin_health", "recent_mentions"]
    assert [w.id for w in kernel.host.call("dashboard_widgets", role="picker")] == ["stock_alerts", "carrier_delays"]
    assert [w.id for w in kernel.host.call("dashboard_widgets", role="marketing")] == [
        "top_products", "rfm_segments", "recent_mentions"]


def test_sales(kernel: Any) -> None:
    assert data(kernel, "sales_today") == {"value": 3500, "currency": "EUR", "display": "35.00 EUR",
                                           "label": "2 orders"}
    assert data(kernel, "sales_by_channel")["rows"] == [["web", 1, "20.00 EUR", 2, "50.00 EUR"],
                                                        ["pos", 1, "15.00 EUR", 1, "15.00 EUR"]]


def test_top_products_stock_and_segments(kernel: Any) -> None:
    assert data(kernel, "top_products")["rows"] == [["Sencha tea 100 g", 5, "62.50 EUR"],
                                                    ["Enamel mug", 3, "54.00 EUR"]]
    assert data(kernel, "stock_alerts")["rows"] == [["TOTE-CANVAS", "Canvas tote bag", 2, 5]]
    assert data(kernel, "rfm_segments")["points"] == [["champions", 2], ["at_risk", 1], ["lost", 1],
                                                      ["not segmented", 1]]


def test_carrier_delays(kernel: Any) -> None:
    rows = data(kernel, "carrier_delays")["rows"]
    assert rows == [["Colissimo", 1, 1, 0, 1], ["Mondial Relay", 0, 0, 1, 0]]
    assert data(kernel, "carrier_delays", late_after_days=10)["rows"][0] == ["Colissimo", 2, 0, 0, 1]


def test_plugin_health_from_the_journal(kernel: Any) -> None:
    j = kernel.host.journal
    for outcome in ["ok"] * 8 + ["error", "timeout"]:
        j.record("stripe-payments", "payment_authorize", 1000, outcome, "boom" if outcome != "ok" else "")
    j.record("colissimo", "shipping_quotes", 1000, "error", "down")
    j.flush()
    kernel.host.context(PLUGIN).now = lambda: datetime.now(timezone.utc)  # the journal uses the real clock
    rows = {r[0]: r for r in data(kernel, "plugin_health")["rows"]}
    assert rows["stripe-payments"][1:] == [10, 1, 1, 0, "20.0 %", "degraded"]
    assert rows["colissimo"][-1] == "failing"


def test_a_revoked_scope_fails_the_widget_not_the_dashboard(kernel: Any) -> None:
    kernel.services["credentials"].revoke(PLUGIN, ["usage:read"], "admin")
    from comptoir.kernel.errors import ScopeDenied

    with pytest.raises(ScopeDenied, match="usage:read"):
        data(kernel, "plugin_health")
    assert data(kernel, "sales_today")["value"] == 3500


def test_recent_reviews_and_mentions(kernel: Any) -> None:
    rows = data(kernel, "recent_mentions")["rows"]
    assert rows[0] == ["14 Mar 14:00", "google", "Marie Curie", "review", "★★★★☆", "Très bon thé"]
    assert rows[1][2] == "@fan1" and rows[1][4] == "" and len(rows[1][5]) == 80 and rows[1][5].endswith("…")
    assert len(rows) == 2  # the reply of 45 days ago is older than the 30-day default
    assert len(data(kernel, "recent_mentions", days=60)["rows"]) == 3
    assert len(data(kernel, "recent_mentions", limit=1)["rows"]) == 1
    kernel.services["credentials"].revoke(PLUGIN, ["reviews:read"], "admin")
    from comptoir.kernel.errors import ScopeDenied

    with pytest.raises(ScopeDenied, match="reviews:read"):
        data(kernel, "recent_mentions")
