"""Dashboard widget hooks."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import WidgetSpec


@spec("collect")
def dashboard_widgets(ctx: Any, role: str) -> list[WidgetSpec]:
    """Widgets this plugin offers to a staff ``role``. Collect-all; the merchant
    composes dashboards from the union."""


@spec("targeted", timeout_ms=2000)
def widget_data(ctx: Any, widget_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """Current data of one widget. Targeted at the widget's plugin.

    :returns: JSON-serialisable data shaped for the widget's ``template``.
    """
