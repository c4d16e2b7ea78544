"""Who talks about the shop: mentions, replies and reviews collected into customer records.

``collect(kernel)`` asks every enabled plugin that implements ``social_collect_mentions``
for what is new since its cursor (the latest instant stored from it), one plugin at a
time, so a failing or slow network only costs its own turn: the plugin host journals
the failure and the others go on. Rows are inserted with ``ON CONFLICT DO NOTHING`` on
(network, remote_id), so two collectors at once (two processes) never duplicate one;
a row already there is updated when the network changed it (an edited review).

A mention is linked to a customer by its author's e-mail, else by a handle staff
recorded on the customer (``customer_social_handles``). Per customer, ``voice`` sums it
up and gives an influence label:

- ``influencer``: an author with at least ``INFLUENCER_FOLLOWERS`` followers;
- ``ambassador``: at least ``AMBASSADOR_POSITIVE`` positive mentions or reviews within
  ``AMBASSADOR_DAYS`` days. Positive means rated 4 or 5 stars, or an unrated mention or
  reply (someone talking about the shop in public); low ratings never count.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Customer
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.domain.social import (
    MENTION_KINDS, CustomerSocialHandle, SocialCursor, SocialMention, handle_key,
)
from comptoir.kernel.errors import ComptoirError, Conflict, NotFound, ValidationFailed

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.mentions")
HOOK = "social_collect_mentions"
AMBASSADOR_POSITIVE = 3
AMBASSADOR_DAYS = 90
INFLUENCER_FOLLOWERS = 5000
INFLUENCE_LABELS = ("influencer", "ambassador")
NETWORK_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_TEXT = 10_000

M = SocialMention.__table__  # type: ignore[attr-defined]
H = CustomerSocialHandle.__table__  # type: ignore[attr-defined]
C = SocialCursor.__table__  # type: ignore[attr-defined]


# ---- collection ----------------------------------------------------------------------
@dataclass
class PluginCollect:
    """What one plugin gave in one collection."""

    plugin: str
    fetched: int = 0  # mentions the plugin answered
    new: int = 0  # rows inserted
    updated: int = 0  # rows the network had changed (edited review …)
    linked: int = 0  # rows newly tied to a customer
    rejected: int = 0  # malformed mentions skipped
    error: str = ""  # why the plugin gave nothing (also in the journal)
    skipped: bool = False  # not due yet, or another process is collecting it


@dataclass
class CollectReport:
    plugins: list[PluginCollect] = field(default_factory=list)
    linked_later: int = 0  # older mentions tied to customers who signed up or got a handle since

    def total(self, name: str) -> int:
        return sum(int(getattr(p, name)) for p in self.plugins)

    @property
    def failed(self) -> list[PluginCollect]:
        return [p for p in self.plugins if p.error]

    def as_dict(self) -> dict[str, Any]:
        return {"new": self.total("new"), "updated": self.total("updated"),
                "linked": self.total("linked") + self.linked_later, "rejected": self.total("rejected"),
                "failed": [p.plugin for p in self.failed]}


def collectors(kernel: "Kernel") -> list[str]:
    """Enabled plugins that implement ``social_collect_mentions``."""
    return sorted(r.name for r in kernel.host.enabled() if kernel.host.implements(r.name, HOOK))


def collect(kernel: "Kernel", *, plugins: Iterable[str] | None = None, due_only: bool = False,
            every_s: float | None = None) -> CollectReport:
    """Collect from each plugin (all collectors by default) and link what can be linked.

    With ``due_only`` a plugin asked less than ``every_s`` seconds ago (default: the
    ``mentions_every_s`` setting), by this process or another, is skipped.
    """
    every = float(kernel.settings.mentions_every_s if every_s is None else every_s)
    names = collectors(kernel) if plugins is None else list(plugins)
    due = set(due_collectors(kernel, every, names)) if due_only else set(names)
    report = CollectReport()
    for plugin in names:
        since = _claim(kernel, plugin, every if due_only else None) if plugin in due else None
        if since is None:
            report.plugins.append(PluginCollect(plugin, skipped=True))
            continue
        report.plugins.append(_collect_one(kernel, plugin, since))
    if any(not p.skipped for p in report.plugins):
        report.linked_later = link_pending(kernel.factory)
    return report


def due_collectors(kernel: "Kernel", every_s: float | None = None, names: list[str] | None = None) -> list[str]:
    """Collectors not asked within ``every_s`` seconds (a read: a round with nothing due
    writes nothing). Being due is no promise: ``collect`` claims each plugin again."""
    every = float(kernel.settings.mentions_every_s if every_s is None else every_s)
    names = collectors(kernel) if names is None else names
    if not names:
        return []
    cut = utcnow() - timedelta(seconds=every)
    with read_only(kernel.factory) as s:
        recent = {p for p, at in s.execute(select(C.c.plugin, C.c.checked_at).where(C.c.plugin.in_(names)))
                  if at is not None and _utc(at) > cut}
    return [n for n in names if n not in recent]


def collect_due(kernel: "Kernel") -> CollectReport:
    """The scheduled collection (maintenance job): only plugins whose turn has come."""
    return collect(kernel, due_only=True)


def _claim(kernel: "Kernel", plugin: str, every_s: float | None) -> str | None:
    """Mark ``plugin`` as being asked now and return its ``since`` ("" the first time);
    None when it was asked less than ``every_s`` ago (the conditional update lets one
    process win when several run the schedule)."""
    now = utcnow()
    with transaction(kernel.factory) as s:
        s.execute(_insert(kernel, C).values(plugin=plugin, since=None, checked_at=None, last_error="")
                  .on_conflict_do_nothing(index_elements=["plugin"]))
        q = update(C).where(C.c.plugin == plugin)
        if every_s is not None:
            q = q.where(or_(C.c.checked_at.is_(None), C.c.checked_at <= now - timedelta(seconds=every_s)))
        if s.execute(q.values(checked_at=now)).rowcount != 1:  # type: ignore[attr-defined]
            return None
        since = s.scalar(select(C.c.since).where(C.c.plugin == plugin))
    return _utc(since).isoformat() if since is not None else ""


def _collect_one(kernel: "Kernel", plugin: str, since: str) -> PluginCollect:
    try:
        answer = kernel.host.call_one(plugin, HOOK, since=since)
        if answer is None:  # dropped by the host: over its time budget (journaled as a timeout)
            raise ValidationFailed(f"{plugin} did not answer within its time budget; see the journal")
        if not isinstance(answer, list):
            raise ValidationFailed(f"{plugin} answered {type(answer).__name__}, not a list of Mention")
        result = store(kernel, plugin, answer)
    except Exception as exc:  # one plugin failing must not stop the others
        message = exc.message if isinstance(exc, ComptoirError) else f"{type(exc).__name__}: {exc}"
        message = kernel.host.journal.redact(message)[:300]
        log.warning("mentions from %s not collected: %s", plugin, message)
        with transaction(kernel.factory) as s:
            s.execute(update(C).where(C.c.plugin == plugin).values(last_error=message))
        return PluginCollect(plugin, error=message)
    return result


@dataclass(frozen=True)
class _Row:
    network: str
    remote_id: str
    author_handle: str
    author_key: str
    author_name: str
    author_email: str
    author_followers: int | None
    text: str
    url: str
    at: datetime
    kind: str
    rating: int | None


def _clean(m: Any) -> _Row | None:
    """A stored row from what a plugin answered, or None when it is unusable."""
    try:
        network, remote_id = str(m.network).strip().lower(), str(m.remote_id).strip()
        kind, rating, followers = str(m.kind), m.rating, getattr(m, "author_followers", None)
        at = datetime.fromisoformat(str(m.at).strip().replace("Z", "+00:00"))
        handle = " ".join(str(m.author_handle or "").split())[:200]
        text, url = str(m.text or "")[:MAX_TEXT], str(m.url or "").strip()
        email = str(getattr(m, "author_email", "") or "").strip().lower()
        name = " ".join(str(getattr(m, "author_name", "") or "").split())[:200]
    except (AttributeError, TypeError, ValueError):
        return None
    if not NETWORK_RE.match(network) or not 0 < len(remote_id) <= 300 or kind not in MENTION_KINDS:
        return None
    if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5):
        return None
    if not isinstance(followers, int) or isinstance(followers, bool) or followers < 0:
        followers = None
    if not url.startswith(("https://", "http://")) or len(url) > 1000:
        url = ""  # shown as a link in the admin: only web addresses
    if "@" not in email or len(email) > 320:
        email = ""
    return _Row(network, remote_id, handle, handle_key(handle), name, email, followers, text, url,
                _utc(at), kind, rating)


def store(kernel: "Kernel", plugin: str, mentions: list[Any]) -> PluginCollect:
    """Insert or refresh ``mentions`` from ``plugin``, link them, move its cursor."""
    out = PluginCollect(plugin, fetched=len(mentions))
    rows: dict[tuple[str, str], _Row] = {}
    for m in mentions:
        row = _clean(m)
        if row is None:
            out.rejected += 1
        else:
            rows.setdefault((row.network, row.remote_id), row)
    if out.rejected:
        log.warning("%s gave %d malformed mentions; skipped", plugin, out.rejected)
    # one order for every collector: concurrent PostgreSQL inserts then wait, never deadlock
    ordered = [rows[k] for k in sorted(rows)]
    now = utcnow()
    with transaction(kernel.factory) as s:
        links = _links(s, ordered)
        conn = s.connection()
        for r in ordered:
            cid, why = links.get((r.network, r.remote_id), (None, ""))
            refreshed = {"author_handle": r.author_handle, "author_key": r.author_key, "author_name": r.author_name,
                         "author_email": r.author_email, "author_followers": r.author_followers, "text": r.text,
                         "url": r.url, "at": r.at, "kind": r.kind, "rating": r.rating}
            inserted = conn.execute(
                _insert(kernel, M).values(network=r.network, remote_id=r.remote_id, plugin=plugin, customer_id=cid,
                                          linked_by=why, collected_at=now, **refreshed)
                .on_conflict_do_nothing(index_elements=["network", "remote_id"]).returning(M.c.id)).first()
            if inserted is not None:
                out.new += 1
                out.linked += cid is not None
                continue
            same = and_(M.c.network == r.network, M.c.remote_id == r.remote_id)
            changed = or_(*[M.c[k].is_distinct_from(v) for k, v in refreshed.items()])
            out.updated += conn.execute(update(M).where(same, changed).values(**refreshed)).rowcount  # type: ignore[attr-defined]
            if cid is not None:
                out.linked += conn.execute(update(M).where(same, M.c.customer_id.is_(None))  # type: ignore[attr-defined]
                                           .values(customer_id=cid, linked_by=why)).rowcount
        latest = max((r.at for r in ordered), default=None)
        if latest is not None:  # the cursor only moves forward, whoever stores last
            conn.execute(update(C).where(C.c.plugin == plugin, or_(C.c.since.is_(None), C.c.since < latest))
                         .values(since=latest))
        conn.execute(update(C).where(C.c.plugin == plugin).values(last_error=""))
    return out


def _links(s: Session, rows: list[_Row]) -> dict[tuple[str, str], tuple[int, str]]:
    """Customer of each row: by the author's e-mail first, else by a recorded handle."""
    emails = {r.author_email for r in rows if r.author_email}
    by_email: dict[str, int] = {}
    if emails:
        by_email = {e: i for e, i in s.execute(select(Customer.email, Customer.id).where(
            Customer.email.in_(emails)))}  # type: ignore[attr-defined]
    keys = {(r.network, r.author_key) for r in rows if r.author_key}
    by_handle: dict[tuple[str, str], int] = {}
    if keys:
        found = s.execute(select(H.c.network, H.c.handle, H.c.customer_id).where(
            H.c.network.in_({n for n, _ in keys}), H.c.handle.in_({k for _, k in keys})))
        by_handle = {(n, h): cid for n, h, cid in found if (n, h) in keys}
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for r in rows:
        if r.author_email in by_email:
            out[(r.network, r.remote_id)] = (by_email[r.author_email], "email")
        elif (r.network, r.author_key) in by_handle:
            out[(r.network, r.remote_id)] = (by_handle[(r.network, r.author_key)], "handle")
    return out


