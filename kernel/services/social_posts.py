"""Posts the merchant publishes on social networks: now, or on a schedule.

``schedule`` checks a post and stores one ``social_post`` row per chosen network;
``publish_due`` (the maintenance job, and "publish now" in the admin right after
scheduling) publishes the rows whose time has come through the owning plugin's
``social_publish`` hook. The kernel keeps the schedule itself, so every network gets
the same behaviour (Bluesky cannot hold a post; Mastodon could, but then we could not
cancel it or show its address).

Rows are claimed with one conditional UPDATE (status and due time still as read), so
two processes running the schedule never publish the same row twice. A claimed row is
``publishing`` until ``LEASE_S`` has passed: a publisher that died is replaced then (a
retry within the hour is deduplicated by Mastodon's Idempotency-Key). A refusal is
retried after ``BACKOFF_S``; the third one leaves the row ``failed`` with the network's
message, which the merchant reads in the admin.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import urlsplit

from sqlalchemy import and_, func, select, update

from comptoir.kernel.db import read_conn, read_only, transaction, write_conn
from comptoir.kernel.domain import Product, ProductImage, Variant
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.social_posts import POST_STATUSES, SocialPostRecord
from comptoir.kernel.errors import ComptoirError, Conflict, NotFound, ScopeDenied, ValidationFailed
from comptoir.kernel.money import Money
from comptoir.kernel.types import PublishedPost, SocialPost

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.social_posts")
T = SocialPostRecord.__table__  # type: ignore[attr-defined]
MAX_TEXT = 500  # the strictest first-party network (Mastodon's default limit)
MAX_AHEAD = timedelta(days=366)
MAX_ATTEMPTS = 3
BACKOFF_S = (60, 300)  # before the 2nd and 3rd attempts
LEASE_S = 300  # longer than any plugin's publish budget


# ---- what can be published where -----------------------------------------------------
def networks(kernel: "Kernel") -> dict[str, str]:
    """{network: plugin} from every enabled plugin's ``social_networks`` (first one wins)."""
    found: dict[str, str] = {}
    for plugin, answer in kernel.host.call_each("social_networks"):
        for name in answer if isinstance(answer, (list, tuple)) else ():
            found.setdefault(str(name).strip().lower(), plugin)
    return dict(sorted(found.items()))


_known = networks  # schedule() takes a ``networks`` argument


def product_defaults(kernel: "Kernel", product_id: int) -> dict[str, str]:
    """Text (title and lowest price on sale), storefront link and first image of a product."""
    base = kernel.settings.base_url.rstrip("/")
    with read_only(kernel.factory) as s:
        p = s.get(Product, product_id)
        if p is None:
            raise NotFound(f"no product {product_id}", field="product_id")
        prices = [Money(v.price_amount, v.currency) for v in s.scalars(select(Variant).where(
            Variant.product_id == product_id)) if (v.attributes or {}).get("active", True) is not False]
        image = s.scalars(select(ProductImage).where(ProductImage.product_id == product_id)
                          .order_by(ProductImage.position, ProductImage.id)).first()  # type: ignore[arg-type]
        title, slug, path = p.title, p.slug, image.path if image is not None else ""
    cheapest = min(prices, key=lambda m: m.amount) if prices else None
    text = f"{title} – {cheapest.format()}" if cheapest is not None else title
    if path and not path.startswith(("https://", "http://")):
        path = f"{base}/media/{path.lstrip('/')}"
    return {"text": text[:MAX_TEXT], "link": f"{base}/shop/p/{slug}", "image_url": path}


