"""Payment transactions (idempotent) and checkout attempts (for crash recovery)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from comptoir.kernel.domain.base import created_at, ts_column


class CheckoutAttempt(SQLModel, table=True):
    """One try at turning a cart into an order.

    It is written before any money moves, so that after a crash the recovery job finds
    attempts stuck in ``authorizing``, voids their payment by idempotency key, and
    releases their reservations: the shop ends with a whole order or nothing.
    """

    __tablename__ = "checkout_attempt"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=40)
    idempotency_key: str = Field(unique=True, max_length=120)
    cart_id: int = Field(foreign_key="cart.id", index=True)
    status: str = Field(default="authorizing", max_length=20, index=True)  # authorizing|placed|declined|abandoned
    payment_plugin: str = ""
    payment_method: str = ""
    amount: int = 0
    currency: str = Field(default="EUR", max_length=3)
    order_id: int | None = Field(default=None, foreign_key="order.id")
    error: str = ""
    created_at: datetime = created_at()


class PaymentTransaction(SQLModel, table=True):
    __tablename__ = "payment_transaction"

    id: int | None = Field(default=None, primary_key=True)
    order_id: int | None = Field(default=None, foreign_key="order.id", index=True)
    plugin: str
    method: str
    kind: str = Field(max_length=20)  # authorize | capture | void | refund | charge
    status: str = Field(max_length=20)  # authorized | captured | pending | voided | refunded | failed | declined
    amount: int
    currency: str = Field(max_length=3)
    provider_reference: str = Field(default="", index=True)
    idempotency_key: str = Field(unique=True, max_length=160)
    message: str = ""
    created_at: datetime = created_at()


class WebhookReceipt(SQLModel, table=True):
    """Provider webhook events already applied (a repeat is ignored)."""

    __tablename__ = "webhook_receipt"

    plugin: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=160)
    received_at: datetime | None = ts_column()
