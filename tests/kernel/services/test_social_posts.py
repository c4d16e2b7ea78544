"""Posts published from the admin: the real Mastodon plugin against its local fake,
the kernel's schedule (due, not yet, cancelled), retries ending in the network's own
message, validation naming the field, and two publishers at once on SQLite and
PostgreSQL never publishing a row twice."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

import comptoir_mastodon.plugin as mastodon_module
from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Product, ProductImage, Variant
from comptoir.kernel.domain.social_posts import SocialPostRecord
from comptoir.kernel.errors import Conflict, NotFound, ValidationFailed
from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.jobs import maintenance
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.services import social_posts
from comptoir.kernel.types import PublishedPost, SocialPost
from comptoir.sdk import manifest_from_pyproject
from comptoir.sdk.testing import build_test_kernel
from plugins.mastodon.tests.conftest import connect as connect_mastodon
from plugins.mastodon.tests.fake_mastodon import FakeMastodon
from tests.conftest import build_kernel
from tests.plugins.kernel_fixtures import manifest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    server = FakeMastodon().start()
    yield server
    server.stop()


@pytest.fixture
def shop(tmp_path: Path, fake: FakeMastodon) -> Iterator[Kernel]:
    """Demo shop with the Mastodon plugin connected the way an admin does it."""
    k = build_test_kernel(tmp_path / "shop", plugins=[
        (mastodon_module, manifest_from_pyproject(ROOT / "plugins" / "mastodon" / "pyproject.toml"))])
    connect_mastodon(k, fake)
    yield k
    k.close()


def _product(kernel: Kernel) -> tuple[int, str, str]:
    with read_only(kernel.factory) as s:
        p = s.scalars(select(Product).where(Product.id.in_(select(Variant.product_id)))  # type: ignore[union-attr]
                      .order_by(Product.id)).first()
        assert p is not None
        return p.id or 0, p.slug, p.title


def _row(kernel: Kernel, post_id: int) -> dict[str, Any]:
    return social_posts.get(kernel, post_id)


def test_publish_a_product_now_on_mastodon(shop: Kernel, fake: FakeMastodon) -> None:
    pid, slug, title = _product(shop)
    with transaction(shop.factory) as s:  # the product's first image, hosted where the plugin may fetch it
        s.execute(ProductImage.__table__.delete().where(ProductImage.product_id == pid))  # type: ignore[attr-defined]
        s.add(ProductImage(product_id=pid, path=f"{fake.url}/images/mug.jpg", position=0))
    assert social_posts.networks(shop) == {"mastodon": "mastodon"}
    [post] = social_posts.schedule(shop, ["mastodon"], product_id=pid, actor="owner@shop.test")
    assert post["status"] == "scheduled" and post["text"].startswith(title) and post["plugin"] == "mastodon"
    assert post["link"] == f"{shop.settings.base_url}/shop/p/{slug}"

    report = social_posts.publish_due(shop, ids=[post["id"]])

    assert report.published == [post["id"]]
    done = _row(shop, post["id"])
    status = fake.statuses[done["remote_id"]]
    assert done["status"] == "published" and done["url"] == status["url"] and done["published_at"]
    assert done["attempts"] == 1 and done["error"] == ""
    assert f"/shop/p/{slug}" in status["content"] and title in status["content"]
    [media] = status["media_attachments"]
    assert media["url"]
    assert social_posts.publish_due(shop).published == []  # published once, not again


def test_product_defaults_price_link_and_media_url(shop: Kernel) -> None:
    pid, slug, title = _product(shop)
    with transaction(shop.factory) as s:
        s.execute(ProductImage.__table__.delete().where(ProductImage.product_id == pid))  # type: ignore[attr-defined]
        s.add(ProductImage(product_id=pid, path="products/mug-2.jpg", position=2))
        s.add(ProductImage(product_id=pid, path="products/mug-1.jpg", position=1))
        prices = [v.price_amount for v in s.scalars(select(Variant).where(Variant.product_id == pid))]
    d = social_posts.product_defaults(shop, pid)
    base = shop.settings.base_url.rstrip("/")
    assert d["image_url"] == f"{base}/media/products/mug-1.jpg" and d["link"] == f"{base}/shop/p/{slug}"
    assert d["text"].startswith(title) and f"{min(prices) // 100}." in d["text"]
    with pytest.raises(NotFound):
        social_posts.product_defaults(shop, 999_999)


def test_scheduled_posts_wait_for_their_time(shop: Kernel, fake: FakeMastodon) -> None:
    now = datetime.now(timezone.utc)
    [past] = social_posts.schedule(shop, ["mastodon"], text="Yesterday's news", when=now - timedelta(hours=1))
    [future] = social_posts.schedule(shop, ["mastodon"], text="Sale tomorrow", when=now + timedelta(days=1))
    assert future["scheduled_for"] == (now + timedelta(days=1)).isoformat()

    assert social_posts.publish_due(shop).published == [past["id"]]
    assert _row(shop, future["id"])["status"] == "scheduled" and len(fake.statuses) == 1

    later = social_posts.publish_due(shop, now + timedelta(days=1, seconds=1))
    assert later.published == [future["id"]] and len(fake.statuses) == 2


def test_a_refusal_is_retried_then_kept_with_the_networks_message(shop: Kernel, fake: FakeMastodon) -> None:
    # 480 characters plus the link the plugin appends: over Mastodon's 500
    [post] = social_posts.schedule(shop, ["mastodon"], text="x" * 480, link="https://shop.example/p/a-long-link")
    now = datetime.now(timezone.utc)
    first = social_posts.publish_due(shop, now)
    row = _row(shop, post["id"])
    assert first.retrying == [post["id"]] and row["status"] == "scheduled" and row["attempts"] == 1
    assert row["error"] == "Mastodon: Validation failed: Text character limit of 500 exceeded"
    assert social_posts.publish_due(shop, now + timedelta(seconds=5)).retrying == []  # backing off
    assert social_posts.publish_due(shop, now + timedelta(hours=1)).retrying == [post["id"]]
    last = social_posts.publish_due(shop, now + timedelta(hours=2))
    row = _row(shop, post["id"])
    assert last.failed == [post["id"]] and row["status"] == "failed" and row["attempts"] == 3
    assert "character limit of 500 exceeded" in row["error"] and "plugin" not in row["error"]
    assert social_posts.publish_due(shop, now + timedelta(days=1)).failed == []  # failed is final
    assert fake.statuses == {}


def test_cancel_only_while_scheduled(shop: Kernel, fake: FakeMastodon) -> None:
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    [post] = social_posts.schedule(shop, ["mastodon"], text="Maybe", when=later)
    assert social_posts.cancel(shop, post["id"])["status"] == "cancelled"
    assert social_posts.publish_due(shop, later + timedelta(minutes=1)).published == []
    with pytest.raises(Conflict, match="only a scheduled post"):
        social_posts.cancel(shop, post["id"])
    [now_post] = social_posts.schedule(shop, ["mastodon"], text="Now")
    social_posts.publish_due(shop, ids=[now_post["id"]])
    with pytest.raises(Conflict, match="is published"):
        social_posts.cancel(shop, now_post["id"])
    with pytest.raises(NotFound):
        social_posts.cancel(shop, 999_999)
    assert len(fake.statuses) == 1


@pytest.mark.parametrize(("kw", "field"), [
    ({"text": "  "}, "text"),
    ({"text": "x" * 501}, "text"),
    ({"networks": ["myspace"]}, "networks"),
    ({"networks": []}, "networks"),
    ({"link": "javascript:alert(1)"}, "link"),
    ({"image_url": "ftp://shop.example/a.jpg"}, "image_url"),
    ({"when": datetime.now(timezone.utc) + timedelta(days=400)}, "scheduled_for"),
    ({"when": datetime(2030, 1, 1, 9, 0)}, "scheduled_for"),
    ({"product_id": 999_999}, "product_id"),
])
def test_validation_names_the_field(shop: Kernel, kw: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"networks": ["mastodon"], "text": "hello", **kw}
    with pytest.raises((ValidationFailed, NotFound)) as err:
        social_posts.schedule(shop, **args)
    assert err.value.field == field
    assert social_posts.page(shop)[1] == 0


# ---- a test network -------------------------------------------------------------------
class Publisher:
    """Publishes on "testnet"; records each call; ``fail`` makes it refuse."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay_s = delay_s
        self.fail = ""
        self._lock = threading.Lock()

    @hookimpl
    def social_networks(self, ctx: Any) -> list[str]:
        return ["testnet"]

    @hookimpl
    def social_publish(self, ctx: Any, network: str, post: SocialPost) -> PublishedPost:
        if self.fail:
            raise RuntimeError(self.fail)
        time.sleep(self.delay_s)
        with self._lock:
            self.calls.append(post.text)
            n = len(self.calls)
        return PublishedPost(network=network, remote_id=f"t{n}", url=f"https://testnet.example/t{n}")


