"""Helpers for the web tests: seed a small shop, make tokens, sign in through the form."""
from __future__ import annotations

import random
from typing import Any

from starlette.testclient import TestClient

from comptoir.kernel import demo
from comptoir.kernel.db import transaction
from comptoir.kernel.runtime import Kernel
from comptoir.kernel.staff.service import create_staff, create_token

PASSWORD = "correct horse battery"


def seed(kernel: Kernel, products: int = 24, orders: int = 4) -> None:
    rng = random.Random(3)
    demo.seed_catalog(kernel, products=products, rng=rng)
    people = demo.seed_customers(kernel, customers=4, rng=rng)
    demo.seed_orders(kernel, people, orders=orders, rng=rng)
    with transaction(kernel.factory) as s:
        for role in ("owner", "manager", "marketing", "support", "picker"):
            create_staff(s, f"{role}@shop.test", role=role, password=PASSWORD)


def token(kernel: Kernel, *scopes: str, location_id: int | None = None) -> str:
    with transaction(kernel.factory) as s:
        return create_token(s, "test", list(scopes), created_by="tests", location_id=location_id)[1]


def sign_in(c: TestClient, email: str, password: str = PASSWORD) -> Any:
    page = c.get("/admin/login")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return c.post("/admin/login", data={"email": email, "password": password, "csrf": csrf, "next": "/admin"},
                  follow_redirects=False)


def csrf_of(c: TestClient, path: str = "/admin") -> str:
    return c.get(path).text.split('name="csrf" content="', 1)[1].split('"', 1)[0]
