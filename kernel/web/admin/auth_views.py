"""Sign in (password or SSO), sign out, sign out everywhere, change password."""
from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from comptoir.kernel.db import transaction
from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.staff.models import StaffUser
from comptoir.kernel.staff.service import authenticate, set_password, sign_out_everywhere
from comptoir.kernel.web.admin.common import back, kernel_of, page, staff
from comptoir.kernel.web.auth.guard import csrf_ok
from comptoir.kernel.web.auth.oidc import staff_for_claims
from comptoir.kernel.web.pages import flash, render


def _safe_next(target: str) -> str:
    # Only local admin paths: never redirect to another site after sign-in.
    return target if target.startswith("/admin") and not target.startswith("//") else "/admin"


def start_session(request: Request, user: StaffUser) -> None:
    request.session.clear()  # a fresh session on sign-in: no fixation
    request.session.update({"staff_id": user.id, "gen": user.session_generation,
                            "csrf": secrets.token_urlsafe(24)})


async def login_form(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "admin/login.html", next=_safe_next(request.query_params.get("next", "/admin")),
                      sso=request.app.state.oidc_config)
    form = await request.form()
    nxt = _safe_next(str(form.get("next", "/admin")))
    if not csrf_ok(request, str(form.get("csrf", ""))):
        return render(request, "admin/login.html", status=403, next=nxt, sso=request.app.state.oidc_config,
                      error="the form expired; please try again")
    client = request.client.host if request.client else ""
    try:
        user = await run_in_threadpool(authenticate, kernel_of(request).factory, str(form.get("email", "")),
                                       str(form.get("password", "")), client)
    except ComptoirError as exc:
        return render(request, "admin/login.html", status=exc.status, next=nxt, sso=request.app.state.oidc_config,
                      error=exc.message, email=str(form.get("email", "")))
    start_session(request, user)
    return back(nxt)


async def logout(request: Request) -> Response:
    await staff(request)  # checks CSRF: nobody signs you out from another site
    request.session.clear()
    return back("/admin/login")


async def logout_everywhere(request: Request) -> Response:
    me = await staff(request)
    await run_in_threadpool(sign_out_everywhere, kernel_of(request).factory, me.id)
    request.session.clear()
    return back("/admin/login")


async def account(request: Request) -> Response:
    me = await staff(request)
    if request.method == "POST":
        form = await request.form()
        if form.get("password", "") != form.get("password2", ""):
            flash(request, "the two passwords differ", "error")
            return back("/admin/account")

        def change() -> int:
            with transaction(kernel_of(request).factory) as s:
                user = s.get(StaffUser, me.id)
                assert user is not None
                set_password(s, user, str(form.get("password", "")))
                s.flush()
                return user.session_generation

        try:
            gen = await run_in_threadpool(change)
        except ComptoirError as exc:
            flash(request, exc.message, "error")
            return back("/admin/account")
        request.session["gen"] = gen  # this session stays; every other one ends
        flash(request, "password changed; other sessions were signed out")
        return back("/admin/account")
    return page(request, me, "account.html")


async def sso_start(request: Request) -> Response:
    client = request.app.state.oidc_client
    if client is None:
        return back("/admin/login")
    redirect_uri = str(request.url_for("sso_callback"))
    return await client.authorize_redirect(request, redirect_uri)  # type: ignore[no-any-return]


async def sso_callback(request: Request) -> Response:
    client = request.app.state.oidc_client
    if client is None:
        return back("/admin/login")
    try:
        token = await client.authorize_access_token(request)
    except Exception as exc:  # authlib raises its own OAuthError family
        return render(request, "admin/login.html", status=401, next="/admin", sso=request.app.state.oidc_config,
                      error=f"single sign-on failed: {getattr(exc, 'description', None) or type(exc).__name__}")
    claims = dict(token.get("userinfo") or {})
    try:
        user = await run_in_threadpool(staff_for_claims, kernel_of(request).factory, claims)
    except ComptoirError as exc:
        return render(request, "admin/login.html", status=exc.status, next="/admin",
                      sso=request.app.state.oidc_config, error=exc.message)
    start_session(request, user)
    return RedirectResponse("/admin", status_code=303)


routes = [
    Route("/admin/login", login_form, methods=["GET", "POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/logout-everywhere", logout_everywhere, methods=["POST"]),
    Route("/admin/account", account, methods=["GET", "POST"]),
    Route("/admin/sso", sso_start, methods=["GET"]),
    Route("/admin/sso/callback", sso_callback, methods=["GET"], name="sso_callback"),
]
