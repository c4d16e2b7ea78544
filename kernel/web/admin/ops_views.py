"""Admin pages: orders (capture, mark paid, cancel, refund, fulfil), customers, stock."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Location, Variant
from comptoir.kernel.domain.orders import ORDER_STATUSES
from comptoir.kernel.errors import ComptoirError, NotFound, ValidationFailed
from comptoir.kernel.services import mentions, stock
from comptoir.kernel.services.orders import OrderService
from comptoir.kernel.web.admin.common import back, kernel_of, page, page_links, paging, staff
from comptoir.kernel.web.api.admin_catalog import stock_page
from comptoir.kernel.web.api.admin_ops import (
    ORDER_ACTIONS, customer_full, customer_page, order_action, order_full, order_page, segment_counts,
)
from comptoir.kernel.web.pages import flash, parse_money
from comptoir.kernel.web.queries import location_dict

ACTION_RIGHTS = {"capture": "orders:write", "mark-paid": "orders:write", "cancel": "orders:write",
                 "fulfil": "orders:fulfil", "refund": "orders:write"}


async def orders(request: Request) -> Response:
    me = await staff(request, "orders:read")
    limit, offset = paging(request)
    status = request.query_params.get("status", "")
    status = status if status in ORDER_STATUSES else ""
    q = request.query_params.get("q", "")[:100]
    found = await run_in_threadpool(order_page, kernel_of(request), status, q, limit, offset)
    return page(request, me, "orders.html", orders=found.items, status_filter=status, q=q, statuses=ORDER_STATUSES,
                links=page_links(request, found.total, limit, offset))


async def order(request: Request) -> Response:
    me = await staff(request, "orders:read")
    o = await run_in_threadpool(order_full, kernel_of(request), int(request.path_params["order_id"]))
    return page(request, me, "order.html", o=o)


async def order_act(request: Request) -> Response:
    oid, action = int(request.path_params["order_id"]), request.path_params["action"]
    if action not in ACTION_RIGHTS:
        raise NotFound(f"no order action {action!r}", field="action")
    me = await staff(request, ACTION_RIGHTS[action])
    form = await request.form()
    try:
        if action == "refund":
            o = await run_in_threadpool(order_full, kernel_of(request), oid)
            amount = parse_money(str(form.get("amount", "")), o["currency"], field="amount")
            await run_in_threadpool(lambda: OrderService(kernel_of(request)).refund(
                oid, amount, actor=me.email, reason=str(form.get("note", ""))[:500]))
        else:
            assert action in ORDER_ACTIONS
            await run_in_threadpool(order_action, kernel_of(request), oid, action, me.email,
                                    str(form.get("note", ""))[:500])
        kernel_of(request).jobs.notify()
        flash(request, {"capture": "payment captured", "mark-paid": "marked paid", "cancel": "order cancelled",
                        "fulfil": "order fulfilled: label bought", "refund": "refund recorded"}[action])
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back(f"/admin/orders/{oid}")


async def customers(request: Request) -> Response:
    me = await staff(request, "customers:read")
    limit, offset = paging(request)
    q, segment = request.query_params.get("q", "")[:100], request.query_params.get("segment", "")[:40]
    influence = request.query_params.get("influence", "")
    influence = influence if influence in mentions.INFLUENCE_LABELS else ""
    found = await run_in_threadpool(customer_page, kernel_of(request), q, segment, limit, offset, influence)
    segments = await run_in_threadpool(segment_counts, kernel_of(request))
    return page(request, me, "customers.html", customers=found.items, q=q, segment=segment, segments=segments,
                influence=influence, influences=mentions.INFLUENCE_LABELS,
                links=page_links(request, found.total, limit, offset))


def _talk(kernel: Any, customer_id: int) -> dict[str, Any]:
    """The customer page's "Talks about the shop" section."""
    recent, total = mentions.mention_page(kernel.factory, customer_id=customer_id, limit=20)
    networks = set(mentions.networks(kernel.factory)) | {"mastodon", "bluesky", "google"}
    try:
        networks |= {str(n) for n in kernel.host.call("social_networks")}
    except ComptoirError:
        pass
    return {"mentions": recent, "total": total, "handles": mentions.handles(kernel.factory, customer_id),
            "networks": sorted(networks)}