def link_pending(factory: sessionmaker[Session]) -> int:
    """Tie unlinked mentions to customers who have since signed up (e-mail) or been given
    the author's handle. Returns how many were linked."""
    by_email = select(Customer.id).where(Customer.email == M.c.author_email).scalar_subquery()
    by_handle = (select(H.c.customer_id).where(H.c.network == M.c.network, H.c.handle == M.c.author_key)
                 .scalar_subquery())
    with transaction(factory) as s:
        n = s.execute(update(M).where(M.c.customer_id.is_(None), M.c.author_email != "",
                                      exists(select(Customer.id).where(Customer.email == M.c.author_email)))
                      .values(customer_id=by_email, linked_by="email")).rowcount  # type: ignore[attr-defined]
        n += s.execute(update(M).where(M.c.customer_id.is_(None), M.c.author_key != "",
                                       exists(select(H.c.id).where(H.c.network == M.c.network,
                                                                   H.c.handle == M.c.author_key)))
                       .values(customer_id=by_handle, linked_by="handle")).rowcount  # type: ignore[attr-defined]
    return int(n)


# ---- handles -------------------------------------------------------------------------
def check_network(network: str) -> str:
    value = str(network or "").strip().lower()
    if not NETWORK_RE.match(value):
        raise ValidationFailed("network must be a short id such as mastodon, bluesky or google", field="network")
    return value


