"""Web pages (Jinja2): the catalog, a listing, and a vendor's dashboard."""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from comptoir.kernel.errors import ComptoirError
from comptoir.marketplace import catalog

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _price(pricing: dict) -> str:  # type: ignore[type-arg]
    """A pricing plan in words; amounts are integer minor units, shown with two decimals."""
    model = pricing.get("model", "free")
    cur = pricing.get("currency", "EUR")

    def amt(v: int) -> str:
        return f"{v // 100}.{v % 100:02d} {cur}"

    if model == "free":
        return "Free"
    if model == "one_time":
        return amt(pricing.get("price", 0))
    text = f"{amt(pricing.get('price', 0))} / {pricing.get('interval') or 'month'}" if "recurring" in model else ""
    if "usage" in model:
        usage = f"{amt(pricing.get('usage_price', 0))} per {pricing.get('usage_unit') or 'use'}"
        text = f"{text} + {usage}" if text else usage
    if pricing.get("trial_days"):
        text += f" ({pricing['trial_days']}-day trial)"
    return text


templates.env.filters["price"] = _price


def home(request: Request) -> Response:
    q = request.query_params
    mp = request.app.state.market
    try:
        page = max(1, int(q.get("page", 1)))
    except ValueError:
        page = 1
    result = catalog.search(mp, q.get("q", ""), category=q.get("category", ""), page=page, per_page=24)
    return templates.TemplateResponse(request, "catalog.html", {
        "q": q.get("q", ""), "category": q.get("category", ""), "result": result,
        "categories": catalog.categories(mp)})


def plugin_page(request: Request) -> Response:
    item = catalog.listing(request.app.state.market, request.path_params["plugin"])
    return templates.TemplateResponse(request, "listing.html", {"p": item})


async def dashboard(request: Request) -> Response:
    """GET shows the sign-in form; POST with the vendor token shows the dashboard
    (the token travels in the form body, never in a URL)."""
    if request.method == "GET":
        return templates.TemplateResponse(request, "dashboard_login.html", {"error": ""})
    form = await request.form()
    mp = request.app.state.market
    try:
        vendor = mp.vendor_for_token(str(form.get("token", "")))
    except ComptoirError as exc:
        return templates.TemplateResponse(request, "dashboard_login.html", {"error": exc.message}, status_code=401)
    return templates.TemplateResponse(request, "dashboard.html", {"d": catalog.dashboard(mp, vendor)})


routes = [
    Route("/", home),
    Route("/plugins/{plugin}", plugin_page),
    Route("/dashboard", dashboard, methods=["GET", "POST"]),
]