# ---- scheduling ----------------------------------------------------------------------
def _url(value: str, name: str) -> str:
    value = str(value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 1000 or any(c.isspace() for c in value):
        raise ValidationFailed(f"{name} must be an http(s) address of at most 1000 characters", field=name)
    return value


def _when(when: datetime | None, now: datetime) -> datetime | None:
    if when is None:
        return None
    if when.tzinfo is None:
        raise ValidationFailed("scheduled_for needs a time zone offset, such as 2026-12-01T09:00:00+01:00",
                               field="scheduled_for")
    if when > now + MAX_AHEAD:
        raise ValidationFailed("scheduled_for must be within a year from now", field="scheduled_for")
    return when.astimezone(timezone.utc)


def schedule(kernel: "Kernel", networks: Iterable[str], text: str = "", link: str = "", image_url: str = "",
             product_id: int | None = None, when: datetime | None = None, actor: str = "") -> list[dict[str, Any]]:
    """Store one scheduled row per network (``when`` None: as soon as possible).

    With ``product_id``, an empty text, link or image is filled from the product."""
    now = utcnow()
    known = _known(kernel)
    chosen = sorted({str(n).strip().lower() for n in networks if str(n).strip()})
    if not chosen:
        raise ValidationFailed("choose at least one network" + (f" ({', '.join(known)})" if known else
                               "; no social plugin is enabled"), field="networks")
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ValidationFailed(f"no enabled plugin publishes on {', '.join(unknown)}; available: "
                               f"{', '.join(known) or 'none'}", field="networks")
    if product_id is not None:
        defaults = product_defaults(kernel, product_id)
        text, link, image_url = (text or "").strip() or defaults["text"], link or defaults["link"], \
            image_url or defaults["image_url"]
    text = str(text or "").strip()
    if not text:
        raise ValidationFailed("text is required", field="text")
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"text must be at most {MAX_TEXT} characters (it has {len(text)})", field="text")
    link, image_url = _url(link, "link"), _url(image_url, "image_url")
    if image_url:
        _image_reachable(kernel, [known[n] for n in chosen], image_url)
    at = _when(when, now)
    rows = [SocialPostRecord(network=n, plugin=known[n], product_id=product_id, text=text, link=link,
                             image_url=image_url, scheduled_for=at, status="scheduled",
                             next_attempt_at=at or now, created_by=actor[:320], created_at=now) for n in chosen]
    with transaction(kernel.factory) as s:
        s.add_all(rows)
        s.flush()
        return [post_dict(r) for r in rows]


def _image_reachable(kernel: "Kernel", plugins: list[str], image_url: str) -> None:
    """The network plugins fetch the image themselves, through the broker: refuse now, naming
    the right to grant, rather than fail at publishing time (a product image under the shop's
    own /media is on a host the plugin may not have been granted)."""
    creds = kernel.services.get("credentials")
    if creds is None:
        return
    import httpx

    url = httpx.URL(image_url)  # as the broker reads it: default ports drop out
    right = f"host:{url.host}" + (f":{url.port}" if url.port else "")
    for plugin in plugins:
        try:
            creds.broker.check_host(plugin, url.host, url.port)
        except ScopeDenied:
            raise ValidationFailed(f"{plugin} may not fetch images from {right[5:]}: grant it {right} in "
                                   "Plugins, or give an image address it may reach", field="image_url") from None


def cancel(kernel: "Kernel", post_id: int) -> dict[str, Any]:
    """Cancel a post not published yet; once a publisher has taken it, it is too late."""
    with transaction(kernel.factory) as s:
        done = s.execute(update(T).where(T.c.id == post_id, T.c.status == "scheduled")
                         .values(status="cancelled", next_attempt_at=utcnow())).rowcount  # type: ignore[attr-defined]
        row = s.get(SocialPostRecord, post_id)
        if row is None:
            raise NotFound(f"no social post {post_id}", field="post_id")
        if not done:
            raise Conflict(f"post {post_id} is {row.status}; only a scheduled post can be cancelled", field="status")
        return post_dict(row)


# ---- publishing ----------------------------------------------------------------------
@dataclass
class PublishReport:
    published: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {"published": len(self.published), "retrying": len(self.retrying), "failed": len(self.failed)}


def _due(now: datetime) -> Any:
    return and_(T.c.status.in_(("scheduled", "publishing")), T.c.next_attempt_at <= now)


def has_due(kernel: "Kernel", now: datetime | None = None) -> bool:
    """A cheap read for the maintenance round: is any post due?"""
    with read_conn(kernel.engine) as c:
        return c.execute(select(T.c.id).where(_due(now or utcnow())).limit(1)).first() is not None


def claim(kernel: "Kernel", now: datetime, ids: Iterable[int] | None = None, limit: int = 20) -> list[int]:
    """Mark due rows ``publishing`` for this caller only. The UPDATE re-checks status and
    due time, so a row another process claimed in between is not returned here."""
    q = select(T.c.id).where(_due(now)).order_by(T.c.next_attempt_at, T.c.id).limit(limit)
    if ids is not None:
        q = q.where(T.c.id.in_(list(ids)))
    with read_conn(kernel.engine) as c:
        found = list(c.scalars(q))
    if not found:
        return []
    with write_conn(kernel.engine) as c:
        return sorted(c.scalars(update(T).where(T.c.id.in_(found), _due(now))
                                .values(status="publishing", next_attempt_at=now + timedelta(seconds=LEASE_S))
                                .returning(T.c.id)).all())


