"""Dashboards composed per person and per role, over the core widgets, through the app."""
from __future__ import annotations

import json
from typing import Iterator

import pytest
from starlette.testclient import TestClient

from comptoir.kernel.runtime import Kernel
from comptoir.kernel.web.admin import dashboard_compose
from comptoir.kernel.web.app import create_app
from tests.kernel.web.helpers import csrf_of, sign_in


@pytest.fixture
def app(shop: Kernel):  # type: ignore[no-untyped-def]
    if not shop.host.records.get("core-widgets") or not shop.host.records["core-widgets"].enabled:
        pytest.skip("the core-widgets plugin is not installed (pip install -e plugins/core_widgets)")
    app = create_app(shop, start_jobs=False)
    app.router.routes[0:0] = dashboard_compose.routes  # the lead wires them into create_app
    return app


def _client(app, email: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        assert sign_in(c, email).status_code == 303
        yield c


@pytest.fixture
def owner(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from _client(app, "owner@shop.test")


@pytest.fixture
def picker(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    yield from _client(app, "picker@shop.test")


def save(c: TestClient, body: dict[str, object], *, csrf: bool = True):  # type: ignore[no-untyped-def]
    headers = {"X-CSRF-Token": csrf_of(c, "/admin/dashboard/compose")} if csrf else {}
    return c.post("/admin/dashboard/compose", content=json.dumps(body),
                  headers={**headers, "Content-Type": "application/json"})


def test_person_layout_order_width_and_settings(owner: TestClient) -> None:
    first = owner.get("/admin/dashboard/mine").text
    assert "every widget of your role" in first and 'data-widget="core-widgets/sales_today"' in first
    r = save(owner, {"scope": "me", "cells": [
        {"plugin": "core-widgets", "widget": "top_products", "width": 2, "config": {"days": 7}},
        {"plugin": "core-widgets", "widget": "sales_today", "width": 1}]})
    assert r.status_code == 200 and r.json()["saved"] == 2
    page = owner.get("/admin/dashboard/mine").text
    assert "your own layout" in page
    assert page.index("core-widgets/top_products") < page.index("core-widgets/sales_today")
    assert "grid-column:span 2" in page and "config=%7B%22days%22%3A%207%7D" in page
    assert "core-widgets/plugin_health" not in page  # removed from the layout
    widget = owner.get("/admin/dashboard/w/core-widgets/top_products", params={"config": '{"days": 7}'})
    assert widget.status_code == 200 and "<th>Units</th>" in widget.text
    editor = owner.get("/admin/dashboard/compose").text
    assert 'data-widget="top_products"' in editor and "+ Plugin health, 24 h" in editor


def test_role_layout_set_by_the_owner(owner: TestClient, picker: TestClient) -> None:
    assert save(owner, {"scope": "role", "role": "picker", "cells": [
        {"plugin": "core-widgets", "widget": "stock_alerts", "width": 4}]}).status_code == 200
    page = picker.get("/admin/dashboard/mine").text
    assert "the layout of your role" in page and "core-widgets/stock_alerts" in page
    assert "core-widgets/carrier_delays" not in page
    assert save(picker, {"scope": "me", "cells": [
        {"plugin": "core-widgets", "widget": "carrier_delays", "width": 1}]}).status_code == 200
    assert "core-widgets/carrier_delays" in picker.get("/admin/dashboard/mine").text
    assert save(picker, {"scope": "me", "reset": True}).json() == {"reset": True}
    assert "the layout of your role" in picker.get("/admin/dashboard/mine").text


def test_refusals(owner: TestClient, picker: TestClient) -> None:
    assert save(picker, {"scope": "role", "role": "picker", "cells": []}).status_code == 403
    not_offered = save(picker, {"scope": "me", "cells": [{"plugin": "core-widgets", "widget": "sales_today"}]})
    assert not_offered.status_code == 422
    assert save(owner, {"scope": "me", "cells": [{"plugin": "core-widgets", "widget": "sales_today",
                                                  "width": 9}]}).status_code == 422
    assert save(owner, {"scope": "me", "cells": []}, csrf=False).status_code == 403
    assert picker.get("/admin/dashboard/w/core-widgets/plugin_health").status_code == 404


def test_layout_table_matches_its_migration(sqlite_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    from comptoir.kernel.db import make_engine
    from comptoir.kernel.web.admin.dashboard_compose_store import DashboardLayout

    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        assert [d for d in diff if DashboardLayout.__tablename__ in str(d)] == []
    finally:
        engine.dispose()
