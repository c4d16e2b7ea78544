"""The standard dashboard widgets. Data comes only through ``ctx.data`` (scope-checked);
shapes follow the widget templates: ``number`` → value/display/label, ``table`` →
columns/rows, ``chart`` → points ``[label, value]``, ``list`` → items.

Money is summed in minor units per currency and formatted only for display.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from comptoir.sdk import Money, WidgetSpec, hookimpl

STAFF = ("owner", "manager")
SPECS = (
    WidgetSpec(id="sales_today", title="Sales today", roles=STAFF, template="number", refresh_s=30),
    WidgetSpec(id="sales_by_channel", title="Sales by channel", roles=STAFF, template="table", refresh_s=60),
    WidgetSpec(id="top_products", title="Best sellers", roles=(*STAFF, "marketing"), template="table", refresh_s=300),
    WidgetSpec(id="stock_alerts", title="Stock alerts", roles=(*STAFF, "picker"), template="table", refresh_s=60),
    WidgetSpec(id="rfm_segments", title="Customer segments", roles=(*STAFF, "marketing"), template="chart",
               refresh_s=600),
    WidgetSpec(id="carrier_delays", title="Parcels by carrier", roles=(*STAFF, "support", "picker"), template="table",
               refresh_s=300),
    WidgetSpec(id="plugin_health", title="Plugin health, 24 h", roles=("owner",), template="table", refresh_s=60),
    WidgetSpec(id="recent_mentions", title="Reviews and mentions", roles=(*STAFF, "marketing"), template="table",
               refresh_s=300),
)
# The kernel's RFM segments, best first (kernel/services/segmentation.py).
SEGMENT_ORDER = ("champions", "loyal", "potential", "new", "at_risk", "cant_lose", "hibernating", "lost")


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _money(total: dict[str, int]) -> str:
    return " + ".join(Money(v, c).format() for c, v in sorted(total.items())) or "0.00"


@hookimpl
def dashboard_widgets(ctx: Any, role: str) -> list[WidgetSpec]:
    return [s for s in SPECS if role in s.roles]


def sales_today(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    start = ctx.now().replace(hour=0, minute=0, second=0, microsecond=0)
    totals: dict[str, int] = defaultdict(int)
    n = 0
    for o in ctx.data.orders(since=start, limit=100_000):
        if o["status"] != "cancelled":
            totals[o["currency"]] += int(o["total"])
            n += 1
    main = max(totals.items(), key=lambda kv: kv[1], default=("EUR", 0))
    return {"value": main[1], "currency": main[0], "display": _money(dict(totals)),
            "label": f"{n} order{'s' if n != 1 else ''}"}


def sales_by_channel(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    now = ctx.now()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = today.replace(day=1)
    rows: dict[str, dict[str, Any]] = {}
    for o in ctx.data.orders(since=month, limit=100_000):
        if o["status"] == "cancelled":
            continue
        row = rows.setdefault(o["channel"], {"today_n": 0, "today": defaultdict(int), "month_n": 0,
                                             "month": defaultdict(int)})
        row["month_n"] += 1
        row["month"][o["currency"]] += int(o["total"])
        if _utc(o["placed_at"]) >= today:
            row["today_n"] += 1
            row["today"][o["currency"]] += int(o["total"])
    ordered = sorted(rows.items(), key=lambda kv: -sum(kv[1]["month"].values()))
    return {"columns": ["Channel", "Orders today", "Today", "Orders this month", "This month"],
            "rows": [[ch, r["today_n"], _money(dict(r["today"])), r["month_n"], _money(dict(r["month"]))]
                     for ch, r in ordered]}


def top_products(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    days = int(config.get("days") or ctx.setting("top_products_days", 30) or 30)
    limit = int(config.get("limit") or 10)
    units: dict[int, int] = defaultdict(int)
    revenue: dict[int, int] = defaultdict(int)
    for line in ctx.data.order_lines(since=ctx.days_ago(days)):
        units[line["product_id"]] += int(line["quantity"])
        revenue[line["product_id"]] += int(line["total"] or 0)
    titles = {p["id"]: p["title"] for p in ctx.data.products(active_only=False, limit=100_000)}
    best = sorted(units, key=lambda pid: (-units[pid], -revenue[pid], pid))[:limit]
    currency = str(config.get("currency") or "EUR")
    return {"columns": ["Product", "Units", "Revenue"],
            "rows": [[titles.get(pid, f"#{pid}"), units[pid], Money(revenue[pid], currency).format()] for pid in best]}


def stock_alerts(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    low = ctx.data.stock_levels(low_only=True, limit=int(config.get("limit") or 20))
    return {"columns": ["SKU", "Product", "Available", "Alert at"],
            "rows": [[r["sku"], r["title"], int(r["available"]), int(r["threshold"])] for r in low]}


def rfm_segments(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    counts = ctx.data.segment_counts()
    rank = {name: i for i, name in enumerate(SEGMENT_ORDER)}
    named = sorted(((seg or "not segmented", n) for seg, n in counts.items()),
                   key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    return {"points": [[seg, n] for seg, n in named]}


def carrier_delays(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    late_after = int(config.get("late_after_days") or ctx.setting("late_after_days", 5) or 5)
    now = ctx.now()
    per: dict[str, dict[str, int]] = defaultdict(lambda: {"on_the_way": 0, "late": 0, "delivered": 0, "problems": 0})
    for sh in ctx.data.shipments(since=ctx.days_ago(60)):
        row = per[sh["carrier"] or sh["plugin"]]
        if sh["status"] == "delivered":
            row["delivered"] += 1
        elif sh["status"] in ("exception", "returned"):
            row["problems"] += 1
        elif now - _utc(sh["created_at"]) > timedelta(days=late_after):
            row["late"] += 1
        else:
            row["on_the_way"] += 1
    return {"columns": ["Carrier", "On the way", f"Late (> {late_after} days)", "Problems", "Delivered"],
            "rows": [[c, r["on_the_way"], r["late"], r["problems"], r["delivered"]]
                     for c, r in sorted(per.items(), key=lambda kv: (-kv[1]["late"], kv[0]))]}


def plugin_health(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for r in ctx.data.journal_summary(since=ctx.days_ago(1)):
        calls, failed = int(r["calls"]), int(r["error"] or 0) + int(r["timeout"] or 0)
        state = "ok" if not failed else ("failing" if failed * 2 >= calls else "degraded")
        rows.append([r["plugin"], calls, int(r["error"] or 0), int(r["timeout"] or 0), int(r["denied"] or 0),
                     f"{100 * failed / calls:.1f} %" if calls else "0.0 %", state])
    rows.sort(key=lambda row: ({"failing": 0, "degraded": 1, "ok": 2}[row[-1]], row[0]))
    return {"columns": ["Plugin", "Calls", "Errors", "Timeouts", "Denied", "Failure rate", "State"], "rows": rows}


def recent_mentions(ctx: Any, config: dict[str, Any]) -> dict[str, Any]:
    """What people said lately on the networks and review sites (collected by the kernel)."""
    days = int(config.get("days") or ctx.setting("mentions_days", 30) or 30)
    limit = int(config.get("limit") or 10)
    rows = []
    for m in ctx.data.mentions(since=ctx.days_ago(days), limit=limit):
        stars = "★" * m["rating"] + "☆" * (5 - m["rating"]) if m["rating"] else ""
        text = " ".join(str(m["text"]).split())
        rows.append([_utc(m["at"]).strftime("%d %b %H:%M"), m["network"], m["author_name"] or m["author_handle"],
                     m["kind"], stars, text if len(text) <= 80 else text[:79] + "…"])
    return {"columns": ["When", "Network", "Who", "Kind", "Rating", "What"], "rows": rows}


DATA: dict[str, Callable[[Any, dict[str, Any]], dict[str, Any]]] = {
    "sales_today": sales_today, "sales_by_channel": sales_by_channel, "top_products": top_products,
    "stock_alerts": stock_alerts, "rfm_segments": rfm_segments, "carrier_delays": carrier_delays,
    "plugin_health": plugin_health, "recent_mentions": recent_mentions,
}


@hookimpl
def widget_data(ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
    fn = DATA.get(widget_id)
    if fn is None:
        raise KeyError(f"core-widgets has no widget {widget_id!r}; it has {', '.join(DATA)}")
    return fn(ctx, dict(config or {}))
