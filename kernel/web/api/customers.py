"""Customer accounts on the storefront: sign-up, sign-in, profile, order history."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from comptoir.kernel.db import read_only
from comptoir.kernel.domain import Customer, Order
from comptoir.kernel.errors import NotFound
from comptoir.kernel.services import loyalty
from comptoir.kernel.web.api import schemas as S
from comptoir.kernel.web.api.registry import Api, Call, Page, limit_offset
from comptoir.kernel.web.api.storefront import order_dict
from comptoir.kernel.web.auth.customers import sign_in, sign_up

api = Api()
P = "/api/v1/customers"


def customer_dict(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "email": c.email, "name": c.name, "segment": c.segment,
            "marketing_consent": c.marketing_consent}


def _client(call: Call) -> str:
    return call.request.client.host if call.request.client else ""


@api.op("POST", P, summary="Sign up", tag="customers", body=S.SignUpIn, response=S.SessionOut, status=201)
def customer_sign_up(call: Call) -> dict[str, Any]:
    """Create a customer account; returns a token to send as X-Customer-Token."""
    b = call.body
    c = sign_up(call.kernel.factory, b.email, b.password, b.name, b.marketing_consent)
    return {"customer": customer_dict(c), "token": call.request.app.state.customer_tokens.issue(c.id or 0)}


@api.op("POST", f"{P}/sign-in", summary="Sign in", tag="customers", body=S.SignInIn, response=S.SessionOut)
def customer_sign_in(call: Call) -> dict[str, Any]:
    """Throttled: repeated failures lock the account and the client address for a while (429)."""
    c = sign_in(call.kernel.factory, call.body.email, call.body.password, _client(call))
    return {"customer": customer_dict(c), "token": call.request.app.state.customer_tokens.issue(c.id or 0)}


@api.op("GET", f"{P}/me", summary="My account", tag="customers", customer=True, response=S.CustomerOut)
def customer_me(call: Call) -> dict[str, Any]:
    with read_only(call.kernel.factory) as s:
        c = s.get(Customer, call.customer_id)
        if c is None:
            raise NotFound("this account no longer exists", field="x-customer-token")
        return {**customer_dict(c), "loyalty_points": loyalty.balance(s, c.id or 0)}


@api.op("GET", f"{P}/me/orders", summary="My orders", tag="customers", customer=True, paginated=True,
        response=S.page_of(S.OrderOut), query=limit_offset(20))
def customer_orders(call: Call) -> Page:
    lim, off = call.query["limit"], call.query["offset"]
    with read_only(call.kernel.factory) as s:
        total = s.scalar(select(func.count()).select_from(Order).where(Order.customer_id == call.customer_id)) or 0
        rows = s.scalars(select(Order).where(Order.customer_id == call.customer_id)
                         .order_by(Order.id.desc()).limit(lim).offset(off))  # type: ignore[union-attr]
        return Page([order_dict(s, o) for o in rows], total, lim, off)
