"""Server-rendered pages: the Jinja2 environment, filters and the shared helpers."""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from comptoir.kernel.money import exponent

TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False)


def format_money(amount: int | None, currency: str = "EUR") -> str:
    """12345, EUR → '123.45 €' (integer arithmetic: no float ever touches money)."""
    if amount is None:
        return ""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10 ** exp) if exp else (abs(amount), 0)
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency)
    text = f"{whole:,}".replace(",", " ") + (f".{frac:0{exp}d}" if exp else "")
    return f"{sign}{text} {symbol}"


def parse_money(text: str, currency: str = "EUR", field: str = "price") -> int:
    """'12.5' → 1250 minor units, by string arithmetic (never through a float)."""
    from comptoir.kernel.errors import ValidationFailed

    raw = (text or "").strip().replace(",", ".").replace(" ", "")
    neg = raw.startswith("-")
    raw = raw.lstrip("+-")
    whole, _, frac = raw.partition(".")
    exp = exponent(currency)
    if not (whole or frac) or not (whole or "0").isdigit() or (frac and not frac.isdigit()):
        raise ValidationFailed(f"{field}: write an amount such as 12.50", field=field)
    if len(frac) > exp:  # refused, never rounded: 19.999 is not a price in cents
        most = f"at most {exp} decimals" if exp else "no decimals"
        raise ValidationFailed(f"{field}: {currency} amounts have {most}, got {text.strip()!r}", field=field)
    value = int(whole or "0") * 10 ** exp + int((frac or "0").ljust(exp, "0")[:exp] if exp else 0)
    return -value if neg else value


_ENV.filters["money"] = lambda m, cur=None: (format_money(m["amount"], m["currency"]) if isinstance(m, dict)
                                             else format_money(m, cur or "EUR"))


def plain_amount(amount: int, currency: str = "EUR") -> str:
    """Minor units as a form value: 1250 → '12.50'."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10 ** exp)
    return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"


_ENV.filters["plain"] = lambda m, cur=None: (plain_amount(m["amount"], m["currency"]) if isinstance(m, dict)
                                             else plain_amount(m, cur or "EUR"))


def csrf_token(request: Request) -> str:
    sess = request.session
    if "csrf" not in sess:
        sess["csrf"] = secrets.token_urlsafe(24)
    return str(sess["csrf"])


def render(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("request", request)
    ctx.setdefault("csrf", csrf_token(request))
    ctx.setdefault("flash", request.session.pop("flash", None))
    return HTMLResponse(_ENV.get_template(template).render(**ctx), status_code=status)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"message": message, "kind": kind}


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    area = "admin" if request.url.path.startswith("/admin") else "shop"
    try:
        return render(request, f"{area}/error.html", status=status, title=title, detail=detail, area=area)
    except AssertionError:  # no session on this path
        return HTMLResponse(f"<h1>{title}</h1><p>{detail}</p>", status_code=status)
