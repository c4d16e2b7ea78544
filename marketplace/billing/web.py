"""Billing's JSON API and pages, mounted into the marketplace app (``routes``).

Who authenticates how: the operator with the marketplace admin token, a vendor with its
vendor token, a shop with the billing token from ``POST /api/v1/billing/shops`` — all as
``Authorization: Bearer``. Pages take the token in a POST form body, never in a URL.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.money import Money
from comptoir.marketplace.billing import statements as stm
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.billing import usage, views
from comptoir.marketplace.billing.service import Billing, today_utc
from comptoir.marketplace.errors import ValidationFailed

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["money"] = lambda amount, currency: Money(int(amount), currency).format()


def _billing(request: Request) -> Billing:
    return Billing.of(request.app.state.market)


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


async def _json(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except ValueError:
        raise ValidationFailed("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object")
    return data


def _operator(request: Request) -> None:
    request.app.state.market.check_operator(_bearer(request))


def _vendor(request: Request) -> Any:
    return request.app.state.market.vendor_for_token(_bearer(request))


def _shop(request: Request) -> str:
    return _billing(request).shop_for_token(_bearer(request))


def _day(value: Any) -> date:
    """``today`` unless the operator names a date (to run a missed day again)."""
    if not value:
        return today_utc()
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed("date must look like 2026-11-30", field="date") from None


def _int(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"{field}: an integer", field=field)
    return value


def _document(request: Request, kind: str, data: dict[str, Any], rows: list[dict[str, Any]],
              columns: list[str], filename: str) -> Response:
    fmt = request.query_params.get("format", "json")
    if fmt == "csv":
        return PlainTextResponse(stm.to_csv(rows, columns), media_type="text/csv",
                                 headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
    if fmt == "html":
        return templates.TemplateResponse(request, f"{kind}.html", data)
    return JSONResponse(data)


# ---- operator --------------------------------------------------------------------------
async def policy(request: Request) -> JSONResponse:
    b = _billing(request)
    if request.method == "PUT":
        _operator(request)
        data = await _json(request)
        kw = {k: data[k] for k in ("threshold", "rate_below_bp", "rate_above_bp") if k in data}
        for k, v in kw.items():
            _int(v, k)
        new = b.set_policy(currency=data.get("currency"), set_by="operator", **kw)
        return JSONResponse(new.__dict__)
    return JSONResponse(b.policy()[1].__dict__)


def ledger_view(request: Request) -> JSONResponse:
    _operator(request)
    return JSONResponse(views.operator(_billing(request)))


async def run(request: Request) -> JSONResponse:
    """The daily billing run: renew what is due, charge closed months' usage."""
    _operator(request)
    data = await _json(request) if await request.body() else {}
    day = _day(data.get("date"))
    b = _billing(request)
    renewed = await run_in_threadpool(subs.renew_all, b, day)
    closed = await run_in_threadpool(usage.close_before, b, day)
    return JSONResponse({"date": day.isoformat(), "renewals": renewed, "usage_charges": closed})


async def statements(request: Request) -> Response:
    _operator(request)
    month = request.path_params["month"]
    rows = await run_in_threadpool(stm.statements, _billing(request), month)
    return _document(request, "statements", {"month": month, "statements": rows}, rows, stm.STATEMENT_COLUMNS,
                     f"statements-{month}")


async def payout_runs(request: Request) -> JSONResponse:
    _operator(request)
    b = _billing(request)
    if request.method == "POST":
        data = await _json(request)
        result = await run_in_threadpool(stm.payout_run, b, str(data.get("month", "")), _day(data.get("date")))
        return JSONResponse(result, status_code=200 if result["replay"] else 201)
    return JSONResponse(stm.payout_runs(b))


async def reverse(request: Request) -> JSONResponse:
    _operator(request)
    data = await _json(request)
    amount = data.get("amount")
    txn = _billing(request).reverse(int(request.path_params["charge"]),
                                    None if amount is None else _int(amount, "amount"),
                                    kind=str(data.get("kind", "refund")), memo=str(data.get("memo", ""))[:200])
    return JSONResponse(txn, status_code=201)


# ---- shops (merchants) -----------------------------------------------------------------------
async def register_shop(request: Request) -> JSONResponse:
    data = await _json(request)
    token = _billing(request).register_shop(str(data.get("shop_id", "")))
    return JSONResponse({"shop_id": data["shop_id"], "token": token}, status_code=201)


def me(request: Request) -> JSONResponse:
    return JSONResponse(views.merchant(_billing(request), _shop(request)))


async def subscribe(request: Request) -> JSONResponse:
    shop = _shop(request)
    data = await _json(request)
    view = await run_in_threadpool(subs.install, _billing(request), shop, str(data.get("plugin", "")),
                                   data.get("plan") or None)
    return JSONResponse(view, status_code=201)


async def subscription(request: Request) -> JSONResponse:
    shop, plugin, b = _shop(request), request.path_params["plugin"], _billing(request)
    if request.method == "DELETE":
        return JSONResponse(await run_in_threadpool(subs.uninstall, b, shop, plugin))
    data = await _json(request)
    return JSONResponse(await run_in_threadpool(subs.change_plan, b, shop, plugin, str(data.get("plan", ""))))


