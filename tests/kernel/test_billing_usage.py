"""Usage reporting from plugins: the right, the outbox, and forwarding to the marketplace."""
from __future__ import annotations

import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from comptoir.kernel.billing_usage import UsageOutbox, forward_usage, pending, report_usage
from comptoir.kernel.errors import ScopeDenied, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.marketplace.app import create_app
from comptoir.marketplace.billing import Billing
from comptoir.marketplace.billing import usage as market_usage
from comptoir.marketplace.models import Plugin, Vendor
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings
from tests.plugins.kernel_fixtures import manifest


class Meter:
    """A metered plugin: it reports one label per shipment it buys."""


def _add(kernel: Kernel, plugin_id: str, scopes: tuple[str, ...]) -> None:
    m = manifest(plugin_id, scopes={"data": list(scopes)})
    kernel.host.add(Meter(), m)
    kernel.host.enable(plugin_id)
    creds = kernel.services.get("credentials")
    if creds is not None:
        creds.grant(plugin_id, m.requested_rights(), "test-admin", version=m.version)


def _rows(kernel: Kernel) -> int:
    with kernel.factory() as s:
        return int(s.scalar(select(func.count()).select_from(UsageOutbox)) or 0)


def test_reporting_needs_the_usage_right(kernel: Kernel) -> None:
    _add(kernel, "no-meter", ())
    with pytest.raises(ScopeDenied, match="usage:write"):
        report_usage(kernel, "no-meter", "label", 1, "k1")
    _add(kernel, "meter", ("usage:write",))
    ctx = kernel.host.context("meter")
    assert ctx.extras["usage"].report("label", 2, idempotency_key="ship-1") is True
    assert ctx.extras["usage"].report("label", 2, idempotency_key="ship-1") is False  # a retry
    with pytest.raises(ValidationFailed):
        ctx.extras["usage"].report("label", 0, idempotency_key="ship-2")
    assert _rows(kernel) == 1


def test_twenty_threads_report_at_once_each_counted_once(kernel_any: Kernel) -> None:
    _add(kernel_any, "meter", ("usage:write",))
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        barrier.wait()
        first = report_usage(kernel_any, "meter", "label", 1, f"ship-{i}")
        replay = report_usage(kernel_any, "meter", "label", 1, f"ship-{i}")
        with lock:
            results.extend([first, replay])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [False] * 20 + [True] * 20
    assert _rows(kernel_any) == 20


class LoseFirstAnswer(httpx.BaseTransport):
    """The marketplace receives the first post but the shop never hears back (a timeout)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        response = self.inner.handle_request(request)
        if self.calls == 1:
            response.read()
            raise httpx.ReadTimeout("lost answer", request=request)
        return response


def test_forwarding_is_retry_safe_end_to_end(kernel: Kernel, tmp_path: Path, monkeypatch: Any) -> None:
    mp = Marketplace(MarketSettings(home=tmp_path / "market", admin_token="op"))
    with mp.factory() as s, s.begin():
        v = Vendor(name="acme", token_hash=uuid.uuid4().hex)
        s.add(v)
        s.flush()
        s.add(Plugin(id="meter", vendor_id=v.id, dist_name="meter", name="Meter", category="shipping",
                     pricing={"model": "usage", "usage_price": 40, "usage_unit": "label"}))
    billing = Billing.of(mp)
    token = billing.register_shop("shop-1")
    app_client = TestClient(create_app(market=mp))
    transport = LoseFirstAnswer(app_client._transport)  # type: ignore[attr-defined]
    client = httpx.Client(transport=transport)
    kernel.services["billing_usage"].update(url="http://testserver", token=token)
    _add(kernel, "meter", ("usage:write",))
    ctx = kernel.host.context("meter")
    for i in range(3):
        ctx.extras["usage"].report("label", 5, idempotency_key=f"ship-{i}")

    first = forward_usage(kernel, client=client)
    assert first == {"sent": 2, "failed": 1, "pending": 1}
    assert "ReadTimeout" in pending(kernel)[0]["last_error"] and token not in str(pending(kernel))
    with kernel.factory.begin() as s:  # make the failed record due now instead of in 5 s
        s.execute(UsageOutbox.__table__.update().values(next_attempt_at=UsageOutbox.__table__.c.created_at))  # type: ignore[attr-defined]
    assert forward_usage(kernel, client=client) == {"sent": 1, "failed": 0, "pending": 0}
    # the marketplace stored each record once although it received the first one twice
    month = date.today().strftime("%Y-%m")
    [row] = market_usage.this_month(billing, "shop-1")
    assert (row["quantity"], row["records"], row["amount"]) == (15, 3, 600) and row["month"] == month
    assert forward_usage(kernel, client=client) == {"sent": 0, "failed": 0, "pending": 0}
    mp.close()


def test_forwarding_without_configuration_says_what_to_set(kernel: Kernel, monkeypatch: Any) -> None:
    monkeypatch.delenv("COMPTOIR_BILLING_TOKEN", raising=False)
    with pytest.raises(ValidationFailed, match="COMPTOIR_BILLING_TOKEN"):
        forward_usage(kernel)
