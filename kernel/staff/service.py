"""Staff accounts and API tokens: create, sign in, sign out everywhere, scopes, revoke."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import transaction
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ComptoirError, Conflict, NotFound, ValidationFailed
from comptoir.kernel.services.checkout import validate_email
from comptoir.kernel.staff import passwords, throttle
from comptoir.kernel.staff.models import ApiToken, StaffUser
from comptoir.kernel.staff.rights import RIGHTS, check_rights, check_role, role_rights

TOKEN_PREFIX = "cpt_"


class SignInFailed(ComptoirError):
    status = 401
    title = "Sign-in failed"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a staff member (session) or an API token."""

    kind: str  # staff | token
    id: int
    name: str  # e-mail for staff, token name for tokens
    role: str
    rights: frozenset[str]
    location_id: int | None = None

    def can(self, right: str) -> bool:
        return right in self.rights


def create_staff(session: Session, email: str, *, role: str, password: str = "", name: str = "") -> StaffUser:
    email = validate_email(email)
    check_role(role)
    if session.scalars(select(StaffUser.id).where(StaffUser.email == email)).first() is not None:
        raise Conflict(f"a staff account {email} exists", field="email")
    pw = passwords.hash_password(passwords.check_strength(password)) if password else ""
    user = StaffUser(email=email, name=name or email.split("@")[0], role=role, password_hash=pw)
    session.add(user)
    session.flush()
    return user


def get_staff(session: Session, email_or_id: str | int) -> StaffUser:
    if isinstance(email_or_id, int):
        user = session.get(StaffUser, email_or_id)
    else:
        user = session.scalars(select(StaffUser).where(StaffUser.email == email_or_id.strip().lower())).first()
    if user is None:
        raise NotFound(f"no staff account {email_or_id}", field="email")
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    user.password_hash = passwords.hash_password(passwords.check_strength(password))
    user.session_generation += 1  # a new password ends every other session
    session.add(user)


def sign_out_everywhere(factory: sessionmaker[Session], user_id: int) -> None:
    with transaction(factory) as s:
        s.execute(update(StaffUser).where(StaffUser.id == user_id)
                  .values(session_generation=StaffUser.session_generation + 1))


def authenticate(factory: sessionmaker[Session], email: str, password: str, client: str = "") -> StaffUser:
    """Check a password, throttled per account and per client address."""
    email = (email or "").strip().lower()
    keys = [f"staff:{email}"] + ([f"ip:{client}"] if client else [])
    throttle.check(factory, keys)
    with factory() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.email == email)).first()
        stored = user.password_hash if user is not None else ""
    ok = passwords.verify_password(stored, password or "")
    if not ok or user is None or not user.active:
        throttle.failed(factory, keys)
        raise SignInFailed("wrong e-mail or password", field="password")
    throttle.succeeded(factory, keys[:1])
    with transaction(factory) as s:
        row = s.get(StaffUser, user.id)
        assert row is not None
        row.last_login_at = utcnow()
        if passwords.needs_rehash(row.password_hash):
            row.password_hash = passwords.hash_password(password)
        return row


def staff_principal(session: Session, user: StaffUser) -> Principal:
    return Principal("staff", user.id or 0, user.email, user.role, role_rights(session, user.role))


# ---- API tokens -------------------------------------------------------------------
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, scopes: list[str], *, created_by: str,
                 location_id: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token text, shown once and never stored."""
    if not name.strip() or len(name) > 100:
        raise ValidationFailed("a token needs a name of 1 to 100 characters", field="name")
    clean = check_rights(scopes, "scopes")
    if not clean:
        raise ValidationFailed(f"give at least one scope among {', '.join(RIGHTS)}", field="scopes")
    if "staff:manage" in clean:
        raise ValidationFailed("tokens cannot manage staff; sign in as an owner for that", field="scopes")
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name.strip(), prefix=text[:10], token_hash=_digest(text), scopes=clean,
                   location_id=location_id, created_by=created_by)
    session.add(row)
    session.flush()
    return row, text


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
    return row


def token_principal(session: Session, text: str) -> Principal | None:
    """The principal of a bearer token, or None when unknown or revoked."""
    if not text.startswith(TOKEN_PREFIX) or len(text) > 200:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _digest(text))).first()
    if row is None or row.revoked_at is not None:
        return None
    return Principal("token", row.id or 0, row.name, "token", frozenset(row.scopes), row.location_id)
