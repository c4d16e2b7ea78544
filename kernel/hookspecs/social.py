"""Social hooks: publish to networks, collect mentions and reviews."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import Mention, PublishedPost, SocialPost


@spec("collect")
def social_networks(ctx: Any) -> list[str]:
    """Network ids this plugin can publish to (e.g. ``mastodon``). Collect-all."""


@spec("targeted", side_effects=True)
def social_publish(ctx: Any, network: str, post: SocialPost) -> PublishedPost:
    """Publish ``post`` on ``network``. Targeted at the plugin owning ``network``.

    Uses the connected account of the merchant from the credential store.
    """


@spec("collect", timeout_ms=10000)
def social_collect_mentions(ctx: Any, since: str) -> list[Mention]:
    """Mentions, replies and reviews since an ISO 8601 instant. Collect-all.

    The kernel attaches each to a customer record (by e-mail or handle) and keeps them
    unique by (network, remote_id).
    """
