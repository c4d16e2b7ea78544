"""In Chromium: a marketing manager publishes a product on Mastodon from the Social page
(the local Mastodon gets the status with its image), schedules a story for tomorrow and
cancels it."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from tests.browser.conftest import seeded_kernel, serve, staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
pytest.importorskip("comptoir_mastodon")

from comptoir.kernel.db import transaction  # noqa: E402
from comptoir.kernel.domain import Product, ProductImage  # noqa: E402
from plugins.mastodon.tests.conftest import connect as connect_mastodon  # noqa: E402
from plugins.mastodon.tests.fake_mastodon import FakeMastodon  # noqa: E402


@pytest.fixture(scope="module")
def mastodon() -> Iterator[FakeMastodon]:
    fake = FakeMastodon().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, mastodon: FakeMastodon) -> Iterator[tuple[str, str]]:
    """(base URL, title of the product whose photo is on a host the plugin may reach)."""
    with seeded_kernel(tmp_path_factory.mktemp("social")) as kernel:
        kernel.host.enable("mastodon")
        connect_mastodon(kernel, mastodon)
        with transaction(kernel.factory) as s:
            first = s.scalars(select(Product).where(Product.active).order_by(Product.title)).first()
            assert first is not None
            title = first.title
            s.execute(ProductImage.__table__.delete().where(ProductImage.product_id == first.id))  # type: ignore[attr-defined]
            s.add(ProductImage(product_id=first.id, path=f"{mastodon.url}/images/photo.jpg", position=0))
        with serve(kernel, start_jobs=False) as base:
            yield base, title


def test_marketing_publishes_a_product_and_cancels_a_scheduled_story(
        page: Any, shop: tuple[str, str], mastodon: FakeMastodon) -> None:
    base, title = shop
    staff_sign_in(page, base, "marketing@shop.test")
    page.click("nav.side >> text=Social")
    page.wait_for_url(re.compile(r".*/admin/social"))

    page.select_option("select[name=product_id]", label=title)
    page.click("button[data-action=publish]")
    published = page.locator("[data-status=published]").first
    published.wait_for()
    [status] = list(mastodon.statuses.values())
    assert status["content"].startswith(f"<p>{title}") and status["media_attachments"]
    assert page.locator(f"a[href='{status['url']}']").count() == 1

    page.fill("textarea[name=text]", "Open house on Saturday: come taste the new roast!")
    page.check("input[name=mode][value=later]")
    tomorrow = datetime.now() + timedelta(days=1)  # the browser's local time, as a merchant types it
    page.fill("input[name=scheduled_for]", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.click("button[data-action=publish]")
    page.locator("[data-status=scheduled]").first.wait_for()
    assert len(mastodon.statuses) == 1  # not yet
    page.click("button[data-action=cancel]")
    page.locator("[data-status=cancelled]").first.wait_for()
    assert page.locator("[data-status=scheduled]").count() == 0
