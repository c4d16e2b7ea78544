"""Admin "Connect accounts": one page per plugin to connect the provider accounts its
manifest declares, so a merchant never needs ``comptoir credentials``.

API keys and basic credentials are typed into password fields and go straight to the
credential store; afterwards the page shows a masked hint and the date, with Replace
and Disconnect. OAuth accounts get a "Connect with <provider>" button running the
kernel's code + PKCE flow, back to ``/admin/connect/callback``. After storing, the
plugin's ``account_connected`` hook finishes the set-up and its lines are shown.
Everything here needs ``plugins:manage`` and, for forms, the session's CSRF token; the
same actions exist in the admin API (``api/admin_plugins.py``), through ``web/connect.py``.

Stable hooks for browser tests: form ``#connect-<account>`` with input ``secret`` (and
``username`` for basic accounts), button ``#save-<account>``, ``#disconnect-<account>``,
host approval checkboxes named ``approve_host``, raw approval checkbox ``approve_raw``.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.web import connect
from comptoir.kernel.web.admin.common import back, kernel_of, page, staff
from comptoir.kernel.web.api.admin_plugins import save_settings
from comptoir.kernel.web.pages import flash

RIGHT = "plugins:manage"


def _page_url(name: str) -> str:
    return f"/admin/plugins/{quote(name)}/connect"


def _result(request: Request, account: str, setup: dict[str, Any], done: str) -> None:
    request.session["connect_result"] = {"account": account, "done": done, "lines": setup["lines"],
                                         "error": setup["error"]}


async def connect_page(request: Request, approval: dict[str, Any] | None = None, error: str = "") -> Response:
    me = await staff(request, RIGHT)
    name = request.path_params["name"]
    k = kernel_of(request)

    def load() -> tuple[Any, list[dict[str, Any]]]:
        rec = k.host._get(name)
        return rec, connect.account_states(k, name)

    rec, accounts = await run_in_threadpool(load)
    if approval is not None:  # show what the admin typed, with the question next to it
        for a in accounts:
            if a["name"] == approval["account"] and a["oauth"]:
                for need in a["oauth"]["needs"]:
                    need["value"] = approval["values"].get(need["key"], need["value"])
    return page(request, me, "plugin_connect.html", plugin=name, title=rec.manifest.name, enabled=rec.enabled,
                accounts=accounts, result=request.session.pop("connect_result", None), approval=approval,
                redirect_uri=connect.shop_url(k, str(request.base_url)) + connect.CALLBACK_PATH,
                **({"flash": {"message": error, "kind": "error"}} if error else {}))


async def save_secret(request: Request) -> Response:
    """Store an API key / basic account from the form (Save or Replace)."""
    me = await staff(request, RIGHT)
    name, account = request.path_params["name"], request.path_params["account"]
    form = await request.form()
    k = kernel_of(request)
    shop = connect.shop_url(k, str(request.base_url))
    raw = "approve_raw" in form if "raw_shown" in form else None

    def run() -> dict[str, Any]:
        connect.store_secret(k, name, account, str(form.get("secret", "")), actor=me.email,
                             username=str(form.get("username", "")), approve_raw=raw)
        return connect.after_connect(k, name, account, shop)

    try:
        setup = await run_in_threadpool(run)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
        return back(_page_url(name))
    _result(request, account, setup, f"{account} connected")
    return back(_page_url(name))


async def disconnect(request: Request) -> Response:
    me = await staff(request, RIGHT)
    name, account = request.path_params["name"], request.path_params["account"]
    k = kernel_of(request)
    try:
        await run_in_threadpool(lambda: connect.disconnect(k, name, account, actor=me.email))
        flash(request, f"{account} disconnected: its secret is wiped from the credential store")
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back(_page_url(name))


async def oauth_start(request: Request) -> Response:
    """Save the provider address the account needs (approving its host), then send the
    admin to the provider."""
    me = await staff(request, RIGHT)
    name, account = request.path_params["name"], request.path_params["account"]
    form = await request.form()
    k = kernel_of(request)
    shop = connect.shop_url(k, str(request.base_url))
    values = {key[4:]: str(v) for key, v in form.items() if key.startswith("set_")}
    approved = [str(r) for r in form.getlist("approve_host")]
    raw = "approve_raw" in form if "raw_shown" in form else None

    def run() -> str:
        connect.check_account_settings(k, name, account, values)
        if values:
            save_settings(k, name, values, approved, me.email)
        connect.set_raw(k, name, account, raw, me.email)
        return connect.oauth_start(k, name, account, shop, actor=me.email,
                                   client_id=str(form.get("client_id", "")),
                                   client_secret=str(form.get("client_secret", "")))

    try:
        url = await run_in_threadpool(run)
    except connect.HostApprovalNeeded as exc:
        approval = {"account": account, "values": values,
                    "rights": [{"setting": key, "right": right, "host": right[5:]} for key, right in exc.needed.items()]}
        return await connect_page(request, approval=approval, error=exc.message)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
        return back(_page_url(name))
    return RedirectResponse(url, status_code=303)


async def oauth_callback(request: Request) -> Response:
    """Where the provider sends the admin back: tokens stored, or the refusal shown."""
    me = await staff(request, RIGHT)
    k = kernel_of(request)
    q = request.query_params
    state = q.get("state", "")
    found = await run_in_threadpool(connect.oauth_pending, k, state)
    if found is None:
        flash(request, "this connect link is unknown, expired or already used; start connecting again", "error")
        return back("/admin/plugins")
    name, account = found
    if q.get("error") or not q.get("code"):
        await run_in_threadpool(connect.oauth_refused, k, state)
        said = (q.get("error") or "no authorization code").strip()[:100]
        detail = q.get("error_description", "").strip()[:300]
        _result(request, account, {"lines": [], "error": f"{account} was not connected; the provider said: "
                                   f"{said}{': ' + detail if detail else ''}"}, "")
        return back(_page_url(name))
    shop = connect.shop_url(k, str(request.base_url))

    def run() -> dict[str, Any]:
        connect.oauth_finish(k, state, q["code"], actor=me.email)
        return connect.after_connect(k, name, account, shop)

    try:
        setup = await run_in_threadpool(run)
    except ComptoirError as exc:
        _result(request, account, {"lines": [], "error": exc.message}, "")
        return back(_page_url(name))
    _result(request, account, setup, f"{account} connected")
    return back(_page_url(name))


routes = [
    Route("/admin/plugins/{name}/connect", connect_page),
    Route("/admin/plugins/{name}/connect/{account}", save_secret, methods=["POST"]),
    Route("/admin/plugins/{name}/connect/{account}/disconnect", disconnect, methods=["POST"]),
    Route("/admin/plugins/{name}/connect/{account}/oauth", oauth_start, methods=["POST"]),
    Route(connect.CALLBACK_PATH, oauth_callback),
]
