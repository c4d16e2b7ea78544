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

    :param since: the latest ``at`` the kernel stored from this plugin (empty on the
        first collection); answer what is at or after it. Repeats are harmless.
    :returns: :class:`Mention` items. ``at`` is ISO 8601 with an offset; ``rating`` is
        1-5 when the network has stars; ``author_email``, ``author_name`` and
        ``author_followers`` (API 1.2) are filled when the network gives them.

    The kernel stores them (``kernel/services/mentions.py``), unique by
    (network, remote_id): an edited review with the same id updates the stored one. It
    attaches each to a customer record: by ``author_email``, else by a handle the
    merchant recorded on the customer. A failing plugin is journaled and skipped.
    """
