"""Kernel side of the worker's context calls: data within the grant, brokered HTTP.

The worker is untrusted, so everything it asks is answered by the kernel's own
``PluginContext`` for that plugin: ``data.*`` goes to its ``DataAccess`` (which checks
the scope at the call and raises ``ScopeDenied``), ``credentials.*`` to the credential
store's per-plugin view (raw secrets only where granted), and ``http.request`` to the
credential store's broker (``ctx.http``) when it is wired.

When no broker is wired (``ctx.http is None``) the sandbox still must not grant a
back door: :func:`fallback_request` allows only hosts the plugin's grant holds
(``host:<name>``, ``host:<name>:<port>`` or a declared ``*.suffix``), refuses any
``account=`` it does not hold and — holding it — refuses too, since only the
credential store can inject a secret. Redirects are not followed (a redirect to an
undeclared host would be an escape), bodies are capped, and each call is journaled.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from comptoir.kernel.errors import PluginError, ScopeDenied

if TYPE_CHECKING:
    from comptoir.kernel.context import PluginContext
    from comptoir.kernel.runtime import Kernel

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
MAX_TIMEOUT_S = 30.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def public_methods(obj: Any) -> frozenset[str]:
    """The public methods of a kernel context object's class: what ``ctx.data.*`` and
    ``ctx.credentials.*`` may call from the sandbox (each checks the plugin's rights)."""
    return frozenset(n for n, v in vars(type(obj)).items() if callable(v) and not n.startswith("_"))


def serve_context_call(kernel: "Kernel", ctx: "PluginContext", op: str, args: list[Any],
                       kwargs: dict[str, Any]) -> Any:
    """Answer one context call from a worker, as the plugin's own context would."""
    area, _, name = op.partition(".")
    if area in ("data", "credentials"):
        target = getattr(ctx, area)
        if target is None or name not in public_methods(target):
            raise PluginError(f"plugin {ctx.plugin!r} asked for ctx.{area}.{name[:80]}, which does not exist here",
                              plugin=ctx.plugin)
        return getattr(target, name)(*args, **kwargs)
    if op == "http.request":
        return http_request(kernel, ctx, *args, **kwargs)
    raise PluginError(f"plugin {ctx.plugin!r} made an unknown context call {op[:80]!r}", plugin=ctx.plugin)


def _response(resp: Any, redact: Callable[[str], str]) -> dict[str, Any]:
    content = bytes(getattr(resp, "content", b"") or b"")
    if len(content) > MAX_RESPONSE_BYTES:
        raise PluginError(f"response of {len(content)} bytes is over the sandbox's {MAX_RESPONSE_BYTES}-byte limit",
                          plugin="sandbox")
    # The broker masks what it injected; redacting again costs little and keeps a secret
    # put in a query string out of the worker even if a future broker forgot.
    return {"status_code": int(resp.status_code), "headers": {str(k): redact(str(v)) for k, v in resp.headers.items()},
            "content": content, "url": redact(str(getattr(resp, "url", "")))}


def http_request(kernel: "Kernel", ctx: "PluginContext", method: str, url: str, *,
                 headers: dict[str, str] | None = None, content: bytes | None = None, json: Any = None,
                 params: dict[str, str] | None = None, account: str | None = None,
                 timeout: float | None = None) -> dict[str, Any]:
    """One brokered request for a sandboxed plugin."""
    method = str(method).upper()
    if method not in _METHODS:
        raise PluginError(f"HTTP method {method[:20]!r} is not allowed", plugin=ctx.plugin)
    if ctx.http is not None:  # the credential store's broker: hosts, accounts, injection, journal
        kw: dict[str, Any] = {"headers": headers or {}}
        if params:  # an empty mapping would make httpx drop the URL's own query string
            kw["params"] = params
        if content is not None:
            kw["content"] = content
        if json is not None:
            kw["json"] = json
        if account:
            kw["account"] = account
        return _response(ctx.http.request(method, url, **kw), kernel.host.journal.redact)
    return fallback_request(kernel, ctx.plugin, method, url, headers=headers, content=content, json=json,
                            params=params, account=account, timeout=timeout)


def host_allowed(kernel: "Kernel", plugin: str, host: str, port: int | None, default_port: int) -> bool:
    """Is ``host`` (and port) within the plugin's declared hosts?"""
    rights = kernel.host.rights
    if port is not None and port != default_port and rights.allowed(plugin, f"host:{host}:{port}"):
        return True
    if port not in (None, default_port):
        return False
    if rights.allowed(plugin, f"host:{host}"):
        return True
    labels = host.split(".")
    return any(rights.allowed(plugin, "host:*." + ".".join(labels[i:])) for i in range(1, len(labels) - 1))


def fallback_request(kernel: "Kernel", plugin: str, method: str, url: str, *, headers: dict[str, str] | None,
                     content: bytes | None, json: Any, params: dict[str, str] | None, account: str | None,
                     timeout: float | None) -> dict[str, Any]:
    """Declared hosts only, no credentials, no redirects; journaled."""
    import httpx

    parts = urlsplit(str(url))
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise PluginError(f"plugin {plugin!r}: {str(url)[:200]!r} is not an http(s) URL", plugin=plugin)
    default_port = 443 if parts.scheme == "https" else 80
    if not host_allowed(kernel, plugin, host, parts.port, default_port):
        kernel.host.journal.record(plugin, "http", 0, "denied", f"{method} {host}: host not declared")
        raise ScopeDenied(plugin, f"host:{host}" + (f":{parts.port}" if parts.port else ""))
    if account:
        if not kernel.host.rights.allowed(plugin, f"account:{account}"):
            kernel.host.journal.record(plugin, "http", 0, "denied", f"{method} {host}: account not granted")
            raise ScopeDenied(plugin, f"account:{account}")
        raise PluginError(f"plugin {plugin!r}: account {account!r} needs the credential store's broker, "
                          "which is not installed; the request was not sent", plugin=plugin)
    t0 = time.perf_counter_ns()
    try:
        with httpx.Client(timeout=min(timeout or 10.0, MAX_TIMEOUT_S), follow_redirects=False,
                          trust_env=False) as client:
            with client.stream(method, str(url), headers=headers or {}, content=content, json=json,
                               params=params or None) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise PluginError(f"response from {host} is over {MAX_RESPONSE_BYTES} bytes", plugin=plugin)
                answer = {"status_code": resp.status_code, "headers": dict(resp.headers.items()),
                          "content": bytes(body), "url": str(resp.url)}
    except httpx.HTTPError as exc:
        kernel.host.journal.record(plugin, "http", (time.perf_counter_ns() - t0) // 1000, "error",
                                   f"{method} {host}: {type(exc).__name__}")
        raise PluginError(f"plugin {plugin!r}: {method} {host} failed: {type(exc).__name__}", plugin=plugin) from None
    kernel.host.journal.record(plugin, "http", (time.perf_counter_ns() - t0) // 1000, "ok",
                               detail={"method": method, "host": host, "status": answer["status_code"]})
    return answer
