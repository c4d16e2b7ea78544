"""Admin API, social side: collected mentions and reviews, customers' handles, collect now.

Seeing mentions needs ``customers:read`` (owners, managers, marketing, support; not
pickers); recording handles and collecting need ``customers:social``
(owner, manager, marketing, support: who follows the shop's social life).
"""
from __future__ import annotations

from typing import Any

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Customer
from comptoir.kernel.domain.social import MENTION_KINDS
from comptoir.kernel.errors import NotFound
from comptoir.kernel.services import mentions
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, Param, limit_offset

api = Api()
P = "/api/admin/v1"
TAG = "admin: customers"


class MentionOut(S.Out):
    id: int
    network: str
    remote_id: str
    kind: str
    author_handle: str
    author_name: str
    author_followers: int | None
    text: str
    url: str
    at: str
    rating: int | None
    plugin: str
    customer_id: int | None
    linked_by: str
    collected_at: str


class HandleOut(S.Out):
    network: str
    handle: str
    created_by: str
    created_at: str


class HandleAddedOut(HandleOut):
    linked: int  # mentions of that author now tied to the customer


class HandleRemovedOut(S.Out):
    network: str
    handle: str
    unlinked: int


class HandlesOut(S.Out):
    items: list[HandleOut]


class CollectOut(S.Out):
    new: int
    updated: int
    linked: int
    rejected: int
    failed: list[str]
    plugins: list[dict[str, Any]]


MENTION_PAGE = S.page_of(MentionOut.model_json_schema())  # items inlined: no shared component needed


def _existing(call: Call) -> int:
    customer_id = int(call.path["customer_id"])
    with read_only(call.kernel.factory) as s:
        if s.get(Customer, customer_id) is None:
            raise NotFound(f"no customer {customer_id}", field="customer_id")
    return customer_id


@api.op("GET", f"{P}/mentions", summary="Mentions and reviews collected from the networks", tag=TAG,
        right="customers:read", paginated=True, response=MENTION_PAGE, query=(
            Param("network", {"type": "string", "maxLength": 40}, "mastodon, bluesky, google …"),
            Param("kind", {"type": "string", "enum": list(MENTION_KINDS)}),
            Param("linked", {"type": "boolean"}, "true: tied to a customer; false: not (yet)"),
            *limit_offset(50)))
def admin_mentions(call: Call) -> Page:
    """Newest first."""
    q = call.query
    items, total = mentions.mention_page(call.kernel.factory, network=(q["network"] or "").strip().lower(),
                                         kind=q["kind"] or "", linked=q["linked"], limit=q["limit"],
                                         offset=q["offset"])
    return Page(items, total, q["limit"], q["offset"])


@api.op("POST", f"{P}/mentions/collect", summary="Collect mentions and reviews now", tag=TAG,
        right="customers:social", response=CollectOut)
def admin_mentions_collect(call: Call) -> dict[str, Any]:
    """Asks every social plugin for what is new since its last collection (also done by
    the maintenance job every 15 minutes). A failing plugin is named in ``failed``."""
    report = mentions.collect(call.kernel)
    return {**report.as_dict(), "plugins": [
        {"plugin": p.plugin, "fetched": p.fetched, "new": p.new, "updated": p.updated, "linked": p.linked,
         "rejected": p.rejected, "error": p.error} for p in report.plugins]}


@api.op("GET", f"{P}/customers/{{customer_id}}/mentions", summary="What a customer said about the shop", tag=TAG,
        right="customers:read", paginated=True, response=MENTION_PAGE, query=limit_offset(50))
def admin_customer_mentions(call: Call) -> Page:
    """Their mentions, replies and reviews, newest first."""
    customer_id = _existing(call)
    items, total = mentions.mention_page(call.kernel.factory, customer_id=customer_id, limit=call.query["limit"],
                                         offset=call.query["offset"])
    return Page(items, total, call.query["limit"], call.query["offset"])


@api.op("GET", f"{P}/customers/{{customer_id}}/handles", summary="A customer's social handles", tag=TAG,
        right="customers:read", response=HandlesOut)
def admin_customer_handles(call: Call) -> dict[str, Any]:
    return {"items": mentions.handles(call.kernel.factory, _existing(call))}


@api.op("PUT", f"{P}/customers/{{customer_id}}/handles/{{network}}/{{handle}}", summary="Record a social handle",
        tag=TAG, right="customers:social", response=HandleAddedOut)
def admin_customer_handle_put(call: Call) -> dict[str, Any]:
    """The customer is ``handle`` on ``network`` (``@`` optional, case ignored); that
    author's mentions are tied to them. Idempotent; 409 when another customer has it."""
    return mentions.add_handle(call.kernel.factory, int(call.path["customer_id"]), call.path["network"],
                               call.path["handle"], actor=call.actor)


@api.op("DELETE", f"{P}/customers/{{customer_id}}/handles/{{network}}/{{handle}}", summary="Forget a social handle",
        tag=TAG, right="customers:social", response=HandleRemovedOut)
def admin_customer_handle_delete(call: Call) -> dict[str, Any]:
    """The mentions it had tied to the customer are untied (those matched by e-mail stay)."""
    network, handle = mentions.check_network(call.path["network"]), mentions.check_handle(call.path["handle"])
    unlinked = mentions.remove_handle(call.kernel.factory, int(call.path["customer_id"]), network, handle)
    return {"network": network, "handle": handle, "unlinked": unlinked}
