"""Hostile network attacks, all aimed at listeners this test owns on this machine."""
from __future__ import annotations

import socket
import uuid
from typing import Any, Callable, Iterator

import pytest

from tests.sandbox.conftest import Shop

Attack = Callable[..., Any]


def _refused(result: dict[str, Any]) -> str:
    assert result["escaped"] is False, f"the attack worked: {result}"
    return str(result["error"])


@pytest.fixture
def tcp_listener() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(0.2)
    yield s
    s.close()


def _nobody_came(listener: socket.socket) -> None:
    with pytest.raises((socket.timeout, BlockingIOError)):
        listener.accept()


def test_no_tcp(shop: Shop, attack: Attack, tcp_listener: socket.socket) -> None:
    port = tcp_listener.getsockname()[1]
    _refused(attack("hostile_net", "tcp", host="127.0.0.1", port=port))
    _refused(attack("hostile_net", "tcp6", port=port))
    _nobody_came(tcp_listener)
    shop.assert_serving()


def test_no_udp_or_dns(shop: Shop, attack: Attack) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as resolver:
        resolver.bind(("127.0.0.1", 0))
        resolver.settimeout(0.2)
        _refused(attack("hostile_net", "udp", host="127.0.0.1", port=resolver.getsockname()[1]))
        with pytest.raises(socket.timeout):
            resolver.recvfrom(512)
    shop.assert_serving()


def test_no_abstract_unix_socket(shop: Shop, attack: Attack) -> None:
    name = f"comptoir-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind("\0" + name)
        server.listen(1)
        server.settimeout(0.2)
        _refused(attack("hostile_net", "abstract", name=name))
        _nobody_came(server)
    shop.assert_serving()


def test_no_named_unix_socket(shop: Shop, attack: Attack, tmp_path: Any) -> None:
    # Named sockets escape network namespaces (PostgreSQL's trusts local connections):
    # the worker may not create sockets at all.
    path = str(tmp_path / "service.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        server.settimeout(0.2)
        assert "Permission" in _refused(attack("hostile_net", "named_unix", path=path))
        _nobody_came(server)
    shop.assert_serving()


def test_without_namespaces_seccomp_still_blocks_internet(shop: Shop, tcp_listener: socket.socket) -> None:
    """The fallback: where user namespaces are unavailable, seccomp refuses the sockets."""
    from tests.sandbox.conftest import PLUGINS, TEST_LIMITS
    import dataclasses

    rec = shop.sandbox.add_source(PLUGINS / "hostile_net", limits=dataclasses.replace(TEST_LIMITS, namespaces=False))
    try:
        layers = {x["name"]: x for x in shop.sandbox.plugins[rec.name].status.layers}
        assert layers["namespaces"]["applied"] is False and "disabled" in layers["namespaces"]["detail"]
        result = shop.kernel.host.call_one(rec.name, "widget_data", widget_id="tcp",
                                           config={"host": "127.0.0.1", "port": tcp_listener.getsockname()[1]})
        assert "Permission" in _refused(result)
        _nobody_came(tcp_listener)
    finally:
        shop.kernel.host.forget(rec.name)
    shop.assert_serving()
