"""Mastodon as Comptoir social hooks (https://docs.joinmastodon.org/methods/).

- publish: the image is fetched (``post.image_url``, through the broker, so its host
  must be granted), uploaded with ``POST /api/v2/media`` (multipart ``file`` and
  ``description``; a 202 means the instance is still processing it, polled with
  ``GET /api/v1/media/:id``), then ``POST /api/v1/statuses`` with ``media_ids[]``,
  ``visibility``, ``language`` and, for a post in the future, ``scheduled_at`` (the
  instance holds it: it answers a ScheduledStatus). ``Idempotency-Key`` makes a retry
  of the same post within an hour return the first status instead of a duplicate.
- mentions: ``GET /api/v1/notifications?types[]=mention`` page by page (``max_id``)
  until older than ``since``; replies are mentions whose status answers another. The
  notification's account gives the author's ``display_name`` and ``followers_count``.
"""
from __future__ import annotations

import hashlib
import html
import re
import time
from datetime import datetime, timezone
from typing import Any

from comptoir.sdk import Mention, PublishedPost, SocialPost, hookimpl

ACCOUNT = "account"
TAG_RE = re.compile(r"<[^>]+>")


class MastodonError(Exception):
    """The instance refused a request; the message is the instance's ``error`` text."""


def _base(ctx: Any) -> str:
    return str(ctx.setting("instance") or "https://mastodon.social").rstrip("/")


def _call(ctx: Any, method: str, path: str, **kw: Any) -> Any:
    if ctx.http is None:
        raise MastodonError("the credential broker is not available")
    r = ctx.http.request(method, _base(ctx) + path, account=ACCOUNT,
                         timeout=float(ctx.setting("timeout_s", 20) or 20), **kw)
    if r.status_code >= 400:
        try:
            text = str(r.json().get("error") or "")
        except ValueError:
            text = ""
        raise MastodonError(f"Mastodon: {text or f'HTTP {r.status_code}'}")
    return r


def _upload(ctx: Any, post: SocialPost) -> str:
    image = ctx.http.request("GET", post.image_url, timeout=float(ctx.setting("timeout_s", 20) or 20))
    if image.status_code >= 400:
        raise MastodonError(f"the product image could not be read ({post.image_url}: HTTP {image.status_code})")
    mime = image.headers.get("content-type", "image/jpeg").split(";")[0]
    name = post.image_url.rsplit("/", 1)[-1] or "image"
    r = _call(ctx, "POST", "/api/v2/media", files={"file": (name, image.content, mime)},
              data={"description": post.text[:1500]})
    media = r.json()
    for _ in range(10):  # 202: processing; the docs say to poll until url is set
        if r.status_code != 202 and media.get("url"):
            break
        time.sleep(0.2)
        r = _call(ctx, "GET", f"/api/v1/media/{media['id']}")
        media = r.json()
        if r.status_code == 200 and media.get("url"):
            break
    return str(media["id"])


@hookimpl
def social_networks(ctx: Any) -> list[str]:
    return ["mastodon"]


@hookimpl
def social_publish(ctx: Any, network: str, post: SocialPost) -> PublishedPost:
    text = post.text if not post.link else f"{post.text}\n\n{post.link}"
    body: dict[str, Any] = {"status": text, "visibility": ctx.setting("visibility", "public"),
                            "language": ctx.setting("language", "fr")}
    if post.image_url:
        body["media_ids"] = [_upload(ctx, post)]
    if post.scheduled_at:
        body["scheduled_at"] = post.scheduled_at
    key = hashlib.sha256(f"{text}|{post.image_url}|{post.scheduled_at}|{post.product_id}".encode()).hexdigest()[:40]
    status = _call(ctx, "POST", "/api/v1/statuses", json=body, headers={"Idempotency-Key": key}).json()
    if "scheduled_at" in status and "params" in status:  # a ScheduledStatus: no public URL yet
        return PublishedPost(network="mastodon", remote_id=f"scheduled:{status['id']}", url="")
    return PublishedPost(network="mastodon", remote_id=str(status["id"]), url=str(status.get("url") or ""))


def _plain(content: str) -> str:
    """Mastodon sends HTML; the customer record keeps text."""
    return " ".join(html.unescape(TAG_RE.sub(" ", content)).split())


def register_app(ctx: Any, redirect_uri: str, *, name: str = "Comptoir") -> dict[str, str]:
    """Register the shop's OAuth app on the instance (``POST /api/v1/apps``, no token
    needed); the admin then connects the account with the returned client id/secret."""
    r = ctx.http.request("POST", _base(ctx) + "/api/v1/apps", json={
        "client_name": name, "redirect_uris": redirect_uri,
        "scopes": "read:notifications write:media write:statuses"}, timeout=20.0)
    if r.status_code >= 400:
        raise MastodonError(f"Mastodon: {r.json().get('error', r.status_code)}")
    app = r.json()
    return {"client_id": str(app["client_id"]), "client_secret": str(app["client_secret"]),
            "authorize_url": _base(ctx) + "/oauth/authorize", "token_url": _base(ctx) + "/oauth/token"}


def _handle(account: dict[str, Any], base: str) -> str:
    acct = str(account.get("acct") or "")
    if "@" not in acct:  # a local account: qualify it with the instance's domain
        acct = f"{acct}@{base.split('://', 1)[-1]}"
    return "@" + acct


@hookimpl
def social_collect_mentions(ctx: Any, since: str) -> list[Mention]:
    base = _base(ctx)
    floor = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else datetime.min.replace(tzinfo=timezone.utc)
    out: list[Mention] = []
    params: list[tuple[str, str]] = [("types[]", "mention"), ("limit", "40")]
    for _ in range(25):  # at most 1,000 notifications per collection
        page = _call(ctx, "GET", "/api/v1/notifications", params=params).json()
        if not page:
            break
        for n in page:
            at = datetime.fromisoformat(str(n["created_at"]).replace("Z", "+00:00"))
            if at < floor:
                return out
            status = n.get("status") or {}
            account = n["account"]
            followers = account.get("followers_count")
            out.append(Mention(network="mastodon", remote_id=str(status.get("id") or n["id"]),
                               author_handle=_handle(account, base),
                               text=_plain(str(status.get("content") or "")),
                               url=str(status.get("url") or ""), at=at.isoformat(),
                               kind="reply" if status.get("in_reply_to_id") else "mention",
                               author_name=str(account.get("display_name") or ""),
                               author_followers=followers if isinstance(followers, int) else None))
        params = [("types[]", "mention"), ("limit", "40"), ("max_id", str(page[-1]["id"]))]
    return out
