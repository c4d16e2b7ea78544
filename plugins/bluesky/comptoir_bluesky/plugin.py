"""Bluesky as Comptoir social hooks, over AT Protocol XRPC (https://docs.bsky.app/).

- session: ``com.atproto.server.createSession`` with the handle and the app password
  gives ``accessJwt`` (short-lived, kept in this process's memory, never logged) and
  the account's DID; a 400/401 ``ExpiredToken`` opens a new session once;
- publish: the image is fetched through the broker and sent to
  ``com.atproto.repo.uploadBlob``, then ``com.atproto.repo.createRecord`` writes an
  ``app.bsky.feed.post`` with an ``app.bsky.embed.images`` embed and a link facet
  (byte offsets in UTF-8, as the facet spec requires). Bluesky has no scheduled
  posts: a post with ``scheduled_at`` in the future is refused, so the kernel's
  scheduler publishes it at the time;
- mentions: ``app.bsky.notification.listNotifications`` (``cursor`` paging) keeping
  reasons ``mention`` and ``reply``; the authors' ``followersCount`` comes from
  ``app.bsky.actor.getProfiles`` (25 actors a call; notifications carry a basic
  profile without it). A profile lookup that fails leaves the count unknown.
"""
from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Any

from comptoir.sdk import Mention, PublishedPost, SocialPost, hookimpl

_sessions: dict[tuple[str, str], dict[str, str]] = {}
_lock = threading.Lock()


class BlueskyError(Exception):
    """The PDS refused a request; the message is its ``error: message`` text."""


def _base(ctx: Any) -> str:
    return str(ctx.setting("service") or "https://bsky.social").rstrip("/")


def _session(ctx: Any, *, renew: bool = False) -> dict[str, str]:
    key = (ctx.plugin, _base(ctx))
    with _lock:
        if key in _sessions and not renew:
            return _sessions[key]
        handle = str(ctx.setting("handle") or "")
        if not handle:
            raise BlueskyError("set the shop's Bluesky handle in the plugin's settings")
        password = ctx.credentials.raw("app_password")
        r = ctx.http.request("POST", _base(ctx) + "/xrpc/com.atproto.server.createSession",
                             json={"identifier": handle, "password": password}, timeout=_timeout(ctx))
        if r.status_code >= 400:
            raise _error(r)
        body = r.json()
        _sessions[key] = {"jwt": str(body["accessJwt"]), "did": str(body["did"]), "handle": str(body["handle"])}
        return _sessions[key]


def _timeout(ctx: Any) -> float:
    return float(ctx.setting("timeout_s", 20) or 20)


def _error(r: Any) -> BlueskyError:
    try:
        body = r.json()
    except ValueError:
        body = {}
    return BlueskyError(f"Bluesky: {body.get('error', 'Error')}: {body.get('message') or f'HTTP {r.status_code}'}")


