"""Who may call an operation: bearer tokens, staff sessions (with CSRF), customers."""
from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from comptoir.kernel.staff.models import StaffUser
from comptoir.kernel.staff.service import Principal, staff_principal, token_principal
from comptoir.kernel.web.problems import Forbidden, Unauthorized

if TYPE_CHECKING:
    from comptoir.kernel.web.api.registry import Call, Operation

SAFE = ("GET", "HEAD", "OPTIONS")


def bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def session_staff(request: Request, factory: Any) -> tuple[StaffUser, Principal] | None:
    """The signed-in staff member of this session, if the session is still valid.

    A session is valid while the account is active and its generation matches the
    account's: "sign out everywhere" and a password change bump the generation."""
    sess = request.scope.get("session")
    if not sess or "staff_id" not in sess:
        return None
    with factory() as s:
        user = s.get(StaffUser, int(sess["staff_id"]))
        if user is None or not user.active or user.session_generation != sess.get("gen"):
            sess.clear()
            return None
        return user, staff_principal(s, user)


def csrf_ok(request: Request, sent: str | None) -> bool:
    sess = request.scope.get("session") or {}
    want = sess.get("csrf", "")
    return bool(want) and bool(sent) and hmac.compare_digest(str(want), str(sent))


def principal_for(request: Request, factory: Any) -> Principal | None:
    token = bearer(request)
    if token:
        with factory() as s:
            p = token_principal(s, token)
        if p is None:
            raise Unauthorized("the API token is unknown or revoked", field="authorization")
        return p
    found = session_staff(request, factory)
    if found is None:
        return None
    if request.method not in SAFE and not csrf_ok(request, request.headers.get("x-csrf-token")):
        raise Forbidden("send the session's CSRF token in the X-CSRF-Token header", field="x-csrf-token")
    return found[1]


def authorize(op: "Operation", call: "Call") -> None:
    """Fill ``call.principal``/``call.customer_id``; refuse with 401/403 problems."""
    factory = call.kernel.factory
    if op.right:
        p = principal_for(call.request, factory)
        if p is None:
            raise Unauthorized("sign in, or send an API token as 'Authorization: Bearer …'",
                               field="authorization")
        if not p.can(op.right):
            raise Forbidden(f"this needs the right {op.right!r}, which {p.name} does not have", field="authorization")
        call.principal = p
    if op.customer:
        tokens = call.request.app.state.customer_tokens
        cid = tokens.read(call.request.headers.get("x-customer-token", ""))
        if cid is None:
            raise Unauthorized("sign in as a customer and send the token in X-Customer-Token",
                               field="x-customer-token")
        call.customer_id = cid