def _with_publisher(kernel: Kernel, plugin: Publisher) -> Kernel:
    kernel.host.add(plugin, manifest("publisher", capabilities=["social"]))
    kernel.host.enable("publisher", persist=False)
    return kernel


def test_two_publishers_at_once_publish_each_post_once(tmp_path: Path, db_url: str) -> None:
    """Two processes (two kernels, own engines) run the schedule at the same moment."""
    plugins = [Publisher(delay_s=0.01), Publisher(delay_s=0.01)]
    kernels = [_with_publisher(build_kernel(tmp_path / f"k{n}", db_url, discover=False, default_enabled=()).boot(),
                               plugins[n]) for n in range(2)]
    try:
        for i in range(15):  # claimed 20 at a time: both publishers get work in the same rounds
            social_posts.schedule(kernels[0], ["testnet"], text=f"post {i}")
        barrier = threading.Barrier(2)
        reports: list[social_posts.PublishReport] = []

        def run(k: Kernel) -> None:
            barrier.wait(timeout=10)
            for _ in range(3):
                reports.append(social_posts.publish_due(k))

        threads = [threading.Thread(target=run, args=(k,)) for k in kernels]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        texts = plugins[0].calls + plugins[1].calls
        assert sorted(texts) == sorted(f"post {i}" for i in range(15))  # each exactly once
        assert sum(len(r.published) for r in reports) == 15
        items, total = social_posts.page(kernels[1], status="published")
        assert total == 15 and all(i["url"].startswith("https://testnet.example/") for i in items)
    finally:
        for k in kernels:
            k.close()


