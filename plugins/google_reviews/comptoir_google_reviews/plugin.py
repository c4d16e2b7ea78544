"""Google Business Profile reviews as Comptoir mentions.

``GET /v4/{location}/reviews?pageSize=50&orderBy=updateTime desc[&pageToken=…]``
(https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/list)
answers ``reviews`` (``reviewId``, ``reviewer.displayName``, ``starRating`` ONE…FIVE,
``comment``, ``createTime``, ``updateTime``, ``name``) and ``nextPageToken``. Reviews
are read newest-updated first until older than ``since``; an edited review comes back
with the same ``remote_id``, so the kernel updates it instead of adding one.
The OAuth token (scope ``business.manage``) is injected by the broker.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from comptoir.sdk import Mention, hookimpl

STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}


class GoogleError(Exception):
    """Google refused the request; the message is Google's ``error.message``."""


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@hookimpl
def social_networks(ctx: Any) -> list[str]:
    return []  # reviews are imported, nothing is published to Google from here


@hookimpl
def social_collect_mentions(ctx: Any, since: str) -> list[Mention]:
    location = str(ctx.setting("location") or "")
    if not location.startswith("accounts/") or "/locations/" not in location:
        raise GoogleError("set the Business Profile location (accounts/…/locations/…) in the plugin's settings")
    base = str(ctx.setting("api_base") or "https://mybusiness.googleapis.com").rstrip("/")
    floor = _when(since) if since else datetime.min.replace(tzinfo=timezone.utc)
    out: list[Mention] = []
    token = ""
    for _ in range(40):  # 2,000 reviews at most per import
        params = {"pageSize": "50", "orderBy": "updateTime desc", **({"pageToken": token} if token else {})}
        r = ctx.http.request("GET", f"{base}/v4/{quote(location)}/reviews", params=params, account="google",
                             timeout=20.0)
        body = r.json() if r.content else {}
        if r.status_code >= 400:
            raise GoogleError(f"Google: {(body.get('error') or {}).get('message') or f'HTTP {r.status_code}'}")
        for review in body.get("reviews", []):
            updated = _when(str(review.get("updateTime") or review["createTime"]))
            if updated < floor:
                return out
            name = str((review.get("reviewer") or {}).get("displayName") or "")
            # Google gives no handle: the display name is what the merchant can match on
            out.append(Mention(network="google", remote_id=str(review["reviewId"]),
                               author_handle=name or "Google user",
                               text=str(review.get("comment") or ""), at=updated.isoformat(), kind="review",
                               rating=STARS.get(str(review.get("starRating"))),
                               url=str(ctx.setting("reviews_url") or ""), author_name=name))
        token = str(body.get("nextPageToken") or "")
        if not token:
            break
    return out
