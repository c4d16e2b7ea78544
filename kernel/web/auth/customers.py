"""Shopper identity: sign-up, sign-in and signed customer tokens (``X-Customer-Token``)."""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import transaction
from comptoir.kernel.domain import Customer
from comptoir.kernel.errors import Conflict
from comptoir.kernel.services.checkout import validate_email
from comptoir.kernel.staff import passwords, throttle
from comptoir.kernel.staff.service import SignInFailed

TOKEN_MAX_AGE_S = 30 * 24 * 3600


class CustomerTokens:
    def __init__(self, secret: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="comptoir-customer")

    def issue(self, customer_id: int) -> str:
        return self._s.dumps({"c": customer_id})

    def read(self, token: str) -> int | None:
        try:
            data = self._s.loads(token, max_age=TOKEN_MAX_AGE_S)
        except BadSignature:
            return None
        return int(data["c"]) if isinstance(data, dict) and isinstance(data.get("c"), int) else None


def sign_up(factory: sessionmaker[Session], email: str, password: str, name: str = "",
            marketing_consent: bool = False) -> Customer:
    """Create an account, or set a password on a guest customer who has none yet."""
    email = validate_email(email)
    passwords.check_strength(password)
    with transaction(factory) as s:
        c = s.scalars(select(Customer).where(Customer.email == email)).first()
        if c is not None and c.password_hash:
            raise Conflict("an account with this e-mail exists; sign in instead", field="email")
        if c is None:
            c = Customer(email=email)
        c.name = name or c.name
        c.password_hash = passwords.hash_password(password)
        c.marketing_consent = marketing_consent
        s.add(c)
        s.flush()
        return c


def sign_in(factory: sessionmaker[Session], email: str, password: str, client: str = "") -> Customer:
    email = (email or "").strip().lower()
    keys = [f"customer:{email}"] + ([f"ip:{client}"] if client else [])
    throttle.check(factory, keys)
    with factory() as s:
        c = s.scalars(select(Customer).where(Customer.email == email)).first()
    if not passwords.verify_password(c.password_hash if c else "", password or "") or c is None:
        throttle.failed(factory, keys)
        raise SignInFailed("wrong e-mail or password", field="password")
    throttle.succeeded(factory, keys[:1])
    return c
