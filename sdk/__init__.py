"""What a vendor imports to write a Comptoir plugin, and nothing internal.

    from comptoir.sdk import hookimpl, PluginContext, ShipmentRequest, ShippingQuote, Money

- ``hookimpl``: marks a function as the implementation of a hook (see docs/hooks.md);
- the public types that cross the plugin boundary (frozen dataclasses) and ``Money``;
- ``PluginContext``: what every hook receives as ``ctx``;
- the manifest schema (``Manifest``, ``parse_manifest`` …): the kernel's own validator;
- ``check_plugin`` / ``check_sources``: hook signatures against the hookspecs.
"""
from __future__ import annotations

from comptoir.kernel.context import PluginContext
from comptoir.kernel.errors import ManifestError
from comptoir.kernel.hookspecs import HOOK_API_VERSION
from comptoir.kernel.hookspecs.markers import hookimpl
from comptoir.kernel.manifest import (
    CAPABILITIES, CATEGORIES, DATA_SCOPES, MANIFEST_FILE, AccountKind, Listing, Manifest, Pricing, Scopes,
    SettingField, manifest_from_distribution, manifest_from_pyproject, parse_manifest,
)
from comptoir.kernel.money import Money, exponent
from comptoir.kernel.types import (
    Address, CartLineView, CartView, ChannelReply, ChannelSpec, DestinationSpec, DomainEvent, ExportReceipt,
    KernelInfo, Label, Mention, MenuItem, OrderDraft, PaymentMethod, PaymentPage, PaymentRef, PaymentRequest,
    PaymentResult,
    PaymentStatus, PaymentStatusUpdate, PickupPoint, PublishedPost, RecoRequest, ScoredItem, ShipmentRequest,
    ShippingQuote, SocialPost, TrackingEvent, WebhookRequest, WidgetSpec,
)
from comptoir.sdk.errors import HookSignatureError
from comptoir.sdk.signatures import check_plugin, check_sources

__all__ = [
    "hookimpl", "HOOK_API_VERSION", "PluginContext", "Money", "exponent",
    # manifest schema
    "Manifest", "ManifestError", "parse_manifest", "manifest_from_pyproject", "manifest_from_distribution",
    "Scopes", "SettingField", "AccountKind", "Pricing", "Listing", "CATEGORIES", "CAPABILITIES", "DATA_SCOPES",
    "MANIFEST_FILE",
    # hook signatures
    "check_plugin", "check_sources", "HookSignatureError",
    # public types
    "Address", "CartLineView", "CartView", "ChannelReply", "ChannelSpec", "DestinationSpec", "DomainEvent",
    "ExportReceipt", "KernelInfo", "Label", "Mention", "MenuItem", "OrderDraft", "PaymentMethod", "PaymentPage",
    "PaymentRef",
    "PaymentRequest", "PaymentResult", "PaymentStatus", "PaymentStatusUpdate", "PickupPoint", "PublishedPost",
    "RecoRequest", "ScoredItem", "ShipmentRequest", "ShippingQuote", "SocialPost", "TrackingEvent",
    "WebhookRequest", "WidgetSpec",
]
