"""SQLModel tables of the commerce domain. Importing this registers them all."""
from __future__ import annotations

from sqlmodel import SQLModel

from comptoir.kernel.domain.carts import Cart, CartLine
from comptoir.kernel.domain.catalog import Category, Product, ProductImage, Variant
from comptoir.kernel.domain.customers import Customer, CustomerAddress, LoyaltyEntry
from comptoir.kernel.domain.events import EventDelivery, JournalEntry, KernelCounter, OutboxEvent, PluginState
from comptoir.kernel.domain.orders import ORDER_STATUSES, TRANSITIONS, Order, OrderLine, OrderStatusChange
from comptoir.kernel.domain.payments import CheckoutAttempt, PaymentTransaction, WebhookReceipt
from comptoir.kernel.domain.shipments import ReturnRequest, Shipment
from comptoir.kernel.domain.social import CustomerSocialHandle, SocialCursor, SocialMention
from comptoir.kernel.domain.social_posts import SocialPostRecord
from comptoir.kernel.domain.stock import Location, Reservation, StockLevel, StockMove

metadata = SQLModel.metadata

__all__ = [
    "Cart", "CartLine", "Category", "Product", "ProductImage", "Variant", "Customer", "CustomerAddress",
    "LoyaltyEntry", "EventDelivery", "JournalEntry", "KernelCounter", "OutboxEvent", "PluginState",
    "ORDER_STATUSES", "TRANSITIONS", "Order", "OrderLine", "OrderStatusChange", "CheckoutAttempt",
    "PaymentTransaction", "WebhookReceipt", "ReturnRequest", "Shipment", "Location", "Reservation",
    "StockLevel", "StockMove", "CustomerSocialHandle", "SocialCursor", "SocialMention", "SocialPostRecord",
    "metadata",
]