async def report_usage(request: Request) -> JSONResponse:
    """A usage record; the key comes from the body or the ``Idempotency-Key`` header.
    201 when new, 200 when that key was already recorded (a retry: nothing changes)."""
    shop = _shop(request)
    data = await _json(request)
    key = str(data.get("idempotency_key") or request.headers.get("idempotency-key", ""))
    created = await run_in_threadpool(usage.record, _billing(request), shop, str(data.get("plugin", "")),
                                      str(data.get("unit", "")), _int(data.get("quantity"), "quantity"), key)
    return JSONResponse({"recorded": created, "idempotency_key": key}, status_code=201 if created else 200)


def invoice(request: Request) -> Response:
    shop, month = _shop(request), request.path_params["month"]
    inv = stm.invoice(_billing(request), shop, month)
    return _document(request, "invoice", inv, inv["lines"], stm.INVOICE_COLUMNS, f"invoice-{shop}-{month}")


# ---- vendors -----------------------------------------------------------------------------
def plans(request: Request) -> JSONResponse:
    return JSONResponse(_billing(request).plans(request.path_params["plugin"]))


async def put_plan(request: Request) -> JSONResponse:
    vendor = _vendor(request)
    data = await _json(request)
    pricing = data.get("pricing")
    if not isinstance(pricing, dict):
        raise ValidationFailed("pricing: an object like the manifest's [tool.comptoir.pricing]", field="pricing")
    return JSONResponse(_billing(request).set_plan(vendor, request.path_params["plugin"], request.path_params["code"],
                                                   pricing, str(data.get("uninstall_rule", ""))))


def revenue(request: Request) -> JSONResponse:
    vendor = _vendor(request)
    return JSONResponse({"vendor": vendor.name, **views.vendor(_billing(request), vendor.id,
                                                               request.query_params.get("month") or None)})


def vendor_statement(request: Request) -> Response:
    vendor, month, b = _vendor(request), request.path_params["month"], _billing(request)
    stm.statements(b, month)
    data = {"vendor": vendor.name, "month": month, "statements": stm.statement_rows(b, month, vendor.id),
            "lines": stm.vendor_lines(b, vendor.id, month)}
    return _document(request, "statement", data, data["lines"], stm.LINE_COLUMNS, f"statement-{vendor.name}-{month}")


# ---- pages --------------------------------------------------------------------------------
async def page(request: Request) -> Response:
    """``/billing/{who}``: GET shows a sign-in form; POST with the token shows the page."""
    who = request.path_params["who"]
    if who not in ("operator", "vendor", "merchant"):
        return HTMLResponse("<h1>Not found</h1>", status_code=404)
    if request.method == "GET":
        return templates.TemplateResponse(request, "login.html", {"who": who, "error": ""})
    form = await request.form()
    token, b, mp = str(form.get("token", "")), _billing(request), request.app.state.market
    try:
        if who == "operator":
            mp.check_operator(token)
            return templates.TemplateResponse(request, "operator.html", {"d": views.operator(b)})
        if who == "vendor":
            vendor = mp.vendor_for_token(token)
            return templates.TemplateResponse(request, "vendor.html", {
                "name": vendor.name, "d": views.vendor(b, vendor.id, str(form.get("month", "")) or None)})
        shop = b.shop_for_token(token)
        return templates.TemplateResponse(request, "merchant.html", {"d": views.merchant(b, shop)})
    except ComptoirError as exc:
        return templates.TemplateResponse(request, "login.html", {"who": who, "error": exc.message},
                                          status_code=exc.status)


routes = [
    Route("/api/v1/billing/policy", policy, methods=["GET", "PUT"]),
    Route("/api/v1/billing/ledger", ledger_view),
    Route("/api/v1/billing/run", run, methods=["POST"]),
    Route("/api/v1/billing/statements/{month}", statements),
    Route("/api/v1/billing/payout-runs", payout_runs, methods=["GET", "POST"]),
    Route("/api/v1/billing/charges/{charge:int}/reversals", reverse, methods=["POST"]),
    Route("/api/v1/billing/shops", register_shop, methods=["POST"]),
    Route("/api/v1/billing/me", me),
    Route("/api/v1/billing/subscriptions", subscribe, methods=["POST"]),
    Route("/api/v1/billing/subscriptions/{plugin}", subscription, methods=["PUT", "DELETE"]),
    Route("/api/v1/billing/usage", report_usage, methods=["POST"]),
    Route("/api/v1/billing/invoices/{month}", invoice),
    Route("/api/v1/billing/plugins/{plugin}/plans", plans),
    Route("/api/v1/billing/plugins/{plugin}/plans/{code}", put_plan, methods=["PUT"]),
    Route("/api/v1/billing/vendor/revenue", revenue),
    Route("/api/v1/billing/vendor/statements/{month}", vendor_statement),
    Route("/billing/{who}", page, methods=["GET", "POST"]),
]
