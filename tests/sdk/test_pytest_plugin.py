"""The fixtures shipped to plugin authors work as documented."""
from __future__ import annotations

import httpx
from sqlalchemy import func, select

from comptoir.kernel.domain import Product
from comptoir.sdk.pytest_plugin import comptoir_kernel, fake_customer, fake_provider  # noqa: F401
from comptoir.sdk.testing import FakeProvider


def test_test_kernel_has_demo_data_and_no_other_plugin(comptoir_kernel) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with comptoir_kernel.factory() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 3
    assert comptoir_kernel.host.records == {}


def test_fake_customer_is_in_the_shop(comptoir_kernel, fake_customer) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    assert fake_customer.address.country == "FR"
    from comptoir.kernel.domain import Customer

    with comptoir_kernel.factory() as s:
        assert s.get(Customer, fake_customer.id).email == fake_customer.email


def test_fake_provider_answers_and_records(fake_provider: FakeProvider) -> None:  # noqa: F811
    fake_provider.add("POST", "/v1/rates", json_body={"price": 590})
    r = httpx.post(fake_provider.url + "/v1/rates", json={"kg": 2})
    assert r.json() == {"price": 590}
    assert httpx.get(fake_provider.url + "/nope").status_code == 404
    assert [(x.method, x.path, x.json()) for x in fake_provider.requests][0] == ("POST", "/v1/rates", {"kg": 2})
