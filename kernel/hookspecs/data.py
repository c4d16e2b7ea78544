"""Data export / import destination hooks."""
from __future__ import annotations

from typing import Any

from comptoir.kernel.hookspecs.markers import spec
from comptoir.kernel.types import DestinationSpec, ExportReceipt


@spec("collect")
def data_destinations(ctx: Any) -> list[DestinationSpec]:
    """Where exports can go (local folder, object storage, cloud drive). Collect-all."""


@spec("targeted", side_effects=True)
def data_export_write(ctx: Any, destination_id: str, name: str, content: bytes) -> ExportReceipt:
    """Write one export file to a destination. Targeted at its plugin."""


@spec("targeted")
def data_import_read(ctx: Any, destination_id: str, name: str) -> bytes:
    """Read back an export file from a destination. Targeted."""
