"""``POST /webhooks/<plugin-id>``: where payment providers deliver their webhooks.

No staff session here: the provider's signature is the authentication, checked by the
plugin (``payment_webhook``); the kernel then applies each event once
(``services.webhooks.apply_webhook``). Answers: 200 with the outcome of each event,
400 when the plugin refused the delivery (providers retry only what might succeed,
and the reason stays in the journal, not in the answer), 404 for a plugin that takes
no webhooks, 413 for a body over 1 MB.
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from comptoir.kernel.errors import PluginError, ScopeDenied
from comptoir.kernel.services.webhooks import apply_webhook
from comptoir.kernel.types import WebhookRequest

MAX_BODY = 1_000_000


async def receive(request: Request) -> Response:
    kernel = request.app.state.kernel
    plugin = request.path_params["plugin"]
    rec = kernel.host.records.get(plugin)
    if rec is None or not rec.enabled or not kernel.host.implements(plugin, "payment_webhook"):
        return JSONResponse({"error": f"no enabled plugin {plugin!r} takes webhooks"}, status_code=404)
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "body too large"}, status_code=413)
    delivery = WebhookRequest(headers=dict(request.headers), body=body, query=dict(request.query_params))
    try:
        applied = await run_in_threadpool(apply_webhook, kernel, plugin, delivery)
    except (PluginError, ScopeDenied):
        return JSONResponse({"error": "delivery refused; see the plugin's journal"}, status_code=400)
    return JSONResponse({"events": [{"id": a.event_id, "status": a.status, "outcome": a.outcome} for a in applied]})


routes = [Route("/webhooks/{plugin}", receive, methods=["POST"])]
