"""The RPC wire: tagged values round-trip exactly; frames are bounded and validated."""
from __future__ import annotations

import socket
import struct
from datetime import datetime, timezone

import pytest

from comptoir.kernel.money import Money
from comptoir.kernel.types import Address, CartLineView, CartView, Label, PaymentRequest, RecoRequest
from comptoir.sandbox import wire


def test_kernel_types_round_trip() -> None:
    addr = Address(name="A", line1="1 rue", postal_code="75001", city="Paris", country="FR")
    cart = CartView(cart_id=1, currency="EUR", subtotal=Money(1000, "EUR"), weight_grams=10,
                    lines=(CartLineView(variant_id=1, sku="S", title="T", quantity=2, unit_price=Money(500, "EUR")),),
                    shipping_address=addr)
    values = [cart, Label(tracking_number="X", pdf=b"%PDF\x00\xff"), RecoRequest(kind="similar", product_ids=(1, 2)),
              PaymentRequest(method_id="m", amount=Money(5, "JPY"), idempotency_key="k", reference="r",
                             metadata={"a": "b"}),
              {1: "int key", "s": {3, 4}}, [datetime(2026, 1, 2, tzinfo=timezone.utc)], {"__t": "not a tag"}]
    for value in values:
        data = wire.dumps({"t": "x", "v": wire.encode(value)})
        assert wire.decode(wire.json.loads(data[4:])["v"]) == value


def test_only_kernel_types_are_built() -> None:
    with pytest.raises(wire.ProtocolError, match="unknown type tag"):
        wire.decode({"__t": "Kernel"})
    with pytest.raises(wire.ProtocolError, match="malformed 'Money'"):
        wire.decode({"__t": "Money", "amount": 1.5, "currency": "EUR"})  # floats are refused by Money itself
    with pytest.raises(wire.ProtocolError):
        wire.encode(object())


def _pair() -> tuple[socket.socket, socket.socket]:
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def test_frames_are_bounded_both_ways() -> None:
    a, b = _pair()
    with a, b:
        with pytest.raises(wire.ProtocolError, match="exceeds"):
            wire.send(a, {"t": "x", "v": "y" * 100}, max_frame=50)
        a.sendall(struct.pack(">I", 1 << 30))
        with pytest.raises(wire.ProtocolError, match="limit is"):
            wire.recv(b, max_frame=1024)


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b'{"no_t": 1}', b"\xff\xfe", b"[" * 100_000])
def test_malformed_frames_are_refused(body: bytes) -> None:
    a, b = _pair()
    with a, b:
        a.sendall(struct.pack(">I", len(body)) + body)
        with pytest.raises(wire.ProtocolError):
            wire.recv(b, max_frame=1 << 20)


def test_closed_peer_is_reported() -> None:
    a, b = _pair()
    a.close()
    with b, pytest.raises(wire.PeerClosed):
        wire.recv(b)
