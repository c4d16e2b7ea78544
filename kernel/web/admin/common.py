"""What every admin page needs: the signed-in staff member, rights, menus, CSRF, paging."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.staff.service import Principal
from comptoir.kernel.web.auth.guard import csrf_ok, session_staff
from comptoir.kernel.web.pages import render
from comptoir.kernel.web.problems import Forbidden

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

# (label, path, right needed): each role sees the menus of its trade.
MENU: tuple[tuple[str, str, str], ...] = (
    ("Dashboard", "/admin", "dashboard"),
    ("Products", "/admin/products", "catalog:read"),
    ("Orders", "/admin/orders", "orders:read"),
    ("Customers", "/admin/customers", "customers:read"),
    ("Social", "/admin/social", "social:publish"),
    ("Stock", "/admin/stock", "stock:read"),
    ("Plugins", "/admin/plugins", "plugins:manage"),
    ("App store", "/admin/appstore", "plugins:manage"),
    ("Journal", "/admin/journal", "journal:read"),
    ("Staff & roles", "/admin/staff", "staff:manage"),
)


class NeedsSignIn(Exception):
    """Raised by ``staff()`` to send the browser to the sign-in page."""


@dataclass
class Staff:
    id: int
    email: str
    name: str
    role: str
    principal: Principal

    def can(self, right: str) -> bool:
        return self.principal.can(right)


def kernel_of(request: Request) -> "Kernel":
    return request.app.state.kernel  # type: ignore[no-any-return]


async def staff(request: Request, right: str | None = None) -> Staff:
    """The signed-in staff member (or ``NeedsSignIn``); ``Forbidden`` without ``right``.

    Unsafe methods must carry the session's CSRF token (form field or header)."""
    found = await run_in_threadpool(session_staff, request, kernel_of(request).factory)
    if found is None:
        raise NeedsSignIn()
    user, principal = found
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get("x-csrf-token")
        if sent is None:
            form = await request.form()
            sent = str(form.get("csrf", ""))
        if not csrf_ok(request, sent):
            raise Forbidden("the form expired or did not come from this site (CSRF check failed); reload the page",
                            field="csrf")
    me = Staff(user.id or 0, user.email, user.name, user.role, principal)
    if right and not me.can(right):
        raise Forbidden(f"your role ({me.role}) does not include {right!r}; ask an owner", field="role")
    request.state.staff = me
    return me


def menu(request: Request, me: Staff) -> list[dict[str, str]]:
    items = [{"label": label, "path": path} for label, path, right in MENU if me.can(right)]
    try:
        extra = kernel_of(request).host.call("admin_menu_items", role=me.role)
    except ComptoirError:
        extra = []
    for item in sorted((i for i in extra if me.role in getattr(i, "roles", ())), key=lambda i: i.label):
        items.append({"label": item.label, "path": item.path})
    return items


def page(request: Request, me: Staff, template: str, status: int = 200, **ctx: Any) -> Response:
    return render(request, f"admin/{template}", status=status, me=me, menu=menu(request, me),
                  path=request.url.path, **ctx)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def paging(request: Request, default: int = 50) -> tuple[int, int]:
    try:
        limit = max(1, min(200, int(request.query_params.get("limit", default))))
        offset = max(0, min(1_000_000, int(request.query_params.get("offset", 0))))
    except ValueError:
        return default, 0
    return limit, offset


def page_links(request: Request, total: int, limit: int, offset: int) -> dict[str, str | None]:
    q = dict(request.query_params)

    def at(off: int) -> str:
        return f"{request.url.path}?{urlencode({**q, 'offset': off, 'limit': limit})}"

    return {"prev": at(max(0, offset - limit)) if offset > 0 else None,
            "next": at(offset + limit) if offset + limit < total else None,
            "showing": f"{min(total, offset + 1)}–{min(total, offset + limit)} of {total}"}