def test_a_publisher_that_died_is_replaced_after_its_lease(kernel: Kernel) -> None:
    _with_publisher(kernel, Publisher())
    [post] = social_posts.schedule(kernel, ["testnet"], text="hello")
    now = datetime.now(timezone.utc)
    assert social_posts.claim(kernel, now) == [post["id"]]  # then the process died
    assert social_posts.publish_due(kernel, now).published == []
    assert _row(kernel, post["id"])["status"] == "publishing"
    with pytest.raises(Conflict):  # too late: it may be on the network already
        social_posts.cancel(kernel, post["id"])
    later = now + timedelta(seconds=social_posts.LEASE_S + 1)
    assert social_posts.publish_due(kernel, later).published == [post["id"]]


def test_the_maintenance_job_publishes_due_posts(kernel: Kernel) -> None:
    plugin = Publisher()
    _with_publisher(kernel, plugin)
    assert "social_posts_queued" not in maintenance(kernel)  # nothing due: nothing queued
    [post] = social_posts.schedule(kernel, ["testnet"], text="from the schedule")
    assert maintenance(kernel)["social_posts_queued"] == 1  # on the job pool, not in this round
    deadline = time.monotonic() + 10
    while _row(kernel, post["id"])["status"] != "published" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _row(kernel, post["id"])["status"] == "published" and plugin.calls == ["from the schedule"]


def test_an_error_is_redacted(kernel: Kernel) -> None:
    secret = "tok_abcdefghijklmnopqrstuvwx"
    creds = kernel.services["credentials"]
    creds.store.create_account("publisher", "account", kind="api_key", provider="testnet")
    creds.store.put("publisher", "account", "api_key", secret)  # a secret the kernel knows
    plugin = Publisher()
    plugin.fail = f"refused for token {secret}"
    _with_publisher(kernel, plugin)
    [post] = social_posts.schedule(kernel, ["testnet"], text="hello")
    social_posts.publish_due(kernel)
    error = _row(kernel, post["id"])["error"]
    assert "refused for token" in error and secret not in error


def test_an_image_the_plugin_may_not_fetch_is_refused_when_scheduling(shop: Kernel) -> None:
    """A product image under the shop's own /media is on a host the plugin was not granted:
    the merchant hears it now, with the right to grant, not from a failed post later."""
    pid, _, _ = _product(shop)
    with transaction(shop.factory) as s:
        s.execute(ProductImage.__table__.delete().where(ProductImage.product_id == pid))  # type: ignore[attr-defined]
        s.add(ProductImage(product_id=pid, path="products/mug.jpg", position=0))
    with pytest.raises(ValidationFailed, match=r"grant it host:127\.0\.0\.1:8000") as refused:
        social_posts.schedule(shop, ["mastodon"], product_id=pid)
    assert refused.value.field == "image_url"
    with read_only(shop.factory) as s:
        assert s.scalars(select(SocialPostRecord)).all() == []  # nothing half-scheduled
    shop.services["credentials"].grant("mastodon", ["host:127.0.0.1:8000"], "admin")
    [post] = social_posts.schedule(shop, ["mastodon"], product_id=pid)
    assert post["image_url"] == f"{shop.settings.base_url}/media/products/mug.jpg"
