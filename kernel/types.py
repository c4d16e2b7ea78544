"""The public types that cross the plugin boundary.

Hooks receive and return these plain, frozen dataclasses, never ORM rows: a plugin
cannot reach the session through them, and the sandbox can serialise them as JSON.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from comptoir.kernel.money import Money


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    line1: str
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2
    line2: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class CartLineView:
    variant_id: int
    sku: str
    title: str
    quantity: int
    unit_price: Money
    weight_grams: int = 0

    @property
    def total(self) -> Money:
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class CartView:
    """A cart as plugins see it: lines, totals and where it ships."""

    cart_id: int
    currency: str
    lines: tuple[CartLineView, ...]
    subtotal: Money
    weight_grams: int
    customer_email: str = ""
    shipping_address: Address | None = None
    channel: str = "web"


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """A way to pay offered by a plugin. ``capture`` says when the kernel captures:
    ``immediate`` right after authorization, ``on_fulfilment`` when staff fulfil,
    ``manual`` when staff mark the order paid (bank transfer, cash on delivery)."""

    id: str
    title: str
    capture: Literal["immediate", "on_fulfilment", "manual"] = "immediate"
    description: str = ""
    plugin: str = ""  # filled in by the kernel


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    method_id: str
    amount: Money
    idempotency_key: str
    reference: str  # the kernel's checkout reference, shown on statements
    customer_email: str = ""
    return_url: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


PaymentStatus = Literal["authorized", "captured", "pending", "declined", "voided", "refunded", "failed"]


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What a provider answered. ``provider_reference`` is its id for the payment."""

    status: PaymentStatus
    provider_reference: str = ""
    amount: Money | None = None
    message: str = ""  # merchant-readable reason, e.g. the decline reason
    next_action_url: str = ""  # 3-D Secure or redirect, when the provider needs one


@dataclass(frozen=True, slots=True)
class PaymentRef:
    """Points a provider at an earlier payment (for capture, void, refund)."""

    method_id: str
    provider_reference: str
    idempotency_key: str
    amount: Money


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """What the shopper sees on the order page to finish a pending payment: the provider's
    card form or approve button. ``html`` is inserted into the storefront page as is (only
    trusted plugins' pages are shown); ``scripts`` are URLs the page loads first, each on a
    host the plugin declares."""

    html: str
    scripts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    headers: dict[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PaymentStatusUpdate:
    provider_reference: str
    status: PaymentStatus
    event_id: str
    amount: Money | None = None


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    destination: Address
    weight_grams: int
    value: Money
    parcels: int = 1
    origin_country: str = "FR"
    # The pickup point the shopper chose (an id from ``shipping_pickup_points``) when the
    # quote has ``pickup_point_required``; empty for delivery to the address.
    pickup_point_id: str = ""


@dataclass(frozen=True, slots=True)
class ShippingQuote:
    """One carrier offer. ``id`` is stable for the same request so a quote can be re-checked.
    ``pickup_point_required``: the parcel goes to a relay point the shopper chooses among
    the carrier's ``shipping_pickup_points``; checkout refuses the quote without one."""

    id: str
    carrier: str
    service: str
    price: Money
    min_days: int
    max_days: int
    pickup_point_required: bool = False
    plugin: str = ""  # filled in by the kernel


@dataclass(frozen=True, slots=True)
class Label:
    tracking_number: str
    pdf: bytes
    tracking_url: str = ""
    carrier_reference: str = ""


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    at: str  # ISO 8601
    status: Literal["label_created", "in_transit", "out_for_delivery", "delivered", "exception", "returned"]
    description: str = ""
    location: str = ""


@dataclass(frozen=True, slots=True)
class PickupPoint:
    id: str
    name: str
    address: Address
    carrier: str
    opening_hours: str = ""
    distance_m: int | None = None


@dataclass(frozen=True, slots=True)
class SocialPost:
    text: str
    link: str = ""
    image_url: str = ""
    product_id: int | None = None
    scheduled_at: str = ""  # ISO 8601; a network that schedules natively (Mastodon) holds the post until then


@dataclass(frozen=True, slots=True)
class PublishedPost:
    network: str
    remote_id: str
    url: str


@dataclass(frozen=True, slots=True)
class Mention:
    network: str
    remote_id: str
    author_handle: str
    text: str
    url: str
    at: str
    kind: Literal["mention", "reply", "review"] = "mention"
    rating: int | None = None
    author_email: str = ""
    # since hook API 1.2; appended so plugins built for 1.0 construct Mentions unchanged
    author_name: str = ""  # display name, when the network gives one
    author_followers: int | None = None  # audience of the author, when the network gives it


@dataclass(frozen=True, slots=True)
class WidgetSpec:
    id: str
    title: str
    roles: tuple[str, ...] = ("owner", "manager")
    template: str = "table"  # number | table | chart | list
    refresh_s: int = 60
    plugin: str = ""


@dataclass(frozen=True, slots=True)
class RecoRequest:
    kind: Literal["similar", "bought_together", "for_you", "popular", "trending"]
    k: int = 10
    product_ids: tuple[int, ...] = ()
    customer_id: int | None = None
    category_id: int | None = None
    exclude: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoredItem:
    product_id: int
    score: float  # a ranking score, never money


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    id: str
    title: str
    kind: Literal["feed", "pos", "marketplace", "conversational"]
    plugin: str = ""


@dataclass(frozen=True, slots=True)
class ChannelReply:
    text: str
    product_ids: tuple[int, ...] = ()
    cart_id: int | None = None


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """An outbox event as delivered to ``handle_event``."""

    id: int
    topic: str  # e.g. "order.placed"
    payload: dict[str, Any]
    occurred_at: str


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    id: str
    title: str
    plugin: str = ""


@dataclass(frozen=True, slots=True)
class ExportReceipt:
    location: str
    bytes_written: int


@dataclass(frozen=True, slots=True)
class MenuItem:
    label: str
    path: str
    roles: tuple[str, ...] = ("owner", "manager")
    icon: str = ""


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """The order about to be written, as the ``order_placement`` wrapper sees it."""

    reference: str
    cart: CartView
    shipping: ShippingQuote | None
    payment_method_id: str
    total: Money


@dataclass(frozen=True, slots=True)
class KernelInfo:
    version: str
    hook_api: str


def to_jsonable(obj: Any) -> Any:
    """Dataclass → plain JSON types (bytes become latin-1 strings are avoided: callers base64 them)."""
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    return obj
