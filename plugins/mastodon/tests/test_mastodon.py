"""Mastodon through the plugin's hooks against the local instance."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import SocialPost
from plugins.mastodon.tests.conftest import PLUGIN
from plugins.mastodon.tests.fake_mastodon import FakeMastodon


def test_publish_with_image(kernel: Any, fake: FakeMastodon) -> None:
    assert kernel.host.call("social_networks") == ["mastodon"]
    post = SocialPost(text="New: the enamel mug, 18 €", link="https://shop.example/p/mug-enamel",
                      image_url=f"{fake.url}/images/mug.jpg", product_id=1)
    published = kernel.host.call_one(PLUGIN, "social_publish", network="mastodon", post=post)
    status = fake.statuses[published.remote_id]
    assert published.url == status["url"] and status["visibility"] == "public" and status["language"] == "fr"
    assert "https://shop.example/p/mug-enamel" in status["content"]
    [media] = status["media_attachments"]
    assert media["url"] and media["description"] == "New: the enamel mug, 18 €"
    upload = next(r for r in fake.requests if r["path"] == "/api/v2/media")
    assert upload["headers"]["content-type"].startswith("multipart/form-data")
    assert upload["headers"]["authorization"].startswith("Bearer ")
    again = kernel.host.call_one(PLUGIN, "social_publish", network="mastodon", post=post)
    assert again.remote_id == published.remote_id and len(fake.statuses) == 1  # Idempotency-Key


def test_scheduled_post_is_held_by_the_instance(kernel: Any, fake: FakeMastodon) -> None:
    when = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(timespec="seconds")
    published = kernel.host.call_one(PLUGIN, "social_publish", network="mastodon",
                                     post=SocialPost(text="Sale tomorrow!", scheduled_at=when))
    assert published.remote_id.startswith("scheduled:") and published.url == ""
    assert fake.scheduled[published.remote_id.split(":")[1]]["params"]["scheduled_at"] == when
    soon = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat(timespec="seconds")
    with pytest.raises(PluginError, match="at least 5 minutes into the future"):
        kernel.host.call_one(PLUGIN, "social_publish", network="mastodon", post=SocialPost(text="x", scheduled_at=soon))


def test_instance_errors_are_shown(kernel: Any, fake: FakeMastodon) -> None:
    with pytest.raises(PluginError, match="character limit of 500 exceeded"):
        kernel.host.call_one(PLUGIN, "social_publish", network="mastodon", post=SocialPost(text="x" * 501))
    fake.tokens.clear()  # the merchant revoked the app on the instance
    with pytest.raises(PluginError, match="The access token is invalid"):
        kernel.host.call_one(PLUGIN, "social_publish", network="mastodon", post=SocialPost(text="hello"))


def test_collect_mentions_and_replies_across_pages(kernel: Any, fake: FakeMastodon) -> None:
    now = datetime.now(timezone.utc)
    fake.mention("old@piaille.fr", "<p>too old</p>", now - timedelta(days=10))
    for i in range(45):
        fake.mention(f"fan{i}@mastodon.social", f"<p>I love <span class=\"h-card\">@shop</span> #{i}</p>",
                     now - timedelta(hours=45 - i))
    reply = fake.mention("lea", "<p>@shop when is the mug back in stock&#39;?</p>", now, reply_to="42",
                         display_name="Léa", followers=12400)
    fake.notifications.insert(0, {**fake.notifications[0], "id": "999999999999999999", "type": "favourite"})
    got = kernel.host.call("social_collect_mentions", since=(now - timedelta(days=3)).isoformat())
    assert len(got) == 46 and got[0].remote_id == reply
    assert got[0].kind == "reply" and got[0].author_handle == f"@lea@127.0.0.1:{fake.port}"
    assert got[0].text == "@shop when is the mug back in stock'?"
    assert (got[0].author_name, got[0].author_followers, got[1].author_followers) == ("Léa", 12400, 0)
    assert got[1].author_handle == "@fan44@mastodon.social" and got[1].text == "I love @shop #44"
    pages = [r for r in fake.requests if r["path"] == "/api/v1/notifications"]
    assert len(pages) == 2 and "types%5B%5D=mention" in pages[0]["query"]
