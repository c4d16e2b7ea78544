"""Bluesky through the plugin's hooks against the local PDS."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import SocialPost
from comptoir_bluesky.plugin import link_facet
from plugins.bluesky.tests.conftest import PLUGIN
from plugins.bluesky.tests.fake_bluesky import APP_PASSWORD, DID, FakeBluesky


def test_link_facet_counts_utf8_bytes() -> None:
    text = "Mug émaillé 18 €\nhttps://shop.example/p/1"
    facet = link_facet(text, "https://shop.example/p/1")
    assert facet["index"] == {"byteStart": len("Mug émaillé 18 €\n".encode()),
                              "byteEnd": len(text.encode())}


def test_publish_with_image_and_link(kernel: Any, fake: FakeBluesky) -> None:
    post = SocialPost(text="Mug émaillé, 18 €", link="https://shop.example/p/mug", image_url=f"{fake.url}/images/m.jpg")
    published = kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=post)
    record = fake.records[published.remote_id]
    assert published.remote_id.startswith(f"at://{DID}/app.bsky.feed.post/")
    assert published.url.startswith("https://bsky.app/profile/atelier.bsky.social/post/3kx")
    assert record["embed"]["images"][0]["image"]["ref"]["$link"] in fake.blobs
    assert record["facets"][0]["features"][0]["uri"] == "https://shop.example/p/mug"
    session = next(r for r in fake.requests if r["path"].endswith("createSession"))
    assert APP_PASSWORD.encode() in session["body"]
    kernel.host.journal.flush()
    assert all(APP_PASSWORD not in e.error for e in kernel.host.journal.entries(plugin=PLUGIN, limit=50))


def test_expired_session_is_renewed_once(kernel: Any, fake: FakeBluesky) -> None:
    kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=SocialPost(text="one"))
    fake.jwts.clear()
    kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=SocialPost(text="two"))
    assert sum(1 for r in fake.requests if r["path"].endswith("createSession")) >= 2
    assert len(fake.records) == 2


def test_refusals_are_explained(kernel: Any, fake: FakeBluesky) -> None:
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    with pytest.raises(PluginError, match="cannot hold a post until a date"):
        kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=SocialPost(text="x", scheduled_at=later))
    with pytest.raises(PluginError, match="limited to 300 characters"):
        kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=SocialPost(text="x" * 301))
    kernel.services["credentials"].store.put(PLUGIN, "app_password", "api_key", "wxyz-wxyz-wxyz-wxyz")
    import comptoir_bluesky.plugin as module

    module._sessions.clear()
    with pytest.raises(PluginError, match="Invalid identifier or password") as info:
        kernel.host.call_one(PLUGIN, "social_publish", network="bluesky", post=SocialPost(text="x"))
    assert "wxyz" not in str(info.value)


def test_mentions_and_replies_across_pages(kernel: Any, fake: FakeBluesky) -> None:
    now = datetime.now(timezone.utc)
    fake.notify("old.bsky.social", "mention", "old", now - timedelta(days=9))
    for i in range(60):
        fake.notify(f"fan{i}.bsky.social", "mention" if i % 2 else "like", f"@atelier #{i}", now - timedelta(minutes=60 - i))
    reply = fake.notify("lea.bsky.social", "reply", "Back in stock?", now, display_name="Léa", followers=8200)
    got = kernel.host.call("social_collect_mentions", since=(now - timedelta(days=1)).isoformat())
    assert len(got) == 31 and got[0].remote_id == reply and got[0].kind == "reply"
    assert got[0].author_handle == "@lea.bsky.social" and got[1].text == "@atelier #59"
    assert all(m.kind in ("mention", "reply") for m in got)
    assert (got[0].author_name, got[0].author_followers, got[1].author_name, got[1].author_followers) == \
        ("Léa", 8200, "", 0)
    profiles = [r for r in fake.requests if r["path"] == "/xrpc/app.bsky.actor.getProfiles"]
    assert len(profiles) == 2 and profiles[0]["query"].count("actors=") == 25  # 31 authors, 25 a call


def test_follower_counts_are_optional(kernel: Any, fake: FakeBluesky) -> None:
    """A profile the PDS does not return, or a failing getProfiles, leaves the audience
    unknown; the mentions still come."""
    fake.notify("fan.bsky.social", "mention", "@atelier hi", datetime.now(timezone.utc), followers=90)
    fake.notify("new.bsky.social", "mention", "@atelier hello", datetime.now(timezone.utc))
    del fake.profiles[next(d for d, p in fake.profiles.items() if p["handle"] == "new.bsky.social")]
    got = kernel.host.call("social_collect_mentions", since="")
    assert [(m.author_handle, m.author_followers) for m in got] == [("@new.bsky.social", None),
                                                                    ("@fan.bsky.social", 90)]
    fake.profiles_down = True
    got = kernel.host.call("social_collect_mentions", since="")
    assert [m.author_followers for m in got] == [None, None]
