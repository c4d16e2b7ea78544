"""The JSON API: catalog for shops, uploads for vendors, moderation for the operator."""
from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from comptoir.marketplace import catalog
from comptoir.marketplace.errors import ValidationFailed


def _market(request: Request) -> Any:
    return request.app.state.market


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


def keys(request: Request) -> JSONResponse:
    mp = _market(request)
    return JSONResponse({"marketplace_key": mp.key.public, "key_id": mp.key.key_id})


def snapshot(request: Request) -> JSONResponse:
    return JSONResponse(_market(request).snapshot(), headers={"Cache-Control": "no-cache"})


async def register_vendor(request: Request) -> JSONResponse:
    data = await _json(request)
    vendor, token, key = await run_in_threadpool(
        _market(request).register_vendor, str(data.get("name", "")), str(data.get("public_key", "")),
        str(data.get("display_name", "")))
    return JSONResponse({"vendor": vendor.name, "token": token, "key_id": key.key_id, "key_status": key.status},
                        status_code=201)


async def propose_key(request: Request) -> JSONResponse:
    mp = _market(request)
    vendor = mp.vendor_for_token(_bearer(request))
    data = await _json(request)
    key = await run_in_threadpool(mp.propose_key, vendor, str(data.get("public_key", "")))
    return JSONResponse({"key_id": key.key_id, "key_status": key.status}, status_code=201)


def pending_keys(request: Request) -> JSONResponse:
    mp = _market(request)
    mp.check_operator(_bearer(request))
    return JSONResponse(mp.pending_keys())


def approve_key(request: Request) -> JSONResponse:
    mp = _market(request)
    mp.check_operator(_bearer(request))
    key = mp.approve_key(request.path_params["key_id"])
    return JSONResponse({"key_id": key.key_id, "key_status": key.status})


async def upload(request: Request) -> JSONResponse:
    mp = _market(request)
    vendor = mp.vendor_for_token(_bearer(request))
    form = await request.form(max_part_size=mp.settings.max_wheel_bytes + 1)
    wheel, sig = form.get("wheel"), form.get("signature")
    if wheel is None or isinstance(wheel, str) or sig is None or isinstance(sig, str):
        raise ValidationFailed("send multipart fields 'wheel' (the .whl) and 'signature' (its .sig)")
    data, sig_bytes = await wheel.read(), await sig.read()
    rel = await run_in_threadpool(mp.upload, vendor, wheel.filename or "", data, sig_bytes)
    return JSONResponse({"plugin": rel.plugin_id, "version": rel.version, "sha256": rel.sha256,
                         "url": f"/files/{rel.filename}"}, status_code=201)


async def yank(request: Request) -> JSONResponse:
    mp = _market(request)
    vendor = mp.vendor_for_token(_bearer(request))
    data = await _json(request) if await request.body() else {}
    rel = mp.yank(vendor, request.path_params["plugin"], request.path_params["version"], str(data.get("reason", "")))
    return JSONResponse({"plugin": rel.plugin_id, "version": rel.version, "yanked": True})


async def block(request: Request) -> JSONResponse:
    mp = _market(request)
    mp.check_operator(_bearer(request))
    data = await _json(request)
    rel = mp.block(request.path_params["plugin"], request.path_params["version"], str(data.get("reason", "")))
    return JSONResponse({"plugin": rel.plugin_id, "version": rel.version, "blocked": True})


def search(request: Request) -> JSONResponse:
    q = request.query_params
    try:
        page, per_page = int(q.get("page", 1)), int(q.get("per_page", 20))
    except ValueError:
        raise ValidationFailed("page and per_page are integers") from None
    return JSONResponse(catalog.search(_market(request), q.get("q", ""), category=q.get("category", ""),
                                       kernel=q.get("kernel", ""), page=max(page, 1), per_page=per_page))


def categories(request: Request) -> JSONResponse:
    return JSONResponse(catalog.categories(_market(request)))


def listing(request: Request) -> JSONResponse:
    return JSONResponse(catalog.listing(_market(request), request.path_params["plugin"],
                                        kernel=request.query_params.get("kernel", "")))


def release(request: Request) -> JSONResponse:
    return JSONResponse(catalog.release_doc(_market(request), request.path_params["plugin"],
                                            request.path_params.get("version", "")))


async def install(request: Request) -> JSONResponse:
    data = await _json(request)
    token = catalog.record_install(_market(request), request.path_params["plugin"], str(data.get("version", "")),
                                   str(data.get("shop_id", "")))
    return JSONResponse({"receipt": token}, status_code=201)


async def review(request: Request) -> JSONResponse:
    data = await _json(request)
    out = catalog.add_review(_market(request), request.path_params["plugin"], str(data.get("receipt", "")),
                             data.get("rating"), str(data.get("text", "")))  # type: ignore[arg-type]
    return JSONResponse(out, status_code=201)


def my_dashboard(request: Request) -> JSONResponse:
    mp = _market(request)
    return JSONResponse(catalog.dashboard(mp, mp.vendor_for_token(_bearer(request))))


routes = [
    Route("/api/v1/keys", keys),
    Route("/snapshot.json", snapshot),
    Route("/api/v1/vendors", register_vendor, methods=["POST"]),
    Route("/api/v1/vendors/me/keys", propose_key, methods=["POST"]),
    Route("/api/v1/vendors/me/dashboard", my_dashboard),
    Route("/api/v1/admin/keys", pending_keys),
    Route("/api/v1/admin/keys/{key_id}/approve", approve_key, methods=["POST"]),
    Route("/api/v1/admin/plugins/{plugin}/releases/{version}/block", block, methods=["POST"]),
    Route("/api/v1/releases", upload, methods=["POST"]),
    Route("/api/v1/plugins", search),
    Route("/api/v1/categories", categories),
    Route("/api/v1/plugins/{plugin}", listing),
    Route("/api/v1/plugins/{plugin}/release", release),
    Route("/api/v1/plugins/{plugin}/releases/{version}", release),
    Route("/api/v1/plugins/{plugin}/releases/{version}/yank", yank, methods=["POST"]),
    Route("/api/v1/plugins/{plugin}/installs", install, methods=["POST"]),
    Route("/api/v1/plugins/{plugin}/reviews", review, methods=["POST"]),
]
