"""Request and response models of the JSON API (pydantic; they also feed OpenAPI).

Amounts are integers of minor units with a currency code, never floats.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from comptoir.kernel.types import Address

Str = Field(min_length=1, max_length=200)
MAX_INT = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- inputs ------------------------------------------------------------------------
class AddressIn(In):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str = Field(default="", max_length=200)
    postal_code: str = Field(min_length=1, max_length=20)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")
    phone: str = Field(default="", max_length=40)

    def to_address(self) -> Address:
        return Address(name=self.name, line1=self.line1, line2=self.line2, postal_code=self.postal_code,
                       city=self.city, country=self.country.upper(), phone=self.phone)


class CartIn(In):
    currency: str = Field(default="EUR", pattern="^[A-Z]{3}$")
    email: str = Field(default="", max_length=320)


class CartItemIn(In):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(default=1, ge=1, le=999)


class CartQuantityIn(In):
    quantity: int = Field(ge=0, le=999)


class QuoteIn(In):
    address: AddressIn


class CheckoutIn(In):
    cart_token: str = Field(min_length=1, max_length=64)
    email: str = Field(min_length=3, max_length=320)
    address: AddressIn
    shipping_quote_id: str = Field(min_length=1, max_length=200)
    payment_method_id: str = Field(min_length=1, max_length=100)
    pickup_point_id: str = Field(default="", max_length=100, description=(
        "required when the quote has pickup_point_required: an id from GET /api/v1/carts/{token}/pickup-points "
        "near the shipping address"))
    return_url: str = Field(default="", max_length=2000, description=(
        "absolute http(s) URL where a provider that redirects the shopper (3-D Secure, PayPal) sends them back"))
    idempotency_key: str = Field(default="", max_length=100)


class SignUpIn(In):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=10, max_length=1024)
    name: str = Field(default="", max_length=200)
    marketing_consent: bool = False


class SignInIn(In):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class VariantIn(In):
    sku: str = Field(min_length=1, max_length=100)
    price_amount: int = Field(ge=0, le=MAX_INT)
    currency: str = Field(default="EUR", pattern="^[A-Z]{3}$")
    title: str = Field(default="", max_length=200)
    weight_grams: int = Field(default=0, ge=0, le=1_000_000)


class ProductIn(In):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=20_000)
    category: str = Field(default="", max_length=200)
    active: bool = True
    variants: list[VariantIn] = Field(min_length=1, max_length=100)


class ProductPatch(In):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    category: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class VariantPatch(In):
    title: str | None = Field(default=None, max_length=200)
    price_amount: int | None = Field(default=None, ge=0, le=MAX_INT)
    weight_grams: int | None = Field(default=None, ge=0, le=1_000_000)
    active: bool | None = Field(default=None, description="false: no longer sold (kept for past orders); "
                                                           "true: for sale again")


class BulkPriceIn(In):
    """Change the price of many products at once: every variant of each product."""

    product_ids: list[Id] = Field(min_length=1, max_length=1000)
    mode: Literal["set", "percent", "delta"]
    value: int = Field(ge=-1_000_000_00, le=1_000_000_00,
                       description="set: new price in minor units; percent: e.g. -10; delta: minor units to add")


class CollectionIn(In):
    name: str = Field(min_length=1, max_length=200)
    product_ids: list[Id] = Field(default_factory=list, max_length=1000)


class StockIn(In):
    variant_id: int = Field(ge=1, le=MAX_INT)
    location_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=1_000_000)
    note: str = Field(default="", max_length=500)


class TransferIn(In):
    variant_id: int = Field(ge=1, le=MAX_INT)
    from_location_id: int = Field(ge=1, le=MAX_INT)
    to_location_id: int = Field(ge=1, le=MAX_INT)
    quantity: int = Field(ge=1, le=1_000_000)
    note: str = Field(default="", max_length=500)


class NoteIn(In):
    note: str = Field(default="", max_length=500)


class RefundIn(In):
    amount: int = Field(ge=1, le=MAX_INT)
    reason: str = Field(default="", max_length=500)
    idempotency_key: str = Field(default="", max_length=100)


class SettingsIn(In):
    settings: dict[str, Any]


class GrantIn(In):
    rights: list[str] = Field(min_length=1, max_length=100)


class StaffIn(In):
    email: str = Field(min_length=3, max_length=320)
    role: Literal["owner", "manager", "marketing", "support", "picker"]
    password: str = Field(default="", max_length=1024)
    name: str = Field(default="", max_length=200)


class StaffPatch(In):
    role: Literal["owner", "manager", "marketing", "support", "picker"] | None = None
    active: bool | None = None
    sign_out_everywhere: bool = False


class RoleIn(In):
    rights: list[str] = Field(max_length=50)


class TokenIn(In):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=20)
    location_id: int | None = Field(default=None, ge=1, le=MAX_INT)


class CustomerIn(In):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    marketing_consent: bool = False


class SaleLineIn(In):
    sku: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=999)


class SaleIn(In):
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    location_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    customer_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    payment: Literal["cash", "card_terminal"] = "card_terminal"
    redeem_points: int = Field(default=0, ge=0, le=10_000_000)
    idempotency_key: str = Field(default="", max_length=100)


class RedeemIn(In):
    points: int = Field(ge=1, le=10_000_000)


# ---- outputs (documentation of what endpoints return) ---------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class MoneyOut(Out):
    amount: int
    currency: str


class VariantOut(Out):
    id: int
    sku: str
    title: str
    price: MoneyOut
    available: int
    weight_grams: int
    active: bool


class ProductSummary(Out):
    id: int
    slug: str
    title: str
    category: str | None
    price_from: MoneyOut | None
    available: int
    image: str | None


class ProductOut(Out):
    id: int
    slug: str
    title: str
    description: str
    category: str | None
    active: bool
    attributes: dict[str, Any]
    variants: list[VariantOut]
    images: list[dict[str, Any]]


class CategoryOut(Out):
    id: int
    slug: str
    name: str
    parent_id: int | None


class LocationOut(Out):
    id: int
    code: str
    name: str
    kind: str
    city: str
    country: str
    ships_online: bool


class AvailabilityOut(Out):
    product_id: int
    locations: list[dict[str, Any]]


class CartLineOut(Out):
    variant_id: int
    sku: str
    title: str
    quantity: int
    unit_price: MoneyOut
    total: MoneyOut


class CartOut(Out):
    token: str
    status: str
    currency: str
    lines: list[CartLineOut]
    subtotal: MoneyOut
    item_count: int


class QuoteOut(Out):
    id: str
    carrier: str
    service: str
    price: MoneyOut
    min_days: int
    max_days: int
    pickup_point_required: bool = Field(description="the parcel goes to a pickup point the shopper chooses")


class PickupAddressOut(Out):
    name: str
    line1: str
    line2: str
    postal_code: str
    city: str
    country: str


class PickupPointOut(Out):
    id: str
    name: str
    carrier: str
    address: PickupAddressOut
    opening_hours: str
    distance_m: int | None


class OrderPickupPointOut(Out):
    """The pickup point an order is delivered to, as chosen at checkout."""

    id: str
    name: str
    carrier: str
    address: PickupAddressOut
    opening_hours: str


class PaymentMethodOut(Out):
    id: str
    title: str
    description: str
    capture: str


class PlacedOut(Out):
    order_id: int
    number: str
    reference: str
    status: str
    total: MoneyOut
    payment_status: str
    next_action_url: str


class OrderOut(Out):
    id: int
    number: str
    reference: str
    status: str
    channel: str
    email: str
    currency: str
    subtotal: int
    shipping_total: int
    total: int
    refunded_total: int
    placed_at: str
    pickup_point: OrderPickupPointOut | None = Field(description=(
        "where the parcel goes when the shopper chose delivery to a pickup point; null for delivery to the address"))
    lines: list[dict[str, Any]]


class CustomerOut(Out):
    id: int
    email: str
    name: str
    segment: str
    marketing_consent: bool


class SessionOut(Out):
    customer: CustomerOut
    token: str


def page_of(item: type[BaseModel] | dict[str, Any]) -> dict[str, Any]:
    """JSON schema of a page of ``item`` (pagination envelope)."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{item.__name__}"} if isinstance(item, type) else item
    return {"type": "object", "required": ["items", "total", "limit", "offset", "next_offset"],
            "properties": {"items": {"type": "array", "items": ref}, "total": {"type": "integer"},
                           "limit": {"type": "integer"}, "offset": {"type": "integer"},
                           "next_offset": {"type": ["integer", "null"]}}}
