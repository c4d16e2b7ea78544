"""SEPA Direct Debit mandates and recurring (off-session) charges.

A mandate is set up once (https://stripe.com/docs/payments/sepa-debit/set-up-payment):
``POST /v1/customers`` then ``POST /v1/setup_intents`` with ``payment_method_types[]=
sepa_debit``, ``confirm=true``, ``usage=off_session`` and the customer's online
acceptance (``mandate_data[customer_acceptance]``: IP address and browser, which the
mandate must record); the resulting payment method becomes the customer's default
(``invoice_settings[default_payment_method]``). Each later charge is a PaymentIntent
confirmed off session against that method; a SEPA debit answers ``processing`` and
settles days later through the ``payment_intent.succeeded`` webhook.

The kernel names the mandate by ``customer_ref``: ``cus_…`` (its default method) or
``cus_…/pm_…`` (one stored method).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from comptoir.sdk import Money, PaymentResult

from comptoir_stripe_payments.client import StripeClient, StripeError


@dataclass(frozen=True)
class Mandate:
    """What the shop keeps to charge the customer again: ``customer_ref`` goes to
    ``payment_charge_stored_method``."""

    customer_ref: str
    customer: str
    payment_method: str
    mandate: str
    status: str


def acceptance(meta: Mapping[str, str]) -> dict[str, Any]:
    """``mandate_data`` for an online acceptance (IP and user agent of the customer)."""
    return {"customer_acceptance": {"type": "online", "online": {
        "ip_address": meta.get("ip_address") or "0.0.0.0", "user_agent": meta.get("user_agent") or "unknown"}}}


def setup_sepa_mandate(client: StripeClient, *, email: str, name: str, key: str, iban: str = "",
                       payment_method: str = "", ip_address: str = "", user_agent: str = "") -> Mandate:
    """Create the customer and a confirmed off-session SEPA mandate; idempotent on ``key``."""
    if not (iban or payment_method):
        raise ValueError("a SEPA mandate needs an IBAN or a payment method from Stripe.js")
    customer = client.post("/v1/customers", {"email": email, "name": name, "metadata": {"comptoir_key": key}},
                           idempotency_key=f"{key}:customer")
    params: dict[str, Any] = {
        "customer": customer["id"], "payment_method_types": ["sepa_debit"], "usage": "off_session",
        "confirm": True, "mandate_data": acceptance({"ip_address": ip_address, "user_agent": user_agent}),
    }
    if payment_method:
        params["payment_method"] = payment_method
    else:
        params["payment_method_data"] = {"type": "sepa_debit", "sepa_debit": {"iban": iban},
                                         "billing_details": {"name": name, "email": email}}
    setup = client.post("/v1/setup_intents", params, idempotency_key=f"{key}:setup")
    if setup.get("status") != "succeeded":
        error = setup.get("last_setup_error") or {}
        raise StripeError(str(error.get("message") or f"the mandate was not confirmed ({setup.get('status')})"),
                          code=str(error.get("code") or ""))
    pm = str(setup["payment_method"])
    client.post(f"/v1/customers/{customer['id']}", {"invoice_settings": {"default_payment_method": pm}},
                idempotency_key=f"{key}:default")
    return Mandate(customer_ref=f"{customer['id']}/{pm}", customer=str(customer["id"]), payment_method=pm,
                   mandate=str(setup.get("mandate") or ""), status=str(setup["status"]))


def charge(client: StripeClient, customer_ref: str, amount: Money, key: str) -> PaymentResult:
    """Charge a stored method off session; idempotent on ``key``."""
    from comptoir_stripe_payments.plugin import result_of

    customer, _, pm = customer_ref.partition("/")
    if not customer.startswith("cus_"):
        raise ValueError(f"{customer_ref!r} is not a Stripe customer reference (cus_… or cus_…/pm_…)")
    if not pm:
        cust = client.get(f"/v1/customers/{customer}")
        pm = str((cust.get("invoice_settings") or {}).get("default_payment_method") or "")
        if not pm:
            raise StripeError(f"customer {customer} has no default payment method or mandate at Stripe",
                              code="no_default_payment_method")
    method = client.get(f"/v1/payment_methods/{pm}")
    kind = str(method.get("type") or "card")
    pi = client.post("/v1/payment_intents", {
        "amount": amount.amount, "currency": amount.currency.lower(), "customer": customer, "payment_method": pm,
        "payment_method_types": [kind], "off_session": True, "confirm": True,
        "metadata": {"comptoir_key": key, "comptoir_recurring": "true"},
    }, idempotency_key=key)
    return result_of(pi)


def routes(ctx: Any) -> list[Any]:
    """Staff route ``POST /plugins/stripe-payments/mandates``: set up a SEPA mandate.

    JSON body: ``email``, ``name``, ``iban`` or ``payment_method``, ``ip_address``,
    ``user_agent``, ``key`` (idempotency). Answers the ``customer_ref`` to charge later.
    """
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            mandate = await run_in_threadpool(
                setup_sepa_mandate, StripeClient(ctx), email=str(body["email"]), name=str(body.get("name", "")),
                key=str(body["key"]), iban=str(body.get("iban", "")),
                payment_method=str(body.get("payment_method", "")), ip_address=str(body.get("ip_address", "")),
                user_agent=str(body.get("user_agent", "")))
        except KeyError as exc:
            return JSONResponse({"error": f"missing field {exc.args[0]}"}, status_code=422)
        except (StripeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=402)
        return JSONResponse({"customer_ref": mandate.customer_ref, "mandate": mandate.mandate,
                             "status": mandate.status})

    return [Route("/mandates", create, methods=["POST"])]
