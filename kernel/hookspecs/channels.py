"""Sales channel hooks: feeds, POS, marketplaces, conversational commerce."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import ChannelReply, ChannelSpec


@spec("collect")
def channels(ctx: Any) -> list[ChannelSpec]:
    """Channels this plugin provides. Collect-all."""


@spec("targeted")
def channel_catalog_feed(ctx: Any, channel_id: str, products: list[dict[str, Any]]) -> bytes:
    """Render a catalog feed (XML, CSV …) for ``channel_id``. Targeted.

    :param products: published products with price and availability.
    :returns: the feed body.
    """


@spec("firstresult", timeout_ms=3000)
def conversational_request(ctx: Any, channel_id: str, message: str, customer_id: int | None) -> ChannelReply | None:
    """Answer a chat or voice message. First result: the first plugin that
    understands the message answers; others return None."""
