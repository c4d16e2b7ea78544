"""A well-behaved third-party plugin run in the sandbox: a carrier, a payment method,
a widget. It proves that calls, values, context calls and storage all cross the RPC."""
from __future__ import annotations

import json
from typing import Any

from comptoir.kernel.hookspecs import hookimpl
from comptoir.kernel.money import Money
from comptoir.kernel.types import (
    CartView, PaymentMethod, PaymentRequest, PaymentResult, ShipmentRequest, ShippingQuote, WidgetSpec,
)


class SandboxedGood:
    @hookimpl
    def plugin_enabled(self, ctx: Any) -> None:
        (ctx.storage_dir / "enabled.txt").write_text("yes")

    @hookimpl
    def dashboard_widgets(self, ctx: Any, role: str) -> list[WidgetSpec]:
        return [WidgetSpec(id="sbx-orders", title=f"Orders for {role}", roles=(role,))]

    @hookimpl
    def widget_data(self, ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
        if widget_id == "echo":
            return {"config": config, "settings": dict(ctx.settings), "plugin": ctx.plugin}
        if widget_id == "orders":
            return {"count": len(ctx.data.orders())}
        if widget_id == "customer":  # outside the grant: the kernel must refuse
            return {"customer": ctx.data.customer(1)}
        if widget_id == "log":
            ctx.log.warning("hello from the sandbox")
            return {"logged": True}
        if widget_id == "big":
            return {"blob": "x" * int(config["size"])}
        if widget_id == "raise":
            raise ValueError("plugin bug")
        return {"widget": widget_id}

    @hookimpl
    def shipping_quotes(self, ctx: Any, shipment: ShipmentRequest) -> list[ShippingQuote]:
        price = Money(490 + shipment.weight_grams // 100, shipment.value.currency)
        return [ShippingQuote(id=f"sbx-{shipment.destination.country}-{shipment.weight_grams}", carrier="Sandbox Post",
                              service="standard", price=price, min_days=2, max_days=4)]

    @hookimpl
    def payment_methods(self, ctx: Any, cart: CartView) -> list[PaymentMethod]:
        return [PaymentMethod(id="sbx-card", title="Sandboxed card", capture="immediate")]

    @hookimpl
    def payment_authorize(self, ctx: Any, request: PaymentRequest) -> PaymentResult:
        # Idempotent on the key, remembered in the plugin's own (writable) folder.
        store = ctx.storage_dir / "payments.json"
        seen = json.loads(store.read_text()) if store.exists() else {}
        if request.idempotency_key not in seen:
            seen[request.idempotency_key] = f"sbx-{len(seen) + 1}"
            store.write_text(json.dumps(seen))
        return PaymentResult(status="captured", provider_reference=seen[request.idempotency_key],
                             amount=request.amount)

    # Three hooks that cannot run sandboxed: the kernel leaves them out and says so.
    @hookimpl
    def web_routes(self, ctx: Any) -> list[Any]:
        return []

    @hookimpl
    def migrations_location(self, ctx: Any) -> str:
        return str(ctx.storage_dir)

    @hookimpl(wrapper=True)
    def order_placement(self, ctx: Any, draft: Any) -> Any:
        return (yield)


plugin = SandboxedGood()
