"""Admin API, operations side: orders, customers, segments, plugins, journal."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import (
    Customer, CustomerAddress, JournalEntry, Order, OrderStatusChange, PaymentTransaction, Shipment,
)
from comptoir.kernel.domain.orders import ORDER_STATUSES
from comptoir.kernel.errors import NotFound, ValidationFailed
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import loyalty, mentions
from comptoir.kernel.services.orders import OrderService
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.customers import customer_dict
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset
from comptoir.kernel.web.api.storefront import order_dict

api = Api()
P = "/api/admin/v1"
ORDER_ACTIONS = ("capture", "mark-paid", "cancel", "fulfil")


# ---- orders ----------------------------------------------------------------------------
def order_page(kernel: Kernel, status: str, q: str, lim: int, off: int) -> Page:
    where: list[Any] = []
    if status:
        where.append(Order.status == status)
    if q:
        where.append(or_(Order.email.contains(q.lower()), Order.reference.contains(q.upper())))  # type: ignore[attr-defined]
    with read_only(kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Order).where(*where)) or 0
        rows = s.scalars(select(Order).where(*where).order_by(Order.id.desc()).limit(lim).offset(off))  # type: ignore[union-attr]
        return Page([order_dict(s, o, lines=False) for o in rows], total, lim, off)


def order_full(kernel: Kernel, order_id: int) -> dict[str, Any]:
    with read_only(kernel.factory) as s:
        o = s.get(Order, order_id)
        if o is None:
            raise NotFound(f"no order {order_id}", field="order_id")
        out = order_dict(s, o)
        out["shipping_address"] = o.shipping_address
        out["shipping"] = o.shipping_quote
        out["history"] = [{"from": h.from_status, "to": h.to_status, "actor": h.actor, "note": h.note,
                           "at": h.created_at.isoformat()}
                          for h in s.scalars(select(OrderStatusChange).where(OrderStatusChange.order_id == o.id)
                                             .order_by(OrderStatusChange.id))]
        out["payments"] = [{"kind": t.kind, "status": t.status, "amount": t.amount, "plugin": t.plugin}
                           for t in s.scalars(select(PaymentTransaction)
                                              .where(PaymentTransaction.order_id == o.id)
                                              .order_by(PaymentTransaction.id))]
        out["shipments"] = [{"carrier": x.carrier, "service": x.service, "tracking_number": x.tracking_number,
                             "tracking_url": x.tracking_url}
                            for x in s.scalars(select(Shipment).where(Shipment.order_id == o.id))]
        return out


def order_action(kernel: Kernel, order_id: int, action: str, actor: str, note: str = "") -> None:
    """capture | mark-paid | cancel | fulfil, through the order service."""
    svc = OrderService(kernel)
    if action == "capture":
        svc.capture(order_id, actor=actor)
    elif action == "mark-paid":
        svc.mark_paid(order_id, actor=actor, note=note)
    elif action == "cancel":
        svc.cancel(order_id, actor=actor, reason=note)
    elif action == "fulfil":
        svc.fulfil(order_id, actor=actor)
    else:
        raise ValidationFailed(f"unknown action {action!r}", field="action")


@api.op("GET", f"{P}/orders", summary="Orders", tag="admin: orders", right="orders:read", paginated=True,
        response=S.page_of(S.OrderOut), query=(
            Param("status", {"type": "string", "enum": list(ORDER_STATUSES)}),
            Param("q", {"type": "string", "maxLength": 100}, "e-mail or reference"), *limit_offset(50)))
def admin_orders(call: Call) -> Page:
    return order_page(call.kernel, call.query["status"] or "", call.query["q"] or "", call.query["limit"],
                      call.query["offset"])


@api.op("GET", f"{P}/orders/{{order_id}}", summary="Order with history, payments, shipments", tag="admin: orders",
        right="orders:read", response=S.OrderOut)
def admin_order(call: Call) -> dict[str, Any]:
    return order_full(call.kernel, call.path["order_id"])


def _action_op(action: str, right: str, summary: str) -> None:
    def run(call: Call) -> dict[str, Any]:
        order_action(call.kernel, call.path["order_id"], action, call.actor, call.body.note)
        return order_full(call.kernel, call.path["order_id"])

    run.__name__ = f"admin_order_{action.replace('-', '_')}"
    api.op("POST", f"{P}/orders/{{order_id}}/{action}", summary=summary, tag="admin: orders", right=right,
           body=S.NoteIn, response=S.OrderOut)(run)


_action_op("capture", "orders:write", "Capture the authorized payment")
_action_op("mark-paid", "orders:write", "Mark paid (transfer or cash received)")
_action_op("cancel", "orders:write", "Cancel: void or refund, restock")
_action_op("fulfil", "orders:fulfil", "Fulfil: buy the label and ship")


@api.op("POST", f"{P}/orders/{{order_id}}/refund", summary="Refund part or all of an order", tag="admin: orders",
        right="orders:write", body=S.RefundIn, response=S.OrderOut)
def admin_order_refund(call: Call) -> dict[str, Any]:
    b: S.RefundIn = call.body
    OrderService(call.kernel).refund(call.path["order_id"], b.amount, actor=call.actor, reason=b.reason,
                                     idempotency_key=b.idempotency_key or None)
    return order_full(call.kernel, call.path["order_id"])


# ---- customers and segments -------------------------------------------------------------
def customer_page(kernel: Kernel, q: str, segment: str, lim: int, off: int, influence: str = "") -> Page:
    where: list[Any] = []
    if q:
        where.append(or_(Customer.email.contains(q.lower()), func.lower(Customer.name).contains(q.lower())))  # type: ignore[attr-defined]
    if segment:
        where.append(Customer.segment == segment)
    if influence:  # influencer / ambassador, from the collected mentions
        where.append(mentions.with_label(influence))
    with read_only(kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Customer).where(*where)) or 0
        rows = s.scalars(select(Customer).where(*where).order_by(Customer.id.desc()).limit(lim).offset(off))  # type: ignore[union-attr]
        items = [customer_dict(c) for c in rows]
    voices = mentions.voices(kernel.factory, [c["id"] for c in items])
    return Page([{**c, "influence": voices[c["id"]].label if c["id"] in voices else ""} for c in items],
                total, lim, off)


def customer_full(kernel: Kernel, customer_id: int) -> dict[str, Any]:
    with read_only(kernel.factory) as s:
        c = s.get(Customer, customer_id)
        if c is None:
            raise NotFound(f"no customer {customer_id}", field="customer_id")
        orders = s.scalars(select(Order).where(Order.customer_id == c.id).order_by(Order.id.desc()).limit(20))  # type: ignore[union-attr]
        return {**customer_dict(c), "phone": c.phone, "created_at": c.created_at.isoformat(),
                "loyalty_points": loyalty.balance(s, c.id or 0),
                "voice": mentions.voice(kernel.factory, c.id or 0).as_dict(),
                "addresses": [{"name": a.name, "line1": a.line1, "postal_code": a.postal_code, "city": a.city,
                               "country": a.country}
                              for a in s.scalars(select(CustomerAddress).where(CustomerAddress.customer_id == c.id))],
                "orders": [order_dict(s, o, lines=False) for o in orders]}


def segment_counts(kernel: Kernel) -> list[dict[str, Any]]:
    with read_only(kernel.factory) as s:
        return [{"segment": seg or "unsegmented", "customers": n} for seg, n in
                s.execute(select(Customer.segment, func.count()).group_by(Customer.segment).order_by(Customer.segment))]


@api.op("GET", f"{P}/customers", summary="Customers", tag="admin: customers", right="customers:read",
        paginated=True, response=S.page_of(S.CustomerOut), query=(
            Param("q", {"type": "string", "maxLength": 100}, "e-mail or name"),
            Param("segment", {"type": "string", "maxLength": 40}),
            Param("influence", {"type": "string", "enum": list(mentions.INFLUENCE_LABELS)},
                  "customers the networks show as influencers or ambassadors"), *limit_offset(50)))
def admin_customers(call: Call) -> Page:
    return customer_page(call.kernel, call.query["q"] or "", call.query["segment"] or "", call.query["limit"],
                         call.query["offset"], call.query["influence"] or "")


@api.op("GET", f"{P}/customers/{{customer_id}}", summary="Customer with loyalty and orders",
        tag="admin: customers", right="customers:read", response=S.CustomerOut)
def admin_customer(call: Call) -> dict[str, Any]:
    return customer_full(call.kernel, call.path["customer_id"])


@api.op("GET", f"{P}/segments", summary="Customer segments (RFM) and their sizes", tag="admin: customers",
        right="customers:read", paginated=True, response=S.page_of({"type": "object"}), query=limit_offset(50))
def admin_segments(call: Call) -> Page:
    rows = segment_counts(call.kernel)
    lim, off = call.query["limit"], call.query["offset"]
    return Page(rows[off:off + lim], len(rows), lim, off)


@api.op("POST", f"{P}/segments/refresh", summary="Recompute RFM segments now", tag="admin: customers",
        right="customers:write", response={"type": "object", "properties": {
            "customers": {"type": "integer"}, "counts": {"type": "object"}}})
def admin_refresh_segments(call: Call) -> dict[str, Any]:
    """Scores every customer on recency, frequency and money spent, and stores the segment."""
    from comptoir.kernel.services.segmentation import segment_customers

    report = segment_customers(call.kernel.factory)
    return {"customers": report.customers, "orders": report.orders, "counts": report.counts,
            "seconds": report.seconds}


# ---- journal ---------------------------------------------------------------------------
def journal_page(kernel: Kernel, plugin: str, outcome: str, lim: int, off: int) -> Page:
    kernel.host.journal.flush()
    where: list[Any] = []
    if plugin:
        where.append(JournalEntry.plugin == plugin)
    if outcome:
        where.append(JournalEntry.outcome == outcome)
    with read_only(kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(JournalEntry).where(*where)) or 0
        rows = s.scalars(select(JournalEntry).where(*where).order_by(JournalEntry.id.desc())  # type: ignore[union-attr]
                         .limit(lim).offset(off))
        return Page([{"id": e.id, "plugin": e.plugin, "hook": e.hook, "at": e.at.isoformat(),
                      "duration_us": e.duration_us, "outcome": e.outcome, "error": e.error, "detail": e.detail}
                     for e in rows], total, lim, off)


@api.op("GET", f"{P}/journal", summary="The exchange journal", tag="admin: plugins", right="journal:read",
        paginated=True, response=S.page_of({"type": "object"}), query=(
            Param("plugin", {"type": "string", "maxLength": 64}),
            Param("outcome", {"type": "string", "enum": ["ok", "error", "timeout", "skipped"]}),
            *limit_offset(50)))
def admin_journal(call: Call) -> Page:
    """Every hook call and brokered HTTP call, newest first (redacted: no secrets)."""
    return journal_page(call.kernel, call.query["plugin"] or "", call.query["outcome"] or "", call.query["limit"],
                        call.query["offset"])