def publish_due(kernel: "Kernel", now: datetime | None = None, *, ids: Iterable[int] | None = None) -> PublishReport:
    """Publish the posts due at ``now`` (only ``ids`` when given). Returns what happened."""
    now = now or utcnow()
    report = PublishReport()
    for post_id in claim(kernel, now, ids):
        outcome = _publish_one(kernel, post_id)
        getattr(report, outcome).append(post_id)
    return report


def _publish_one(kernel: "Kernel", post_id: int) -> str:
    with read_only(kernel.factory) as s:
        row = s.get(SocialPostRecord, post_id)
        assert row is not None
        plugin, network, attempts = row.plugin, row.network, row.attempts + 1
        post = SocialPost(text=row.text, link=row.link, image_url=row.image_url, product_id=row.product_id)
    try:
        answer = kernel.host.call_one(plugin, "social_publish", network=network, post=post)
        if not isinstance(answer, PublishedPost):
            raise ValidationFailed(f"{plugin} answered {type(answer).__name__}, not a PublishedPost")
    except Exception as exc:  # the network refused, or the plugin broke: retry, then keep the reason
        message = _readable(kernel, plugin, exc)
        status = "failed" if attempts >= MAX_ATTEMPTS else "scheduled"
        retry_at = utcnow() + timedelta(seconds=BACKOFF_S[min(attempts, len(BACKOFF_S)) - 1])
        with transaction(kernel.factory) as s:
            s.execute(update(T).where(T.c.id == post_id, T.c.status == "publishing").values(
                status=status, attempts=attempts, error=message, next_attempt_at=retry_at))
        log.warning("post %s on %s not published (attempt %d): %s", post_id, network, attempts, message)
        return "failed" if status == "failed" else "retrying"
    with transaction(kernel.factory) as s:
        s.execute(update(T).where(T.c.id == post_id, T.c.status == "publishing").values(
            status="published", attempts=attempts, error="", remote_id=str(answer.remote_id)[:300],
            url=_url_or_empty(str(answer.url or "")), published_at=utcnow()))
    return "published"


def _readable(kernel: "Kernel", plugin: str, exc: Exception) -> str:
    """The network's own words, without the host's "plugin 'x' failed in hook:" prefix."""
    message = exc.message if isinstance(exc, ComptoirError) else f"{type(exc).__name__}: {exc}"
    prefix = f"plugin {plugin!r} failed in social_publish: "
    message = message[len(prefix):] if message.startswith(prefix) else message
    return kernel.host.journal.redact(message)[:500]


def _url_or_empty(url: str) -> str:
    """Shown as a link in the admin: only web addresses."""
    return url if url.startswith(("https://", "http://")) and len(url) <= 1000 else ""


# ---- reading -------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)).isoformat()


def post_dict(r: Any) -> dict[str, Any]:
    return {"id": r.id, "network": r.network, "plugin": r.plugin, "product_id": r.product_id, "text": r.text,
            "link": r.link, "image_url": r.image_url, "scheduled_for": _iso(r.scheduled_for), "status": r.status,
            "remote_id": r.remote_id, "url": r.url, "error": r.error, "attempts": r.attempts,
            "created_by": r.created_by, "created_at": _iso(r.created_at), "published_at": _iso(r.published_at)}


def get(kernel: "Kernel", post_id: int) -> dict[str, Any]:
    with read_only(kernel.factory) as s:
        row = s.get(SocialPostRecord, post_id)
        if row is None:
            raise NotFound(f"no social post {post_id}", field="post_id")
        return post_dict(row)


def page(kernel: "Kernel", *, status: str = "", network: str = "", limit: int = 50,
         offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Posts, newest first; returns (one page, total)."""
    where: list[Any] = []
    if status:
        if status not in POST_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(POST_STATUSES)}", field="status")
        where.append(T.c.status == status)
    if network:
        where.append(T.c.network == network)
    with read_only(kernel.factory) as s:
        total = int(s.scalar(select(func.count()).select_from(T).where(*where)) or 0)
        rows = s.execute(select(T).where(*where).order_by(T.c.created_at.desc(), T.c.id.desc())
                         .limit(limit).offset(offset))
        return [post_dict(r) for r in rows], total
