"""Demo staff for ``comptoir demo``: one account per role, so a newcomer can try each trade."""
from __future__ import annotations

from typing import Any, Iterator

from sqlalchemy import select

from comptoir.kernel.db import transaction
from comptoir.kernel.staff.models import StaffUser
from comptoir.kernel.staff.rights import ROLES
from comptoir.kernel.staff.service import create_staff

DEMO_PASSWORD = "comptoir-demo"


def prepare(kernel: Any) -> Iterator[str]:
    """Create ``<role>@demo.shop`` accounts when missing; yield how to sign in."""
    with transaction(kernel.factory) as s:
        for role in ROLES:
            email = f"{role}@demo.shop"
            if s.scalar(select(StaffUser.id).where(StaffUser.email == email)) is None:
                create_staff(s, email, role=role, password=DEMO_PASSWORD, name=f"Demo {role}")
    yield "admin sign-in (demo accounts, one per role):"
    for role in ROLES:
        yield f"  {role + '@demo.shop':<22} password {DEMO_PASSWORD}"
    from comptoir.kernel.web.demo_market import start

    yield from start(kernel)  # the in-process marketplace behind the App store (when serving)
    from comptoir.kernel.web import demo_providers

    yield from demo_providers.start()  # Stripe and Colissimo test servers to connect the plugins to
