"""Google Business Profile reviews imported as mentions, against the local API."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

import comptoir_google_reviews.plugin as plugin_module
from comptoir.kernel.errors import PluginError
from comptoir.sdk import manifest_from_pyproject
from plugins.google_reviews.tests.fake_google import LOCATION, TOKEN, FakeGoogle

PLUGIN = "google-reviews"
MANIFEST = manifest_from_pyproject(Path(__file__).resolve().parents[1] / "pyproject.toml")
STARS = ["ONE", "TWO", "THREE", "FOUR", "FIVE"]


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle().start()
    yield server
    server.stop()


@pytest.fixture
def kernel(plugin_kernel: Any, fake: FakeGoogle) -> Iterator[Any]:
    k = plugin_kernel((plugin_module, MANIFEST))
    creds = k.services["credentials"]
    # as left by the kernel's OAuth connector after the merchant connected Google
    creds.store.create_account(PLUGIN, "google", kind="oauth2", provider="google",
                               config={"client_id": "x.apps.googleusercontent.com",
                                       "token_url": "https://oauth2.googleapis.com/token"})
    creds.store.put(PLUGIN, "google", "access_token", TOKEN)
    creds.grant(PLUGIN, [f"host:127.0.0.1:{fake.port}"], "admin")
    k.host.configure(PLUGIN, {"api_base": fake.url, "location": LOCATION,
                              "reviews_url": "https://g.page/r/atelier/review"})
    yield k  # closed by plugin_kernel


def test_reviews_with_ratings_across_pages(kernel: Any, fake: FakeGoogle) -> None:
    now = datetime.now(timezone.utc)
    for i in range(70):
        at = (now - timedelta(hours=i)).isoformat().replace("+00:00", "Z")
        fake.reviews.append({"name": f"{LOCATION}/reviews/r{i}", "reviewId": f"r{i}", "starRating": STARS[i % 5],
                             "comment": f"review {i}", "createTime": at, "updateTime": at,
                             "reviewer": {"displayName": f"Client {i}"}})
    fake.reviews.append({"reviewId": "old", "starRating": "FIVE", "createTime": "2020-01-01T00:00:00Z",
                         "updateTime": "2020-01-01T00:00:00Z", "reviewer": {"displayName": "Old"}})
    got = kernel.host.call("social_collect_mentions", since=(now - timedelta(hours=60, minutes=30)).isoformat())
    assert len(got) == 61 and {m.kind for m in got} == {"review"} and {m.network for m in got} == {"google"}
    assert (got[0].remote_id, got[0].rating, got[0].author_handle, got[0].text) == ("r0", 1, "Client 0", "review 0")
    assert got[4].rating == 5 and got[0].url == "https://g.page/r/atelier/review"
    assert len(fake.requests) == 2 and "pageToken=50" in fake.requests[1]["query"]


def test_errors_are_googles(kernel: Any, fake: FakeGoogle) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "location": "accounts/1/locations/2"})
    with pytest.raises(PluginError, match="Requested entity was not found"):
        kernel.host.call_one(PLUGIN, "social_collect_mentions", since="")
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "location": "nowhere"})
    with pytest.raises(PluginError, match="accounts/…/locations/…"):
        kernel.host.call_one(PLUGIN, "social_collect_mentions", since="")