async def customer(request: Request) -> Response:
    me = await staff(request, "customers:read")
    cid = int(request.path_params["customer_id"])
    c = await run_in_threadpool(customer_full, kernel_of(request), cid)
    talk = await run_in_threadpool(_talk, kernel_of(request), cid)
    return page(request, me, "customer.html", c=c, talk=talk)


async def customer_handle(request: Request) -> Response:
    """Add (``/handles``) or remove (``/handles/delete``) a social handle of the customer."""
    me = await staff(request, "customers:social")
    cid = int(request.path_params["customer_id"])
    form = await request.form()
    network, handle = str(form.get("network", ""))[:60], str(form.get("handle", ""))[:300]
    factory = kernel_of(request).factory
    try:
        if request.url.path.endswith("/delete"):
            n = await run_in_threadpool(mentions.remove_handle, factory, cid, network, handle)
            flash(request, f"handle removed; {n} mention{'s' if n != 1 else ''} untied")
        else:
            added = await run_in_threadpool(lambda: mentions.add_handle(factory, cid, network, handle, me.email))
            flash(request, f"{added['network']} handle {added['handle']} recorded; "
                           f"{added['linked']} earlier mention{'s' if added['linked'] != 1 else ''} tied")
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back(f"/admin/customers/{cid}#talk")


def _locations(request: Request) -> list[Any]:
    with read_only(kernel_of(request).factory) as s:
        return [location_dict(x) for x in s.scalars(select(Location).order_by(Location.priority, Location.id))]


async def stock_levels(request: Request) -> Response:
    me = await staff(request, "stock:read")
    limit, offset = paging(request)
    q = request.query_params.get("q", "")[:100]
    loc = request.query_params.get("location_id", "")
    location_id = int(loc) if loc.isdigit() else None
    found = await run_in_threadpool(stock_page, kernel_of(request), location_id, q, limit, offset)
    locations = await run_in_threadpool(_locations, request)
    return page(request, me, "stock.html", levels=found.items, q=q, location_id=location_id, locations=locations,
                links=page_links(request, found.total, limit, offset))


async def stock_move(request: Request) -> Response:
    """Receive, remove or transfer units of a SKU."""
    me = await staff(request, "stock:write")
    form = await request.form()

    def run() -> str:
        sku = str(form.get("sku", "")).strip()
        try:
            qty = int(str(form.get("quantity", "")))
            src = int(str(form.get("location_id", "")))
            dst = int(str(form.get("to_location_id", "0") or 0))
        except ValueError:
            raise ValidationFailed("quantity and locations must be numbers", field="quantity") from None
        kind = str(form.get("kind", "receive"))
        with transaction(kernel_of(request).factory) as s:
            vid = s.scalar(select(Variant.id).where(Variant.sku == sku))
            if vid is None:
                raise NotFound(f"no SKU {sku!r}", field="sku")
            note = f"by {me.email}"
            if kind == "receive":
                stock.receive(s, vid, src, qty, note=note)
            elif kind == "remove":
                stock.remove(s, vid, src, qty, note=note)
            elif kind == "transfer":
                stock.transfer(s, vid, src, dst, qty, note=note)
            else:
                raise ValidationFailed("choose receive, remove or transfer", field="kind")
        return f"{kind}: {qty} × {sku}"

    try:
        flash(request, await run_in_threadpool(run))
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back("/admin/stock")


routes = [
    Route("/admin/orders", orders),
    Route("/admin/orders/{order_id:int}", order),
    Route("/admin/orders/{order_id:int}/{action}", order_act, methods=["POST"]),
    Route("/admin/customers", customers),
    Route("/admin/customers/{customer_id:int}", customer),
    Route("/admin/customers/{customer_id:int}/handles", customer_handle, methods=["POST"]),
    Route("/admin/customers/{customer_id:int}/handles/delete", customer_handle, methods=["POST"]),
    Route("/admin/stock", stock_levels),
    Route("/admin/stock/move", stock_move, methods=["POST"]),
]
