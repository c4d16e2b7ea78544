"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from comptoir.kernel.errors import ValidationFailed

_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
MIN_LENGTH = 10
# A dummy hash verified when the account does not exist, so timing does not tell.
_DUMMY = _HASHER.hash("comptoir-no-such-account")


def check_strength(password: str, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise ValidationFailed(f"a password needs at least {MIN_LENGTH} characters", field=field)
    if len(password) > 1024:
        raise ValidationFailed("a password has at most 1024 characters", field=field)
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches; an empty ``stored`` (SSO-only account) never matches."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and bool(stored)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return False