def check_handle(handle: str) -> str:
    key = handle_key(str(handle or ""))
    if not key or len(key) > 200 or any(not ch.isprintable() for ch in key):
        raise ValidationFailed("handle must be 1-200 printable characters, such as @lea@piaille.fr", field="handle")
    return key


def handle_dict(row: Any) -> dict[str, Any]:
    return {"network": row.network, "handle": row.handle, "created_by": row.created_by,
            "created_at": _utc(row.created_at).isoformat()}


def handles(factory: sessionmaker[Session], customer_id: int) -> list[dict[str, Any]]:
    with read_only(factory) as s:
        return [handle_dict(h) for h in s.scalars(select(CustomerSocialHandle).where(
            CustomerSocialHandle.customer_id == customer_id).order_by(CustomerSocialHandle.network,  # type: ignore[arg-type]
                                                                    CustomerSocialHandle.handle))]


def add_handle(factory: sessionmaker[Session], customer_id: int, network: str, handle: str,
               actor: str = "") -> dict[str, Any]:
    """Record that ``customer_id`` is ``handle`` on ``network`` and link that author's
    mentions. Idempotent; a handle already given to another customer is a conflict."""
    network, key = check_network(network), check_handle(handle)
    try:
        with transaction(factory) as s:
            if s.get(Customer, customer_id) is None:
                raise NotFound(f"no customer {customer_id}", field="customer_id")
            row = s.scalars(select(CustomerSocialHandle).where(CustomerSocialHandle.network == network,
                                                               CustomerSocialHandle.handle == key)).first()
            if row is None:
                row = CustomerSocialHandle(customer_id=customer_id, network=network, handle=key,
                                           created_by=actor[:320])
                s.add(row)
                s.flush()
            elif row.customer_id != customer_id:
                raise Conflict(f"{network} handle {key} already belongs to customer {row.customer_id}; "
                               "remove it there first", field="handle")
            linked = s.execute(update(M).where(M.c.network == network, M.c.author_key == key,
                                               M.c.customer_id.is_(None))
                               .values(customer_id=customer_id, linked_by="handle")).rowcount  # type: ignore[attr-defined]
            return {**handle_dict(row), "linked": int(linked)}
    except IntegrityError:  # another request recorded the same handle at the same moment
        raise Conflict(f"{network} handle {key} was just recorded by someone else; reload", field="handle") from None


