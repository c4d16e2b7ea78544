"""Admin pages: plugins (enable, disable, settings, rights), journal, staff, roles, tokens."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from comptoir.kernel.db import read_only, transaction
from comptoir.kernel.domain import Location
from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.staff.models import ApiToken, StaffUser
from comptoir.kernel.staff.rights import RIGHTS, ROLES, all_role_rights, set_role_rights
from comptoir.kernel.staff.service import create_staff, create_token, revoke_token
from comptoir.kernel.web import connect
from comptoir.kernel.web.admin.common import back, kernel_of, page, page_links, paging, staff
from comptoir.kernel.web.api.admin_ops import journal_page
from comptoir.kernel.web.api.admin_plugins import grant_rights, plugin_dict, save_settings, staff_dict, token_dict
from comptoir.kernel.web.pages import flash
from comptoir.kernel.web.queries import location_dict


def _plugin_items(request: Request) -> list[dict[str, Any]]:
    k = kernel_of(request)
    items = [plugin_dict(k, n) for n in sorted(k.host.records)]
    for p in items:  # which accounts are connected: shown next to the secret settings
        p["connected"] = ({a["name"]: a["connected"] for a in connect.account_states(k, p["name"])}
                          if p["accounts"] else {})
    return items


async def plugins(request: Request, approval: dict[str, Any] | None = None, error: str = "") -> Response:
    me = await staff(request, "plugins:manage")
    items = await run_in_threadpool(_plugin_items, request)
    for p in items:  # asked to approve a host: the form shows what the admin typed, and the question
        if approval is not None and p["name"] == approval["plugin"]:
            p["settings"] = {**p["settings"], **approval["values"]}
    return page(request, me, "plugins.html", plugins=items, approval=approval,
                **({"flash": {"message": error, "kind": "error"}} if error else {}))


async def plugin_act(request: Request) -> Response:
    me = await staff(request, "plugins:manage")
    name, action = request.path_params["name"], request.path_params["action"]
    k = kernel_of(request)
    form = await request.form()
    fields: dict[str, Any] = {key[4:]: v for key, v in form.items() if key.startswith("set_")}

    def run() -> str:
        if action == "enable":
            k.host.enable(name)
            return f"{name} enabled"
        if action == "disable":
            k.host.disable(name)
            return f"{name} disabled"
        if action == "settings":
            rec = k.host._get(name)
            for key, f in rec.manifest.settings.items():  # unchecked boxes are not sent
                if f.type == "boolean" and key not in fields:
                    fields[key] = "false"
            granted = save_settings(k, name, fields, [str(r) for r in form.getlist("approve_host")], me.email)
            return f"{name} settings saved" + (f"; it may now reach {', '.join(r[5:] for r in granted)}"
                                               if granted else "")
        if action == "grant":
            granted = grant_rights(k, name, [str(r) for r in form.getlist("right")], me.email)
            return f"granted {', '.join(granted) or 'nothing new'} to {name}"
        raise ComptoirError(f"unknown plugin action {action!r}", field="action")

    try:
        flash(request, await run_in_threadpool(run))
    except connect.HostApprovalNeeded as exc:  # ask on the same form, keeping what was typed
        approval = {"plugin": name, "values": fields,
                    "rights": [{"setting": key, "right": right, "host": right[5:]} for key, right in exc.needed.items()]}
        return await plugins(request, approval=approval, error=exc.message)
    except ComptoirError as exc:
        flash(request, exc.message, "error")
    return back("/admin/plugins")


async def journal(request: Request) -> Response:
    me = await staff(request, "journal:read")
    limit, offset = paging(request)
    plugin = request.query_params.get("plugin", "")[:64]
    outcome = request.query_params.get("outcome", "")
    outcome = outcome if outcome in ("ok", "error", "timeout", "skipped") else ""
    found = await run_in_threadpool(journal_page, kernel_of(request), plugin, outcome, limit, offset)
    return page(request, me, "journal.html", entries=found.items, plugin=plugin, outcome=outcome,
                plugins=sorted(kernel_of(request).host.records), links=page_links(request, found.total, limit, offset))


def _staff_data(request: Request) -> dict[str, Any]:
    with read_only(kernel_of(request).factory) as s:
        return {"people": [staff_dict(u) for u in s.scalars(select(StaffUser).order_by(StaffUser.email))],
                "tokens": [token_dict(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id.desc()).limit(100))],  # type: ignore[union-attr]
                "role_rights": {r: sorted(x) for r, x in all_role_rights(s).items()},
                "locations": [location_dict(x) for x in s.scalars(select(Location).order_by(Location.id))]}


async def staff_page(request: Request) -> Response:
    me = await staff(request, "staff:manage")
    data = await run_in_threadpool(_staff_data, request)
    return page(request, me, "staff.html", roles=ROLES, rights=RIGHTS, new_token=request.session.pop("new_token", None),
                **data)


async def staff_act(request: Request) -> Response:
    me = await staff(request, "staff:manage")
    action = request.path_params["action"]
    form = await request.form()
    k = kernel_of(request)

    def run() -> str:
        with transaction(k.factory) as s:
            if action == "create":
                u = create_staff(s, str(form.get("email", "")), role=str(form.get("role", "")),
                                 password=str(form.get("password", "")), name=str(form.get("name", "")))
                return f"account {u.email} created"
            if action == "role":
                role = str(form.get("role", ""))
                set_role_rights(s, role, [str(r) for r in form.getlist("right")])
                return f"rights of {role} saved"
            if action == "deactivate":
                u = s.get(StaffUser, int(str(form.get("staff_id", "0"))))
                if u is None or u.id == me.id:
                    raise ComptoirError("you cannot deactivate this account", field="staff_id")
                u.active = not u.active
                u.session_generation += 1
                s.add(u)
                return f"{u.email} {'reactivated' if u.active else 'deactivated'}"
            if action == "token":
                loc = str(form.get("location_id", ""))
                row, text = create_token(s, str(form.get("name", "")), [str(x) for x in form.getlist("scope")],
                                         created_by=me.email, location_id=int(loc) if loc.isdigit() else None)
                request.session["new_token"] = text  # shown once, on the next page
                return f"token {row.name} created: copy it now, it will not be shown again"
            if action == "revoke":
                row = revoke_token(s, int(str(form.get("token_id", "0"))))
                return f"token {row.name} revoked"
        raise ComptoirError(f"unknown action {action!r}", field="action")

    try:
        flash(request, await run_in_threadpool(run))
    except (ComptoirError, ValueError) as exc:
        flash(request, getattr(exc, "message", "invalid input"), "error")
    return back("/admin/staff")


routes = [
    Route("/admin/plugins", plugins),
    Route("/admin/plugins/{name}/{action}", plugin_act, methods=["POST"]),
    Route("/admin/journal", journal),
    Route("/admin/staff", staff_page),
    Route("/admin/staff/{action}", staff_act, methods=["POST"]),
]
