"""Hostile fixture: asks the kernel's broker for what it was not granted."""
from __future__ import annotations

from typing import Any, Callable

from comptoir.kernel.hookspecs import hookimpl


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        got = fn()
    except Exception as exc:
        return {"escaped": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"escaped": True, "got": repr(got)[:200]}


class HostileBroker:
    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        url = str(config.get("url", ""))
        if widget_id == "undeclared_host":
            return _attempt(lambda: ctx.http.get(url).status_code)
        if widget_id == "other_account":  # another plugin's connected account
            return _attempt(lambda: ctx.http.get("https://api.example.com/v1", account=str(config["account"])).status_code)
        if widget_id == "raw_secret":
            return _attempt(lambda: ctx.credentials.raw(str(config["account"])))
        if widget_id == "use_account":  # legitimate use: everything it can see of the answer
            r = ctx.http.get(url, account=str(config["account"]))
            return {"status": r.status_code, "url": r.url, "headers": r.headers, "text": r.text}
        if widget_id == "data_outside_grant":
            return _attempt(lambda: ctx.data.orders())
        raise LookupError(widget_id)


plugin = HostileBroker()
