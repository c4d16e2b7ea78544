"""Admin API: posts on the shop's social networks, published now or on a schedule.

Needs ``social:publish`` (owners, managers, marketing; tokens may carry it). A post
without ``scheduled_for`` is published within the request, so the answer already says
``published`` (with the post's address) or, when the network refused, ``scheduled``
with its ``error`` (retried automatically, up to 3 attempts, then ``failed``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from comptoir.kernel.domain.social_posts import POST_STATUSES
from comptoir.kernel.services import social_posts
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset

api = Api()
P = "/api/admin/v1"
TAG = "admin: social"
RIGHT = "social:publish"


class SocialPostIn(S.In):
    networks: list[str] = Field(min_length=1, max_length=10)  # ids from GET /social/networks' plugins
    text: str = Field(default="", max_length=2000)  # at most 500 once trimmed; empty: the product's
    link: str = Field(default="", max_length=2000)
    image_url: str = Field(default="", max_length=2000)
    product_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    scheduled_for: datetime | None = None  # with an offset; absent: publish now


class SocialPostOut(S.Out):
    id: int
    network: str
    plugin: str
    product_id: int | None
    text: str
    link: str
    image_url: str
    scheduled_for: str | None
    status: str
    remote_id: str
    url: str
    error: str
    attempts: int
    created_by: str
    created_at: str
    published_at: str | None


class SocialPostsOut(S.Out):
    items: list[SocialPostOut]


@api.op("POST", f"{P}/social/posts", summary="Publish or schedule a post on social networks", tag=TAG,
        right=RIGHT, body=SocialPostIn, response=SocialPostsOut, status=201)
def admin_social_post(call: Call) -> dict[str, Any]:
    """One post per network. With ``product_id``, an empty text, link or image is taken
    from the product (title and price, its shop page, its first image)."""
    b: SocialPostIn = call.body
    rows = social_posts.schedule(call.kernel, b.networks, text=b.text, link=b.link, image_url=b.image_url,
                                 product_id=b.product_id, when=b.scheduled_for, actor=call.actor)
    if b.scheduled_for is None:
        ids = [r["id"] for r in rows]
        social_posts.publish_due(call.kernel, ids=ids)
        rows = [social_posts.get(call.kernel, i) for i in ids]
    return {"items": rows}


@api.op("GET", f"{P}/social/posts", summary="Posts published, scheduled, failed or cancelled", tag=TAG,
        right=RIGHT, paginated=True, response=S.page_of(SocialPostOut.model_json_schema()), query=(
            Param("status", {"type": "string", "enum": list(POST_STATUSES)}),
            Param("network", {"type": "string", "maxLength": 40}, "mastodon, bluesky …"),
            *limit_offset(50)))
def admin_social_posts(call: Call) -> Page:
    """Newest first."""
    q = call.query
    items, total = social_posts.page(call.kernel, status=q["status"] or "",
                                     network=(q["network"] or "").strip().lower(), limit=q["limit"],
                                     offset=q["offset"])
    return Page(items, total, q["limit"], q["offset"])


@api.op("DELETE", f"{P}/social/posts/{{post_id}}", summary="Cancel a scheduled post", tag=TAG, right=RIGHT,
        response=SocialPostOut)
def admin_social_post_cancel(call: Call) -> dict[str, Any]:
    """Only while ``scheduled``: 409 once a publisher has taken it or it is done."""
    return social_posts.cancel(call.kernel, int(call.path["post_id"]))