def remove_handle(factory: sessionmaker[Session], customer_id: int, network: str, handle: str) -> int:
    """Forget the handle; the mentions it linked are unlinked. Returns how many."""
    network, key = check_network(network), check_handle(handle)
    with transaction(factory) as s:
        gone = s.execute(H.delete().where(H.c.customer_id == customer_id, H.c.network == network,
                                          H.c.handle == key)).rowcount  # type: ignore[attr-defined]
        if not gone:
            raise NotFound(f"customer {customer_id} has no {network} handle {key}", field="handle")
        return int(s.execute(update(M).where(M.c.customer_id == customer_id, M.c.linked_by == "handle",
                                             M.c.network == network, M.c.author_key == key)
                             .values(customer_id=None, linked_by="")).rowcount)  # type: ignore[attr-defined]


# ---- what customers say --------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    """One customer's figures; ``label`` is "influencer", "ambassador" or ""."""

    mentions: int = 0  # mentions and replies
    reviews: int = 0
    average_rating: float | None = None
    last_at: datetime | None = None
    positive_recent: int = 0  # positive mentions/reviews within AMBASSADOR_DAYS
    followers: int | None = None  # the largest audience seen on their mentions

    @property
    def label(self) -> str:
        if self.followers is not None and self.followers >= INFLUENCER_FOLLOWERS:
            return "influencer"
        return "ambassador" if self.positive_recent >= AMBASSADOR_POSITIVE else ""

    def as_dict(self) -> dict[str, Any]:
        return {"mentions": self.mentions, "reviews": self.reviews, "average_rating": self.average_rating,
                "last_at": self.last_at.isoformat() if self.last_at else None,
                "positive_recent": self.positive_recent, "followers": self.followers, "label": self.label}


def _positive(since: datetime) -> Any:
    return func.sum(case((and_(M.c.at >= since, or_(M.c.rating >= 4, and_(M.c.rating.is_(None),
                                                                              M.c.kind != "review"))), 1), else_=0))