def _xrpc(ctx: Any, method: str, nsid: str, **kw: Any) -> Any:
    for attempt in range(2):
        session = _session(ctx, renew=attempt > 0)
        headers = {**kw.pop("headers", {}), "Authorization": f"Bearer {session['jwt']}"}
        r = ctx.http.request(method, f"{_base(ctx)}/xrpc/{nsid}", headers=headers, timeout=_timeout(ctx), **kw)
        if r.status_code in (400, 401) and attempt == 0 and "ExpiredToken" in r.text:
            kw["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            continue
        if r.status_code >= 400:
            raise _error(r)
        return r.json()
    raise BlueskyError("Bluesky: the session could not be renewed")


def link_facet(text: str, url: str) -> dict[str, Any]:
    """A link facet over ``url`` inside ``text`` (UTF-8 byte offsets)."""
    start = text.encode().index(url.encode())
    return {"index": {"byteStart": start, "byteEnd": start + len(url.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}]}


@hookimpl
def social_networks(ctx: Any) -> list[str]:
    return ["bluesky"]


@hookimpl
def social_publish(ctx: Any, network: str, post: SocialPost) -> PublishedPost:
    if post.scheduled_at and datetime.fromisoformat(post.scheduled_at.replace("Z", "+00:00")) > ctx.now():
        raise BlueskyError("Bluesky cannot hold a post until a date; publish it at the time instead")
    text = post.text if not post.link else f"{post.text}\n{post.link}"
    if len(text) > 300:
        raise BlueskyError(f"Bluesky posts are limited to 300 characters ({len(text)} given)")
    session = _session(ctx)
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text,
                              "createdAt": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                              "langs": ["fr"]}
    if post.link:
        record["facets"] = [link_facet(text, post.link)]
    if post.image_url:
        image = ctx.http.request("GET", post.image_url, timeout=_timeout(ctx))
        if image.status_code >= 400:
            raise BlueskyError(f"the product image could not be read ({post.image_url}: HTTP {image.status_code})")
        mime = image.headers.get("content-type", "image/jpeg").split(";")[0]
        blob = _xrpc(ctx, "POST", "com.atproto.repo.uploadBlob", content=image.content,
                     headers={"Content-Type": mime})["blob"]
        record["embed"] = {"$type": "app.bsky.embed.images", "images": [{"alt": post.text[:300], "image": blob}]}
    created = _xrpc(ctx, "POST", "com.atproto.repo.createRecord",
                    json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record})
    rkey = str(created["uri"]).rsplit("/", 1)[1]
    return PublishedPost(network="bluesky", remote_id=str(created["uri"]),
                         url=f"https://bsky.app/profile/{session['handle']}/post/{rkey}")


def _followers(ctx: Any, dids: list[str]) -> dict[str, int]:
    """``followersCount`` per DID; an actor the PDS does not return stays unknown."""
    counts: dict[str, int] = {}
    for i in range(0, len(dids), 25):  # getProfiles takes at most 25 actors
        try:
            body = _xrpc(ctx, "GET", "app.bsky.actor.getProfiles", params=[("actors", d) for d in dids[i:i + 25]])
        except BlueskyError as exc:  # the mentions matter more than the audience figures
            ctx.log.warning("Bluesky profiles not read: %s", exc)
            continue
        for profile in body.get("profiles", []):
            if isinstance(profile.get("followersCount"), int):
                counts[str(profile.get("did"))] = profile["followersCount"]
    return counts


def _collect(ctx: Any, floor: datetime) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(20):
        params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        page = _xrpc(ctx, "GET", "app.bsky.notification.listNotifications", params=params)
        for n in page.get("notifications", []):
            at = datetime.fromisoformat(str(n["indexedAt"]).replace("Z", "+00:00"))
            if at < floor:
                return found
            if n.get("reason") in ("mention", "reply"):
                found.append({**n, "_at": at})
        cursor = str(page.get("cursor") or "")
        if not cursor:
            break
    return found


@hookimpl
def social_collect_mentions(ctx: Any, since: str) -> list[Mention]:
    floor = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else datetime.min.replace(tzinfo=timezone.utc)
    found = _collect(ctx, floor)
    followers = _followers(ctx, sorted({str(n["author"].get("did") or "") for n in found} - {""}))
    out: list[Mention] = []
    for n in found:
        author = n["author"]
        rkey = str(n["uri"]).rsplit("/", 1)[1]
        out.append(Mention(network="bluesky", remote_id=str(n["uri"]), author_handle="@" + author["handle"],
                           text=str((n.get("record") or {}).get("text") or ""), at=n["_at"].isoformat(),
                           url=f"https://bsky.app/profile/{author['handle']}/post/{rkey}",
                           kind="reply" if n["reason"] == "reply" else "mention",
                           author_name=str(author.get("displayName") or ""),
                           author_followers=followers.get(str(author.get("did") or ""))))
    return out
