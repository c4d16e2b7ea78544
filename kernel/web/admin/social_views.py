"""Admin page: publish a product or a story on the shop's social networks, now or later.

"Publish now" stores the posts and publishes them within the request, so the page shows
at once whether each network took it (and the network's words when it did not); a
later date leaves them to the maintenance job. Needs ``social:publish`` (owners,
managers, marketing).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Product
from comptoir.kernel.domain.social_posts import POST_STATUSES
from comptoir.kernel.errors import ComptoirError, ValidationFailed
from comptoir.kernel.services import social_posts
from comptoir.kernel.web.admin.common import back, kernel_of, page, page_links, paging, staff
from comptoir.kernel.web.pages import flash

RIGHT = "social:publish"
MAX_PRODUCTS = 500  # the picker; a shop with more can still post any product through the API


def _products(kernel: Any) -> list[dict[str, Any]]:
    with read_only(kernel.factory) as s:
        return [{"id": i, "title": t} for i, t in s.execute(
            select(Product.id, Product.title).where(Product.active.is_(True))  # type: ignore[attr-defined]
            .order_by(Product.title).limit(MAX_PRODUCTS))]


def _when(form: Any) -> datetime | None:
    """``datetime-local`` gives a wall-clock time; the page's script adds the browser's
    offset (minutes east of UTC). Without it the time is read as UTC."""
    if str(form.get("mode", "now")) == "now":
        return None
    raw = str(form.get("scheduled_for", "")).strip()
    try:
        naive = datetime.fromisoformat(raw)
        offset = int(str(form.get("tz_offset", "") or "0"))
    except ValueError:
        raise ValidationFailed("choose the date and time to publish at", field="scheduled_for") from None
    if naive.tzinfo is not None:
        return naive
    if not -14 * 60 <= offset <= 14 * 60:
        raise ValidationFailed("the time zone offset is out of range", field="tz_offset")
    return naive.replace(tzinfo=timezone(timedelta(minutes=offset)))


async def social(request: Request) -> Response:
    me = await staff(request, RIGHT)
    kernel = kernel_of(request)
    limit, offset = paging(request)
    status = request.query_params.get("status", "")
    status = status if status in POST_STATUSES else ""
    items, total = await run_in_threadpool(lambda: social_posts.page(kernel, status=status, limit=limit,
                                                                     offset=offset))
    networks = await run_in_threadpool(social_posts.networks, kernel)
    products = await run_in_threadpool(_products, kernel)
    pid = request.query_params.get("product_id", "")
    return page(request, me, "social.html", posts=items, networks=networks, products=products,
                product_id=int(pid) if pid.isdigit() else None, status_filter=status, statuses=POST_STATUSES,
                links=page_links(request, total, limit, offset))


async def social_post(request: Request) -> Response:
    me = await staff(request, RIGHT)
    kernel = kernel_of(request)
    form = await request.form()
    pid = str(form.get("product_id", "")).strip()
    try:
        when = _when(form)
        rows = await run_in_threadpool(lambda: social_posts.schedule(
            kernel, [str(n) for n in form.getlist("network")], text=str(form.get("text", ""))[:2000],
            link=str(form.get("link", ""))[:2000], image_url=str(form.get("image_url", ""))[:2000],
            product_id=int(pid) if pid.isdigit() else None, when=when, actor=me.email))
        if when is not None:
            flash(request, f"scheduled on {', '.join(r['network'] for r in rows)} for "
                           f"{rows[0]['scheduled_for'][:16].replace('T', ' ')} UTC")
            return back("/admin/social")
        ids = [r["id"] for r in rows]
        await run_in_threadpool(lambda: social_posts.publish_due(kernel, ids=ids))
        after = [await run_in_threadpool(social_posts.get, kernel, i) for i in ids]
        ok = [r["network"] for r in after if r["status"] == "published"]
        bad = [f"{r['network']}: {r['error']}" for r in after if r["status"] != "published"]
        if bad:
            flash(request, ("published on " + ", ".join(ok) + "; " if ok else "") + "not published on "
                  + "; ".join(bad) + " (retried automatically)", "error")
        else:
            flash(request, "published on " + ", ".join(ok))
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back("/admin/social")


async def social_cancel(request: Request) -> Response:
    await staff(request, RIGHT)
    try:
        row = await run_in_threadpool(social_posts.cancel, kernel_of(request), int(request.path_params["post_id"]))
        flash(request, f"post on {row['network']} cancelled")
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back("/admin/social")


routes = [
    Route("/admin/social", social),
    Route("/admin/social/posts", social_post, methods=["POST"]),
    Route("/admin/social/posts/{post_id:int}/cancel", social_cancel, methods=["POST"]),
]