def voices(factory: sessionmaker[Session], customer_ids: Iterable[int], *,
           now: datetime | None = None) -> dict[int, Voice]:
    """Figures of each customer in ``customer_ids`` who has linked mentions."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    since = (now or utcnow()) - timedelta(days=AMBASSADOR_DAYS)
    q = (select(M.c.customer_id, func.sum(case((M.c.kind != "review", 1), else_=0)),
                func.sum(case((M.c.kind == "review", 1), else_=0)), func.avg(M.c.rating), func.max(M.c.at),
                _positive(since), func.max(M.c.author_followers))
         .where(M.c.customer_id.in_(ids)).group_by(M.c.customer_id))
    with read_only(factory) as s:
        return {int(cid): Voice(int(n or 0), int(r or 0), round(float(avg), 1) if avg is not None else None,
                                _utc(last) if last is not None else None, int(pos or 0),
                                int(fol) if fol is not None else None)
                for cid, n, r, avg, last, pos, fol in s.execute(q)}


def voice(factory: sessionmaker[Session], customer_id: int, *, now: datetime | None = None) -> Voice:
    return voices(factory, [customer_id], now=now).get(customer_id, Voice())


def with_label(label: str, *, now: datetime | None = None) -> Any:
    """A condition on ``Customer.id``: customers whose influence label is ``label``
    (the same rule as :attr:`Voice.label`, in SQL, for filtering a list)."""
    if label not in INFLUENCE_LABELS:
        raise ValidationFailed(f"influence must be one of {', '.join(INFLUENCE_LABELS)}", field="influence")
    followers = func.max(M.c.author_followers)
    q = select(M.c.customer_id).where(M.c.customer_id.is_not(None)).group_by(M.c.customer_id)
    if label == "influencer":
        q = q.having(followers >= INFLUENCER_FOLLOWERS)
    else:
        since = (now or utcnow()) - timedelta(days=AMBASSADOR_DAYS)
        q = q.having(_positive(since) >= AMBASSADOR_POSITIVE,
                     func.coalesce(followers, 0) < INFLUENCER_FOLLOWERS)
    return Customer.id.in_(q)  # type: ignore[union-attr]


# ---- reading mentions ----------------------------------------------------------------
def mention_dict(r: Any) -> dict[str, Any]:
    return {"id": r.id, "network": r.network, "remote_id": r.remote_id, "kind": r.kind,
            "author_handle": r.author_handle, "author_name": r.author_name,
            "author_followers": r.author_followers, "text": r.text, "url": r.url, "at": _utc(r.at).isoformat(),
            "rating": r.rating, "plugin": r.plugin, "customer_id": r.customer_id, "linked_by": r.linked_by,
            "collected_at": _utc(r.collected_at).isoformat()}


def mention_page(factory: sessionmaker[Session], *, customer_id: int | None = None, network: str = "",
                 kind: str = "", linked: bool | None = None, since: datetime | None = None,
                 limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Mentions, newest first, filtered; returns (one page, total)."""
    where: list[Any] = []
    if customer_id is not None:
        where.append(M.c.customer_id == customer_id)
    if network:
        where.append(M.c.network == network)
    if kind:
        where.append(M.c.kind == kind)
    if linked is not None:
        where.append(M.c.customer_id.is_not(None) if linked else M.c.customer_id.is_(None))
    if since is not None:
        where.append(M.c.at >= since)
    with read_only(factory) as s:
        total = int(s.scalar(select(func.count()).select_from(M).where(*where)) or 0)
        rows = s.execute(select(M).where(*where).order_by(M.c.at.desc(), M.c.id.desc()).limit(limit).offset(offset))
        return [mention_dict(r) for r in rows], total


def networks(factory: sessionmaker[Session]) -> list[str]:
    """Networks seen in mentions or handles (for the admin's pickers)."""
    with read_only(factory) as s:
        return sorted(set(s.scalars(select(M.c.network).distinct())) | set(s.scalars(select(H.c.network).distinct())))


def cursors(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with read_only(factory) as s:
        return [{"plugin": p, "since": _utc(since).isoformat() if since else None,
                 "checked_at": _utc(checked).isoformat() if checked else None, "last_error": err}
                for p, since, checked, err in s.execute(select(C.c.plugin, C.c.since, C.c.checked_at, C.c.last_error)
                                                        .order_by(C.c.plugin))]


# ---- helpers -------------------------------------------------------------------------
def _utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back: every instant stored here is UTC."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _insert(kernel: "Kernel", table: Any) -> Any:
    return sqlite_insert(table) if kernel.engine.dialect.name == "sqlite" else pg_insert(table)
