"""Egress only through the kernel's broker: declared hosts, own accounts, granted data."""
from __future__ import annotations

import http.server
import threading
from typing import Any, Callable, Iterator

import pytest

from comptoir.kernel.errors import PluginError, ScopeDenied
from comptoir.sandbox import broker
from tests.sandbox.conftest import Shop

Attack = Callable[..., Any]


class _Server(http.server.ThreadingHTTPServer):
    hits: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_api() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _refused(result: dict[str, Any]) -> str:
    assert result["escaped"] is False, f"the attack worked: {result}"
    return str(result["error"])


def test_undeclared_host_is_refused(shop: Shop, attack: Attack, local_api: _Server) -> None:
    url = f"http://127.0.0.1:{local_api.server_address[1]}/steal"
    assert "ScopeDenied" in _refused(attack("hostile_broker", "undeclared_host", url=url))
    assert local_api.hits == []
    shop.assert_serving()


def test_another_plugins_account_is_refused(shop: Shop, attack: Attack) -> None:
    assert "account:theirs" in _refused(attack("hostile_broker", "other_account", account="theirs"))
    _refused(attack("hostile_broker", "raw_secret", account="theirs"))
    _refused(attack("hostile_broker", "raw_secret", account="mine"))  # raw access was never requested
    shop.assert_serving()


def test_data_outside_the_grant_is_refused(shop: Shop, attack: Attack) -> None:
    assert "orders:read" in _refused(attack("hostile_broker", "data_outside_grant"))
    with pytest.raises(ScopeDenied):  # the good plugin asks for customers without the right
        shop.good("customer")
    assert shop.good("orders")["count"] >= 0  # within its grant it works
    shop.assert_serving()


def test_declared_host_goes_through_the_broker(shop: Shop, local_api: _Server) -> None:
    """The positive control: a granted host is reached, through the kernel."""
    port = local_api.server_address[1]
    name = shop.add("hostile_broker")
    shop.kernel.host.rights.grant(name, [f"host:127.0.0.1:{port}"], "tests")  # type: ignore[attr-defined]
    result = shop.kernel.host.call_one(name, "widget_data", widget_id="undeclared_host",
                                       config={"url": f"http://127.0.0.1:{port}/ok"})
    assert result == {"escaped": True, "got": "200"}
    assert local_api.hits == ["/ok"]


class _Rights:
    def __init__(self, granted: set[str]) -> None:
        self.granted = granted

    def allowed(self, plugin: str, right: str) -> bool:
        return right in self.granted


def test_fallback_broker_enforces_declared_hosts(shop: Shop, local_api: _Server, monkeypatch: Any) -> None:
    """When no credential store is wired (ctx.http is None), the sandbox's own fallback
    still allows only declared hosts and never sends an account-bound request."""
    port = local_api.server_address[1]
    monkeypatch.setattr(shop.kernel.host, "rights", _Rights({f"host:127.0.0.1:{port}", "host:*.example.org",
                                                             "account:mine"}))
    answer = broker.fallback_request(shop.kernel, "p", "GET", f"http://127.0.0.1:{port}/a", headers=None,
                                     content=None, json=None, params=None, account=None, timeout=2)
    assert answer["status_code"] == 200 and answer["content"] == b'{"ok": true}'
    assert broker.host_allowed(shop.kernel, "p", "api.example.org", None, 443)
    assert not broker.host_allowed(shop.kernel, "p", "example.org", None, 443)
    assert not broker.host_allowed(shop.kernel, "p", "127.0.0.1", 9, 80)
    with pytest.raises(ScopeDenied):
        broker.fallback_request(shop.kernel, "p", "GET", "http://127.0.0.2:1/", headers=None, content=None,
                                json=None, params=None, account=None, timeout=1)
    with pytest.raises(ScopeDenied):
        broker.fallback_request(shop.kernel, "p", "GET", f"http://127.0.0.1:{port}/b", headers=None, content=None,
                                json=None, params=None, account="theirs", timeout=1)
    with pytest.raises(PluginError, match="credential store"):
        broker.fallback_request(shop.kernel, "p", "GET", f"http://127.0.0.1:{port}/c", headers=None, content=None,
                                json=None, params=None, account="mine", timeout=1)
    assert local_api.hits == ["/a"]


def test_credentials_are_injected_by_the_kernel_and_never_enter_the_worker(shop: Shop, local_api: _Server) -> None:
    creds = shop.kernel.services.get("credentials")
    if creds is None:
        pytest.skip("no credential store in this build")
    port = local_api.server_address[1]
    name = shop.add("hostile_broker")
    secret = "sk_live_sandbox_" + "7" * 24
    creds.grant(name, [f"host:127.0.0.1:{port}", "account:mine"], "tests")
    try:
        creds.store.create_account(name, "mine", kind="api_key", config={"inject": "query", "param": "key"})
    except Exception:  # already there from an earlier run of this session
        pass
    creds.store.put(name, "mine", "api_key", secret, cas=None)
    seen = shop.kernel.host.call_one(name, "widget_data", widget_id="use_account",
                                     config={"url": f"http://127.0.0.1:{port}/pay?x=1", "account": "mine"})
    assert seen["status"] == 200
    assert local_api.hits == [f"/pay?x=1&key={secret}"]  # the provider got the key…
    assert secret not in repr(seen)  # …the plugin never saw it
